package workbench

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
)

// State is everything a run needs to continue exactly where it stopped: with the same
// experiment and model, Restore(State) then Run gives the image an uninterrupted run would.
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

// State captures the run's current state, a copy that the run's later steps leave as it is.
func (r *Run) State() *State {
	moments := map[string][]float32{}
	for i, name := range r.optimizer().Moments {
		moments[name] = tensors.MustCopyFlatData[float32](r.moments[i])
	}
	return &State{Step: r.step, Width: r.width, Height: r.height, Params: tensors.MustCopyFlatData[float32](r.params),
		Moments: moments, Updates: r.updates, Stats: r.stats.clone(), Elapsed: r.elapsed, Windows: r.windowsDone}
}

// Restore puts a run into a saved state, which must come from the same experiment (an image of
// a size the experiment has, the same targets with the same features, in order) and hold every
// moment its optimiser keeps; a state that does not is refused before it replaces anything. The
// run keeps a copy of the state.
func (r *Run) Restore(s *State) error {
	return r.exclusive(func() error { return r.restore(s) })
}

// restore is Restore.
func (r *Run) restore(s *State) error {
	if s == nil {
		return errors.New("no state to restore")
	}
	if err := r.checkStateFits(s); err != nil {
		return err
	}
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
	if s.Updates < 0 || s.Updates > s.Step {
		return fmt.Errorf("saved updates %d are more than the saved step %d or negative: the state is damaged", s.Updates, s.Step)
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
	r.stats, r.elapsed, r.windowsDone = s.Stats.clone(), s.Elapsed, s.Windows
	r.stats.restoreSums()
	return nil
}

// checkStateFits says whether a saved state belongs to the run's experiment: its step within
// the run, its image of the size the experiment has at the step before (the one the state
// holds) or of another size the experiment has (a run resumed with more steps moves a
// resolution that changes with time; the next step resizes the image, see advance), and the
// same targets with the same features, in order.
func (r *Run) checkStateFits(s *State) error {
	if s.Step < 0 || s.Step > r.exp.Steps {
		return fmt.Errorf("saved step %d is outside the run's %d steps", s.Step, r.exp.Steps)
	}
	saved := [2]int{s.Width, s.Height}
	if w, h := r.sizeAt(max(0, s.Step-1)); saved != [2]int{w, h} && !slices.Contains(r.exp.Sizes(), saved) {
		return fmt.Errorf("the saved state's image is %dx%d, and the experiment's is %dx%d at step %d and never %dx%d: "+
			"the state is from another run", s.Width, s.Height, w, h, s.Step, s.Width, s.Height)
	}
	want := r.stats.Targets
	if s.Stats == nil || len(s.Stats.Targets) != len(want) {
		return fmt.Errorf("the saved state has other targets than the experiment's %d: it is from another run", len(want))
	}
	for i, t := range s.Stats.Targets {
		if t == nil {
			return fmt.Errorf("the saved state's target %d is empty: the state is damaged", i+1)
		}
		if t.Name != want[i].Name || len(t.Features) != len(want[i].Features) {
			return fmt.Errorf("the saved state's target %d is %q with %d features, the experiment's %q with %d: it is from another run",
				i+1, t.Name, len(t.Features), want[i].Name, len(want[i].Features))
		}
		for j, f := range t.Features {
			if f == nil || f.Label != want[i].Features[j].Label {
				return fmt.Errorf("the saved state's target %q has another feature %d than the experiment's %q: it is from another run",
					t.Name, j+1, want[i].Features[j].Label)
			}
		}
	}
	return nil
}
