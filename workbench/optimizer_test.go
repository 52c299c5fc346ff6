package workbench

import (
	"math"
	"slices"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

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

// TestOptimizersMatchTorch steps each optimiser but sgd on the gradients of
// testdata/optimizers.py and compares its parameters after every step with torch's.
func TestOptimizersMatchTorch(t *testing.T) {
	var golden struct {
		Start     []float32
		Gradients [][]float32
		Rate      float32
		Steps     map[string][][]float64
	}
	readTestdata(t, "optimizers.json", &golden)
	backend, err := clipmodel.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range golden.Steps {
		o, ok := LookupOptimizer(name)
		if !ok {
			t.Fatalf("no optimiser %s", name)
		}
		exec, err := NewExec(backend, func(inputs []*Node) []*Node {
			params, moments := o.Update(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4:])
			return append([]*Node{params}, moments...)
		})
		if err != nil {
			t.Fatal(err)
		}
		n := len(golden.Start)
		state := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(slices.Clone(golden.Start), n)}
		for range o.Moments {
			state = append(state, tensors.FromShape(shapes.Make(dtypes.Float32, n)))
		}
		for step, g := range golden.Gradients {
			args := []any{state[0], tensors.FromFlatDataAndDimensions(g, n), tensors.FromScalar(golden.Rate),
				tensors.FromScalar(float32(step + 1))}
			for _, m := range state[1:] {
				args = append(args, m)
			}
			if state, err = exec.Exec(args...); err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](state[0])
			for i := range got {
				if math.Abs(float64(got[i])-want[step][i]) > 1e-5 {
					t.Fatalf("%s, step %d: parameters %v, torch's %v", name, step+1, got, want[step])
				}
			}
		}
	}
}
