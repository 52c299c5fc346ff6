package workbench

import "testing"

// TestOptimizersAreComplete checks that every optimiser has an update and a usual rate for every
// parameterisation.
func TestOptimizersAreComplete(t *testing.T) {
	for _, o := range Optimizers {
		if o.Update == nil {
			t.Errorf("optimizer %s has no update", o.Name)
		}
		for _, p := range Parameterizations {
			if o.Learnrate[p] <= 0 {
				t.Errorf("optimizer %s has no rate for %s", o.Name, p)
			}
		}
	}
}
