package workbench

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Constraint is an extra loss term, one kind of ConstraintKinds. It measures a quantity and
// penalises it: beyond Above and/or below Below (one-sided), or its distance from Target when
// neither is set.
type Constraint struct {
	Kind   string
	Weight Value
	Period Period
	Above  Value
	Below  Value
	Target Value
	// Loss is "l2" (default) or "l1" on the penalty.
	Loss string
	// OnImage measures the whole image instead of the target's windows.
	OnImage bool
	// Size is the border's width in pixels (border only; default 1).
	Size int
}

// Constraint kinds.
const (
	ConstraintBlur       = "blur"       // mean |x - blur(x)|: penalises fine detail
	ConstraintTV         = "tv"         // total variation
	ConstraintSaturation = "saturation" // mean colour saturation
	ConstraintMean       = "mean"       // mean value
	ConstraintStd        = "std"        // standard deviation of values
	ConstraintContrast   = "contrast"   // standard deviation of the grey image
	ConstraintEdgeMean   = "edge_mean"  // mean Sobel gradient magnitude
	ConstraintBorder     = "border"     // mean deviation of a border from Target
	ConstraintRange      = "range"      // how far values leave [Below, Above]
)

// ConstraintValues are a constraint's time-dependent values at a step, as graph scalars.
type ConstraintValues struct {
	Above, Below, Target *Node
}

// ConstraintKind is one constraint: its YAML key and its penalty in the graph.
type ConstraintKind struct {
	// Key is the constraint's YAML key.
	Key string
	// Penalty is how far images x [n, h, w, 3] are from what the constraint asks, per image or
	// per value (the loss takes the mean of its l1 or l2).
	Penalty func(c Constraint, x *Node, v ConstraintValues) *Node
}

// ConstraintKinds are the constraints.
var ConstraintKinds = []ConstraintKind{
	{Key: ConstraintBlur, Penalty: bounded(func(x *Node) *Node {
		ones := Ones(x.Graph(), shapes.Make(dtypes.Float32, x.Shape().Dim(0)))
		return ReduceMean(Abs(Sub(x, GaussianBlur(x, ones, 3))), 1, 2, 3)
	})},
	{Key: ConstraintBorder, Penalty: borderDistance},
	{Key: ConstraintContrast, Penalty: bounded(func(x *Node) *Node {
		return Sqrt(AddScalar(ReduceVariance(grey(x), 1, 2, 3), 1e-8))
	})},
	{Key: ConstraintEdgeMean, Penalty: bounded(func(x *Node) *Node { return ReduceMean(sobelMagnitude(x), 1, 2, 3) })},
	{Key: ConstraintMean, Penalty: bounded(func(x *Node) *Node { return ReduceMean(x, 1, 2, 3) })},
	{Key: ConstraintRange, Penalty: rangeExcess},
	{Key: ConstraintSaturation, Penalty: bounded(func(x *Node) *Node {
		return ReduceMean(Sqrt(AddScalar(ReduceMean(Square(Sub(x, grey(x))), -1), 1e-8)), 1, 2)
	})},
	{Key: ConstraintStd, Penalty: bounded(func(x *Node) *Node { return Sqrt(AddScalar(ReduceVariance(x, 1, 2, 3), 1e-8)) })},
	{Key: ConstraintTV, Penalty: bounded(totalVariation)},
}

// LookupConstraint returns a constraint kind's entry.
func LookupConstraint(key string) (*ConstraintKind, bool) {
	return lookup(ConstraintKinds, key, func(k *ConstraintKind) string { return k.Key })
}

// ConstraintKeys lists the constraints' YAML keys.
func ConstraintKeys() []string {
	return keys(ConstraintKinds, func(k *ConstraintKind) string { return k.Key })
}

// ConstraintLosses are the losses a constraint's penalty may take.
var ConstraintLosses = []string{"l1", "l2"}

