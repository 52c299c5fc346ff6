package workbench

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/gomlx/ml/model"
)

// ModelChoice is one model of an ensemble, named as clipmodel.Load takes it, and the weight of
// its loss.
type ModelChoice struct {
	Name   string
	Weight float64
}

// Models are the experiment's models with their weights: the ensemble, or Model alone with
// weight 1.
func (e Experiment) Models() []ModelChoice {
	if len(e.Ensemble) > 0 {
		return e.Ensemble
	}
	return []ModelChoice{{Name: e.Model, Weight: 1}}
}

// ensembleProblems checks an ensemble's names and weights.
func (e *Experiment) ensembleProblems(add func(string, ...any)) {
	if len(e.Ensemble) > 0 && e.Model != "" {
		add("model %q and an ensemble of %d models: give one or the other", e.Model, len(e.Ensemble))
	}
	for i, c := range e.Ensemble {
		if !positiveFinite(c.Weight) {
			add("model %q: its weight must be a positive number, got %v", c.Name, c.Weight)
		}
		if slices.ContainsFunc(e.Ensemble[:i], func(o ModelChoice) bool { return o.Name == c.Name }) {
			add("model %q is in the ensemble twice: list it once, with the sum of its weights", c.Name)
		}
	}
}

// Member is one loaded model of a run and the weight of its loss.
type Member struct {
	Model  *clipmodel.Model
	Weight float64
}

// positiveFinite tells whether a model's weight is a number above 0 and finite.
func positiveFinite(w float64) bool { return w > 0 && !math.IsInf(w, 0) }

// memberProblem tells what is wrong with a run's members: none, a missing model or a weight
// that is not a positive number.
func memberProblem(members []Member) error {
	if len(members) == 0 {
		return errors.New("a run needs at least one model")
	}
	for i, m := range members {
		if m.Model == nil {
			return fmt.Errorf("model %d of the run is nil: load it first (clipmodel.Load)", i+1)
		}
		if !positiveFinite(m.Weight) {
			return fmt.Errorf("model %d of the run (%s): its weight must be a positive number, got %v", i+1, m.Model.Name, m.Weight)
		}
	}
	return nil
}

// LoadModels loads the experiment's models (clipmodel.Load) with their weights.
func LoadModels(exp Experiment) ([]Member, error) {
	var members []Member
	for _, c := range exp.Models() {
		m, err := clipmodel.Load(c.Name)
		if err != nil {
			return nil, err
		}
		members = append(members, Member{Model: m, Weight: c.Weight})
	}
	return members, nil
}

// ensembleStore is where the step graph finds the models' weights: a single model's own store,
// or a store holding every member's weights (the same tensors, not copies) under m0/, m1/, ...
func ensembleStore(members []Member) (*model.Store, error) {
	if len(members) == 1 {
		return members[0].Model.Store, nil
	}
	store := model.NewStore()
	for i, m := range members {
		for v := range m.Model.Store.IterVariables() {
			value, err := v.Value()
			if err != nil {
				return nil, err
			}
			if _, err := store.CreateVariable(fmt.Sprintf("/m%d%s", i, v.Path()), value); err != nil {
				return nil, err
			}
		}
	}
	return store, nil
}

// memberScope is where member i's weights lie in the step graph's scope.
func memberScope(scope *model.Scope, members []Member, i int) *model.Scope {
	if len(members) == 1 {
		return scope
	}
	return scope.At("m%d", i)
}

// inputSizes are the members' distinct input sides, largest first: the windows are drawn for
// the largest and scaled to the others.
func inputSizes(members []Member) []int {
	var sizes []int
	for _, m := range members {
		if s := modelInput(m.Model); !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	slices.Reverse(sizes)
	return sizes
}

// modelNames are the members' names, in order.
func modelNames(members []Member) []string {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Model.Name
	}
	return names
}
