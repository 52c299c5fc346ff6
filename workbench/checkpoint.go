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
	// Params are the image's parameters, Moments the optimiser's state by name (see
	// Optimizer.Moments), flat float32 in the parameterisation's shape.
	Params  []float32
	Moments map[string][]float32
	// Updates counts the optimiser's steps since its moments started (see Run).
	Updates int
	Stats   *Stats
	Elapsed time.Duration
	Windows int
}

// State captures the run's current state.
func (r *Run) State() *State {
	moments := map[string][]float32{}
	for i, name := range r.optimizer().Moments {
		moments[name] = tensors.MustCopyFlatData[float32](r.moments[i])
	}
	return &State{Step: r.step, Width: r.width, Height: r.height, Params: tensors.MustCopyFlatData[float32](r.params),
		Moments: moments, Updates: r.updates, Stats: r.stats, Elapsed: r.elapsed, Windows: r.windowsDone}
}

// Restore puts a run into a saved state, which must come from the same experiment and hold
// every moment its optimiser keeps.
func (r *Run) Restore(s *State) error {
	shape := r.param.shape(s.Width, s.Height)
	saved := map[string][]float32{"params": s.Params}
	for name, values := range s.Moments {
		saved[name] = values
	}
	for name, values := range saved {
		if len(values) != shape.Size() {
			return fmt.Errorf("saved %s has %d values, a %dx%d image needs %d: the state is from another experiment",
				name, len(values), s.Width, s.Height, shape.Size())
		}
	}
	if s.Step < 0 || s.Step > r.exp.Steps {
		return fmt.Errorf("saved step %d is outside the run's %d steps", s.Step, r.exp.Steps)
	}
	if s.Updates < 0 || s.Updates > s.Step {
		return fmt.Errorf("saved updates %d are more than the saved step %d or negative: the state is damaged", s.Updates, s.Step)
	}
	if s.Stats == nil || len(s.Stats.Targets) != len(r.stats.Targets) {
		return fmt.Errorf("saved statistics do not match the experiment's %d targets", len(r.stats.Targets))
	}
	if !slices.Equal(s.Stats.Models, r.stats.Models) {
		return fmt.Errorf("saved statistics are of the models %q, the run has %q", s.Stats.Models, r.stats.Models)
	}
	var moments []*tensors.Tensor
	for _, name := range r.optimizer().Moments {
		values, ok := s.Moments[name]
		if !ok {
			return fmt.Errorf("the state has no %q, which optimizer %s keeps: it was saved by another optimiser; "+
				"start the run afresh", name, r.exp.Optimizer)
		}
		moments = append(moments, tensors.FromFlatDataAndDimensions(values, shape.Dimensions...))
	}
	r.step, r.width, r.height = s.Step, s.Width, s.Height
	r.params, r.moments, r.updates = tensors.FromFlatDataAndDimensions(s.Params, shape.Dimensions...), moments, s.Updates
	r.stats, r.elapsed, r.windowsDone = s.Stats, s.Elapsed, s.Windows
	r.stats.restoreSums()
	return nil
}
