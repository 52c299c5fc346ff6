package workbench

import (
	"fmt"
	"slices"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
)

// State is everything a run needs to continue exactly where it stopped: with the same
// experiment and model, ResumeRun(State) then Run gives the image an uninterrupted run would.
type State struct {
	Step          int
	Width, Height int
	// Params, M and V are the image's parameters and the optimiser's moments, flat float32 in the
	// parameterisation's shape.
	Params, M, V []float32
	Stats        *Stats
	Elapsed      time.Duration
	Windows      int
}

// State captures the run's current state.
func (r *Run) State() *State {
	return &State{Step: r.step, Width: r.width, Height: r.height,
		Params: tensors.MustCopyFlatData[float32](r.params), M: tensors.MustCopyFlatData[float32](r.m),
		V: tensors.MustCopyFlatData[float32](r.v), Stats: r.stats, Elapsed: r.elapsed, Windows: r.windowsDone}
}

// Restore puts a run into a saved state, which must come from the same experiment.
func (r *Run) Restore(s *State) error {
	shape := r.param.shape(s.Width, s.Height)
	for name, values := range map[string][]float32{"params": s.Params, "m": s.M, "v": s.V} {
		if len(values) != shape.Size() {
			return fmt.Errorf("saved %s has %d values, a %dx%d image needs %d: the state is from another experiment",
				name, len(values), s.Width, s.Height, shape.Size())
		}
	}
	if s.Step < 0 || s.Step > r.exp.Steps {
		return fmt.Errorf("saved step %d is outside the run's %d steps", s.Step, r.exp.Steps)
	}
	if s.Stats == nil || len(s.Stats.Targets) != len(r.stats.Targets) {
		return fmt.Errorf("saved statistics do not match the experiment's %d targets", len(r.stats.Targets))
	}
	if !slices.Equal(s.Stats.Models, r.stats.Models) {
		return fmt.Errorf("saved statistics are of the models %q, the run has %q", s.Stats.Models, r.stats.Models)
	}
	r.step, r.width, r.height = s.Step, s.Width, s.Height
	r.params = tensors.FromFlatDataAndDimensions(s.Params, shape.Dimensions...)
	r.m = tensors.FromFlatDataAndDimensions(s.M, shape.Dimensions...)
	r.v = tensors.FromFlatDataAndDimensions(s.V, shape.Dimensions...)
	r.stats, r.elapsed, r.windowsDone = s.Stats, s.Elapsed, s.Windows
	r.stats.restoreSums()
	return nil
}
