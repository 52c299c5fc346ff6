package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/internal/memstat"
	"github.com/clipwork/clipwork/workbench"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// benchResult is what clipwork bench --json prints.
type benchResult struct {
	Model            string  `json:"model"`
	Backend          string  `json:"backend"`
	Windows          int     `json:"windows"`
	Resolution       int     `json:"resolution"`
	WindowsPerSecond float64 `json:"windows_per_second"`
	MsPerStep        float64 `json:"ms_per_step"`
	CompileSeconds   float64 `json:"compile_seconds"`
	PeakRSSMB        float64 `json:"peak_rss_mb"`
	// VisionMsPerStep and OverheadPercent come with --overhead: the vision tower alone, forward
	// and backward on the same number of windows, and the share of the step spent outside it.
	VisionMsPerStep float64 `json:"vision_ms_per_step,omitempty"`
	OverheadPercent float64 `json:"overhead_percent,omitempty"`
}

// runBench times whole optimisation steps (rotated, perspective, noisy windows through the
// vision tower, forward and backward, and an Adam update) after one warm-up step that compiles.
func runBench(args []string, stdout io.Writer) error {
	fs := newFlags("bench", stdout)
	modelName := fs.String("model", "random:ViT-B/32", "model to time")
	windows := fs.Int("windows", 8, "windows per step")
	steps := fs.Int("steps", 5, "timed steps")
	resolution := fs.Int("resolution", 512, "image side in pixels")
	asJSON := fs.Bool("json", false, "print JSON")
	overhead := fs.Bool("overhead", false, "also time the vision tower alone, between the steps, and report the step's share outside it")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *steps < 1 || *windows < 1 || *resolution < 8 {
		return fmt.Errorf("--steps and --windows must be at least 1 and --resolution at least 8, got %d, %d and %d",
			*steps, *windows, *resolution)
	}
	m, err := clipmodel.Load(*modelName)
	if err != nil {
		return err
	}
	run, err := workbench.NewRun(workbench.BenchExperiment(*resolution, *windows, *steps+1), m)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := run.Advance(); err != nil {
		return err
	}
	compile := time.Since(start)
	var vision *visionTower
	if *overhead {
		if vision, err = newVisionTower(m, *windows); err != nil {
			return err
		}
	}
	stepTime, visionTime, err := timeSteps(run, vision, *steps)
	if err != nil {
		return err
	}
	perStep := stepTime / time.Duration(*steps)
	r := benchResult{Model: *modelName, Backend: m.Backend.Name(), Windows: *windows, Resolution: *resolution,
		WindowsPerSecond: float64(*windows) / perStep.Seconds(), MsPerStep: float64(perStep.Milliseconds()),
		CompileSeconds: max(0, compile.Seconds()-perStep.Seconds()), PeakRSSMB: memstat.PeakRSSMB()}
	if vision != nil {
		r.VisionMsPerStep = visionTime.Seconds() * 1000 / float64(*steps)
		r.OverheadPercent = 100 * (1 - visionTime.Seconds()/stepTime.Seconds())
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s on %s, %d windows at %dx%d: %.2f windows/s, %.0f ms/step, compile %.1f s, peak memory %.0f MB\n",
		r.Model, r.Backend, r.Windows, r.Resolution, r.Resolution, r.WindowsPerSecond, r.MsPerStep, r.CompileSeconds, r.PeakRSSMB)
	if vision != nil {
		fmt.Fprintf(stdout, "vision tower alone: %.0f ms/step; outside it (windows, transforms, losses, optimiser, host): %.1f%%\n",
			r.VisionMsPerStep, r.OverheadPercent)
	}
	return nil
}

// timeSteps runs steps optimisation steps, and the vision tower alone after each when there is
// one, and returns the time each took in all.
func timeSteps(run *workbench.Run, vision *visionTower, steps int) (stepTime, visionTime time.Duration, err error) {
	for range steps {
		start := time.Now()
		if _, err := run.Advance(); err != nil {
			return 0, 0, err
		}
		stepTime += time.Since(start)
		if vision != nil {
			elapsed, err := vision.time()
			if err != nil {
				return 0, 0, err
			}
			visionTime += elapsed
		}
	}
	return stepTime, visionTime, nil
}

// visionTower runs the vision tower alone, forward and backward to its input pixels, on a
// batch of windows: the part of a step that is CLIP's. --overhead times it between the steps,
// so that both see the same machine.
type visionTower struct {
	exec  *model.Exec
	input *tensors.Tensor
}

// newVisionTower compiles the tower's graph for windows windows and runs it once.
func newVisionTower(m *clipmodel.Model, windows int) (*visionTower, error) {
	exec, err := model.NewExec(m.Backend, m.Store, func(scope *model.Scope, pixels *graph.Node) *graph.Node {
		features := graph.L2Normalize(m.ImageFeatures(scope, pixels), -1)
		target := graph.OnesLike(graph.Slice(features, graph.AxisElem(0)))
		return graph.Gradient(graph.ReduceAllSum(graph.Mul(features, target)), pixels)[0]
	})
	if err != nil {
		return nil, err
	}
	size := m.Config.Vision.ImageSize
	pixels := make([]float32, windows*size*size*3)
	for i := range pixels {
		pixels[i] = float32(i%251) / 251
	}
	v := &visionTower{exec: exec, input: tensors.FromFlatDataAndDimensions(pixels, windows, size, size, 3)}
	_, err = v.time()
	return v, err
}

// time runs the tower once and says how long it took.
func (v *visionTower) time() (time.Duration, error) {
	start := time.Now()
	_, err := v.exec.Exec(v.input)
	return time.Since(start), err
}