// bounded makes a penalty of a measured quantity per image [n]: how far it is beyond above,
// below below (one-sided each), or, when neither is set, from the target.
func bounded(measure func(x *Node) *Node) func(c Constraint, x *Node, v ConstraintValues) *Node {
	return func(c Constraint, x *Node, v ConstraintValues) *Node {
		measured := measure(x)
		if !c.Above.IsSet() && !c.Below.IsSet() {
			return Sub(measured, v.Target)
		}
		penalty := ZerosLike(measured)
		if c.Above.IsSet() {
			penalty = Add(penalty, activation.Relu(Sub(measured, v.Above)))
		}
		if c.Below.IsSet() {
			penalty = Add(penalty, activation.Relu(Sub(v.Below, measured)))
		}
		return penalty
	}
}

// borderDistance is the mean deviation of the outer Size pixels from the target, per image.
func borderDistance(c Constraint, x *Node, v ConstraintValues) *Node {
	h, w := x.Shape().Dim(1), x.Shape().Dim(2)
	mask := borderMask(x.Graph(), h, w, c.Size)
	distance := Abs(Sub(x, v.Target))
	return DivScalar(ReduceSum(Mul(distance, mask), 1, 2, 3), 3*maskCount(h, w, c.Size))
}

// rangeExcess is how far each value lies above `above` or below `below` ([0, 1] by default).
func rangeExcess(c Constraint, x *Node, v ConstraintValues) *Node {
	hi, lo := v.Above, v.Below
	if !c.Above.IsSet() {
		hi = float32Scalar(x.Graph(), 1)
	}
	if !c.Below.IsSet() {
		lo = float32Scalar(x.Graph(), 0)
	}
	return Add(activation.Relu(Sub(x, hi)), activation.Relu(Sub(lo, x)))
}

// constraintLosses measures a target's constraints on its windows (or the whole image) and
// returns one weighted penalty per constraint. Each constraint's input row is
// [weight, above, below, target], evaluated on the host at the step's time.
func constraintLosses(constraints []Constraint, windows, image, values *Node) *Node {
	terms := make([]*Node, len(constraints))
	for i, c := range constraints {
		row := func(j int) *Node { return Reshape(Slice(values, AxisRange(i, i+1), AxisRange(j, j+1))) }
		x := windows
		if c.OnImage {
			x = InsertAxes(image, 0)
		}
		kind, _ := LookupConstraint(c.Kind)
		penalty := kind.Penalty(c, x, ConstraintValues{Above: row(1), Below: row(2), Target: row(3)})
		if c.Loss == "l1" {
			penalty = Abs(penalty)
		} else {
			penalty = Square(penalty)
		}
		terms[i] = Reshape(Mul(ReduceAllMean(penalty), row(0)), 1)
	}
	return Concatenate(terms, 0)
}

// constraintInputs are the constraints' rows [c, 4] at a step: weight (0 outside the period),
// above, below and target.
func constraintInputs(constraints []Constraint, env Env) *tensors.Tensor {
	rows := make([]float32, 0, 4*len(constraints))
	for _, c := range constraints {
		weight := 0.0
		if c.Period.Active(env.Step, env.Steps) {
			weight = c.Weight.At(env)
		}
		rows = append(rows, float32(weight), float32(c.Above.At(env)), float32(c.Below.At(env)), float32(c.Target.At(env)))
	}
	return tensors.FromFlatDataAndDimensions(rows, len(constraints), 4)
}

// validate checks a constraint's kind and loss.
func (c Constraint) validate() error {
	if _, ok := LookupConstraint(c.Kind); !ok {
		return fmt.Errorf("constraint %q is not one of %v", c.Kind, ConstraintKeys())
	}
	if !slices.Contains(ConstraintLosses, c.Loss) {
		return fmt.Errorf("constraint %s: loss %q is not one of %v", c.Kind, c.Loss, ConstraintLosses)
	}
	return nil
}

// borderMask is 1 on the outer size pixels of an [h, w] image, as [1, h, w, 1].
func borderMask(g *Graph, h, w, size int) *Node {
	mask := make([]float32, h*w)
	for y := range h {
		for x := range w {
			if y < size || x < size || y >= h-size || x >= w-size {
				mask[y*w+x] = 1
			}
		}
	}
	return Reshape(Const(g, mask), 1, h, w, 1)
}

func maskCount(h, w, size int) float64 {
	inner := max(h-2*size, 0) * max(w-2*size, 0)
	return float64(h*w - inner)
}
