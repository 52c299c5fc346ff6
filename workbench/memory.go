package workbench

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/clipmodel"
)

// MemoryEstimate is what a run needs at its peak, in bytes, by part: an estimate made before
// anything is allocated, so that a run that cannot fit is refused with the setting to lower
// rather than killed midway (calibrated on clipwork bench's peak memory: ViT-B/32 with 8
// windows of a 512x512 image estimates 1.3 GB and peaks at 1.2 GB).
type MemoryEstimate struct {
	// Weights are the model's, as float32.
	Weights int64
	// Image is the largest image with its optimiser state, gradients and the parameterisation's
	// transforms.
	Image int64
	// Windows are one step's windows of every target with their transforms and gradients.
	Windows int64
	// Activations are the vision tower's for one step's windows, kept for the backward pass.
	Activations int64
}

// Total is the estimate's sum.
func (m MemoryEstimate) Total() int64 { return m.Weights + m.Image + m.Windows + m.Activations }

// Copies of the image and of the windows a step holds at once (values, gradients, optimiser
// state, transforms' intermediates): rough counts that the estimate's calibration covers.
const (
	imageCopies  = 12
	windowCopies = 20
)

// EstimateMemory estimates a run of exp on models of architectures configs (every model of an
// ensemble). exp must be resolved.
func EstimateMemory(exp Experiment, configs ...*clipmodel.Config) MemoryEstimate {
	width, height := largestSize(exp)
	image := int64(width) * int64(height) * 3 * 4 * imageCopies
	if res := exp.Init.Resolution; res[0] > 0 {
		// The initial noise (or image) at init.resolution: values, 16-bit pixels and resampling.
		image += int64(res[0]) * int64(res[1]) * 3 * 4 * 4
	}
	if exp.Parameterization.Kind == ParamFFT {
		// The Fourier basis as matrices: width x width and height x height, real and imaginary,
		// forward and inverse.
		image += (int64(width)*int64(width) + int64(height)*int64(height)) * 4 * 4
	}
	windows := int64(windowCount(exp))
	m := MemoryEstimate{Image: image}
	var sides []int64 // the windows are sampled once per input size
	for _, c := range configs {
		m.Weights += weightBytes(c)
		m.Activations += windows * c.Vision.ActivationBytes()
		if side := int64(c.Vision.ImageSize); !slices.Contains(sides, side) {
			sides = append(sides, side)
			m.Windows += windows * side * side * 3 * 4 * windowCopies
		}
	}
	return m
}

// weightBytes is the size of a model's weights as float32.
func weightBytes(c *clipmodel.Config) int64 {
	var weights int64
	for _, spec := range c.TensorSpecs() {
		n := int64(4)
		for _, d := range spec.Shape {
			n *= int64(d)
		}
		weights += n
	}
	return weights
}

// largestSize is the largest image the run has at any step (see Sizes).
func largestSize(exp Experiment) (width, height int) {
	for _, s := range exp.Sizes() {
		if int64(s[0])*int64(s[1]) > int64(width)*int64(height) {
			width, height = s[0], s[1]
		}
	}
	return width, height
}

// CheckMemory refuses an experiment whose estimate exceeds the memory this machine has
// available, naming the estimate and the setting that takes the most. configs are the run's
// models (every model of an ensemble); loaded says their weights are in memory already (and so
// not among what is available).
func CheckMemory(exp Experiment, configs []*clipmodel.Config, loaded bool) error {
	available, ok := AvailableMemory()
	if !ok {
		return nil
	}
	return checkMemoryAgainst(EstimateMemory(exp, configs...), exp, available, loaded)
}

func checkMemoryAgainst(m MemoryEstimate, exp Experiment, available int64, loaded bool) error {
	needed := m.Total()
	if loaded {
		needed -= m.Weights
	}
	if needed <= available {
		return nil
	}
	width, height := largestSize(exp)
	advice := fmt.Sprintf("lower the resolution (the image is up to %dx%d)", width, height)
	if res := exp.Init.Resolution; int64(res[0])*int64(res[1]) > int64(width)*int64(height) {
		advice = fmt.Sprintf("lower init.resolution (%dx%d)", res[0], res[1])
	}
	switch {
	case m.Windows+m.Activations > m.Image && m.Windows+m.Activations > m.Weights:
		advice = fmt.Sprintf("lower the targets' batch_size (%d windows a step in all)", windowCount(exp))
	case m.Weights > m.Image:
		advice = "use a smaller model"
	}
	return fmt.Errorf("this run needs about %s of memory (weights %s, image %s, windows %s, activations %s), "+
		"and the machine has %s available: %s", gigabytes(m.Total()), gigabytes(m.Weights), gigabytes(m.Image),
		gigabytes(m.Windows), gigabytes(m.Activations), gigabytes(available), advice)
}

func windowCount(exp Experiment) int {
	n := 0
	for _, t := range exp.Targets {
		n += t.BatchSize
	}
	return n
}

func gigabytes(bytes int64) string {
	return fmt.Sprintf("%.1f GB", float64(bytes)/1e9)
}

// AvailableMemory is the kernel's estimate of the memory available to a new process
// (MemAvailable in /proc/meminfo), where the system reports one.
func AvailableMemory() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}
