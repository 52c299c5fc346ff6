package workbench

import (
	"fmt"
	"math"

	"github.com/clipwork/clipwork/clipmodel"
)

// Limits on the size-like parameters of transforms, whose graphs grow with their values: a
// blur's kernel_size of 1e9 would build a graph of a billion terms, and a pad or crop of 1e9
// pixels overflows the warp's arithmetic. Resolve refuses larger values, naming the parameter.
const (
	// MaxKernelSize bounds blur's and edge's kernel_size (pixels).
	MaxKernelSize = 255
	// MaxCanvasSide bounds the image's sides and the pixel sizes of geometric transforms (pad,
	// crop, center_crop, random_crop, resize).
	MaxCanvasSide = 16384
	// MaxRepeat bounds repeat's count per axis.
	MaxRepeat = 64
	// MaxNoiseResolution bounds rnoise's resolution (noise is drawn at it per window).
	MaxNoiseResolution = 1024
	// MaxSteps bounds a run's steps (epochs): far beyond any run, and clear of the arithmetic
	// on steps overflowing.
	MaxSteps = 100_000_000
)

// sizeProblems refuses image sizes (the run's at every step, and init's resolution) above
// MaxCanvasSide, whose pixel counts would overflow the memory estimate and the image buffers.
func sizeProblems(sizes [][2]int, add func(format string, args ...any)) {
	for _, s := range sizes {
		switch {
		case max(s[0], s[1]) >= 1<<40: // SizeAt holds an infinite or huge side there
			add("resolution is infinite or far too large: give sides of at most %d", MaxCanvasSide)
			return
		case s[0] > MaxCanvasSide || s[1] > MaxCanvasSide:
			add("resolution %dx%d is larger than the limit of %d per side", s[0], s[1], MaxCanvasSide)
			return
		}
	}
}

// sizeLimit is the largest value a transform's parameter may take, or 0 for no limit.
func sizeLimit(kind, param string) float64 {
	switch {
	case param == "kernel_size":
		return MaxKernelSize
	case kind == "repeat":
		return MaxRepeat
	case kind == "rnoise" && param == "resolution":
		return MaxNoiseResolution
	case kind == "pad" && param == "size",
		kind == "crop", kind == "center_crop", kind == "random_crop", kind == "resize":
		return MaxCanvasSide
	}
	return 0
}

// checkSize refuses a parameter that exceeds its limit at some moment of the run.
func checkSize(kind, param string, values []Value) error {
	limit := sizeLimit(kind, param)
	if limit == 0 {
		return nil
	}
	for _, v := range values {
		m := math.Max(maxOverTime(v), -minOverTime(v))
		if m > limit || math.IsNaN(m) {
			return fmt.Errorf("%s %s %g is larger than the limit of %g", kind, param, m, limit)
		}
	}
	return nil
}

// minOverTime is the smallest value a Value takes at eleven moments of a run.
func minOverTime(v Value) float64 {
	m := math.Inf(1)
	for _, e := range moments(11) {
		m = min(m, v.At(e))
	}
	return m
}

// transformSizeProblem checks a pixel transform's size-like parameters against the limits.
func transformSizeProblem(tr Transform) error {
	if kind, ok := LookupTransform(tr.Kind); ok {
		return paramsSizeProblem(tr.Kind, kind.Extra, tr.Extra)
	}
	return nil
}

// geometricSizeProblem checks a geometric transform's size-like parameters against the limits.
func geometricSizeProblem(g Geometric) error {
	if kind, ok := LookupGeometric(g.Kind); ok {
		return paramsSizeProblem(g.Kind, kind.Params, g.Values)
	}
	return nil
}

// paramsSizeProblem checks parameters' values (values[i] for params[i]) against the limits.
func paramsSizeProblem(kind string, params []Param, values [][]Value) error {
	for i, p := range params {
		if i < len(values) {
			if err := checkSize(kind, p.Name, values[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// initImageProblem reads the init image's header as the run will (clipmodel.LoadImage), so that
// check refuses what run refuses: no file, no readable image, a directory, too many pixels.
func (e *Experiment) initImageProblem() error {
	if e.Init.Image == "" {
		return nil
	}
	if _, err := clipmodel.ImageFileSize(e.Init.Image); err != nil {
		return fmt.Errorf("init image: %w", err)
	}
	return nil
}
