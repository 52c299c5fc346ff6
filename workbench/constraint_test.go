package workbench

import (
	"math/rand/v2"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// constraintCases give every constraint kind settings that a random image in [0, 1] violates.
var constraintCases = []Constraint{
	{Kind: ConstraintBlur, Target: Constant(0)},
	{Kind: ConstraintBorder, Target: Constant(1), Size: 2},
	{Kind: ConstraintContrast, Above: Constant(0.05)},
	{Kind: ConstraintEdgeMean, Above: Constant(0.1), Loss: "l1"},
	{Kind: ConstraintMean, Target: Constant(0.9)},
	{Kind: ConstraintRange, Below: Constant(0.3), Above: Constant(0.6)},
	{Kind: ConstraintSaturation, Above: Constant(0.02)},
	{Kind: ConstraintStd, Below: Constant(0.6)},
	{Kind: ConstraintTV, Target: Constant(0)},
}

// TestConstraintKindsAreComplete checks that every kind has an entry with a penalty and a case
// in constraintCases.
func TestConstraintKindsAreComplete(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range constraintCases {
		covered[c.Kind] = true
	}
	for _, kind := range ConstraintKinds {
		if kind.Key == "" || kind.Penalty == nil {
			t.Errorf("constraint %q: incomplete entry", kind.Key)
		}
		if !covered[kind.Key] {
			t.Errorf("constraint %q has no case in constraintCases", kind.Key)
		}
	}
}

// TestGradientStepsLowerEveryConstraint takes a few gradient steps on a random image against
// each constraint alone and checks its loss falls.
func TestGradientStepsLowerEveryConstraint(t *testing.T) {
	backend, err := clipmodel.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range constraintCases {
		if c.Loss == "" {
			c.Loss = "l2"
		}
		c.Weight = Constant(1)
		exec, err := NewExec(backend, func(x, values *Node) (*Node, *Node) {
			loss := ReduceAllSum(constraintLosses([]Constraint{c}, x, Squeeze(x, 0), values))
			grad := Gradient(loss, x)[0]
			step := Div(grad, Sqrt(AddScalar(ReduceAllMean(Square(grad)), 1e-12)))
			return loss, Sub(x, MulScalar(step, 0.02))
		})
		if err != nil {
			t.Fatal(err)
		}
		x := tensors.FromFlatDataAndDimensions(randomImage(rand.New(rand.NewPCG(3, 4)), 12, 12, 3), 1, 12, 12, 3)
		values := constraintInputs([]Constraint{c}, TimeAt(0, 1))
		var losses []float32
		for range 5 {
			out, err := exec.Exec(x, values)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, tensors.MustCopyFlatData[float32](out[0])[0])
			x = out[1]
		}
		if losses[0] <= 0 || losses[4] >= losses[0]*0.95 {
			t.Errorf("constraint %s: loss %v does not fall", c.Kind, losses)
		}
	}
}
