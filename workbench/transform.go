package workbench

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Transform is a pixel transform of a target's windows, one kind of TransformKinds.
type Transform struct {
	Kind   string
	Period Period
	// Values are the kind's parameter: as many as its entry's Values, or one that fills them.
	Values []Value
	// Extra are the values of the kind's Extra parameters, each filled to its size. They are
	// fixed for the run (the graph is built with them).
	Extra [][]Value
}

// TransformRow is one window's inputs to a transform's graph function, drawn on the host.
type TransformRow [4]float64

// TransformKind is one pixel transform: its YAML key and parameter, the host-side draw of each
// window's row, and the graph function.
type TransformKind struct {
	// Key is the transform's YAML key (CLIPig's name).
	Key string
	// Param names the transform's parameter, as written in `blur: {sigma: [0.5, 2]}`.
	Param string
	// Values is how many values the parameter takes (2: a [low, high] range, 3: R G B).
	Values int
	// Range tells that two values are a [low, high] range each window draws from (clipwork's
	// addition to a parameter of one or three values).
	Range bool
	// Extra are further parameters, fixed for the run, such as a blur's kernel_size.
	Extra []Param
	// Identity is the row that leaves a window unchanged, used outside the transform's period.
	Identity TransformRow
	// Draw makes one window's row from the parameter's values at a step; it may draw random
	// numbers from the step's source.
	Draw func(values []float64, rng *rand.Rand) TransformRow
	// Apply is the graph function on windows [n, s, s, 3].
	Apply func(a *TransformArgs) *Node
	// Radius, if set, is the static kernel radius the transform needs for its largest value.
	Radius func(tr Transform) int
}

// TransformArgs are what a transform's graph function gets.
type TransformArgs struct {
	// X is the windows [n, s, s, 3]; Rows their rows [n, 4].
	X, Rows *Node
	// Radius is the target's static blur radius.
	Radius int
	// Extra are the transform's Extra values.
	Extra [][]float64
	// RNG is the graph's random state; a transform that draws replaces it.
	RNG *Node
}

// Col is column i of the rows, shaped to broadcast over X: [n, 1, 1, 1].
func (a *TransformArgs) Col(i int) *Node {
	return Reshape(Slice(a.Rows, AxisRange(), AxisRange(i, i+1)), a.X.Shape().Dim(0), 1, 1, 1)
}

// RGB is the rows' first three columns as a colour per window: [n, 1, 1, 3].
func (a *TransformArgs) RGB() *Node {
	return Reshape(Slice(a.Rows, AxisRange(), AxisRange(0, 3)), a.X.Shape().Dim(0), 1, 1, 3)
}

// Transform kinds.
const (
	TransformBlur       = "blur"       // Gaussian blur; sigma drawn per window from [low, high]
	TransformNoise      = "noise"      // Gaussian noise per channel; std drawn per window
	TransformGreyNoise  = "bwnoise"    // the same noise on all channels
	TransformMul        = "mul"        // multiply by a colour
	TransformAdd        = "add"        // add a colour
	TransformMean       = "mean"       // move each window's mean colour to a colour
	TransformSaturation = "saturation" // scale saturation by a factor
	TransformContrast   = "contrast"   // scale contrast by a factor
	TransformEdge       = "edge"       // add an amount of the high-pass image
	TransformClamp      = "clamp"      // clamp to [low, high]
)

// TransformKinds are the pixel transforms, in the order the documentation lists them.
var TransformKinds = []TransformKind{
	{Key: TransformAdd, Param: "color", Values: 3, Draw: color3,
		Apply: func(a *TransformArgs) *Node { return Add(a.X, a.RGB()) }},
	{Key: TransformBlur, Param: "sigma", Values: 2, Draw: drawUniform, Radius: blurTransformRadius,
		Apply: func(a *TransformArgs) *Node {
			return GaussianBlur(a.X, Reshape(a.Col(0), a.X.Shape().Dim(0)), a.Radius)
		}},
	{Key: TransformGreyNoise, Param: "std", Values: 2, Draw: drawUniform, Apply: noiseOn(1)},
	{Key: TransformClamp, Param: "range", Values: 2, Identity: TransformRow{-1e9, 1e9},
		Draw:  func(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1]} },
		Apply: func(a *TransformArgs) *Node { return Max(Min(a.X, a.Col(1)), a.Col(0)) }},
	{Key: TransformContrast, Param: "factor", Values: 1, Identity: TransformRow{1}, Draw: first,
		Apply: func(a *TransformArgs) *Node { m := imageMean(a.X); return Add(m, Mul(a.Col(0), Sub(a.X, m))) }},
	{Key: TransformEdge, Param: "amount", Values: 1, Draw: first, Apply: edgeTransform},
	{Key: TransformMean, Param: "mean", Values: 3, Draw: meanRow,
		Apply: func(a *TransformArgs) *Node {
			return Add(a.X, Mul(a.Col(3), Sub(a.RGB(), ReduceAndKeep(a.X, ReduceMean, 1, 2))))
		}},
	{Key: TransformMul, Param: "color", Values: 3, Identity: TransformRow{1, 1, 1}, Draw: color3,
		Apply: func(a *TransformArgs) *Node { return Mul(a.X, a.RGB()) }},
	{Key: TransformNoise, Param: "std", Values: 2, Draw: drawUniform, Apply: noiseOn(3)},
	{Key: TransformSaturation, Param: "factor", Values: 1, Identity: TransformRow{1}, Draw: first,
		Apply: func(a *TransformArgs) *Node { gr := grey(a.X); return Add(gr, Mul(a.Col(0), Sub(a.X, gr))) }},
}

// LookupTransform returns a transform kind's entry.
func LookupTransform(key string) (*TransformKind, bool) {
	return lookup(TransformKinds, key, func(k *TransformKind) string { return k.Key })
}

// TransformKeys lists the pixel transforms' YAML keys.
func TransformKeys() []string {
	return keys(TransformKinds, func(k *TransformKind) string { return k.Key })
}

func drawUniform(v []float64, rng *rand.Rand) TransformRow {
	return TransformRow{uniform(rng, [2]float64{v[0], v[1]})}
}

func first(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0]} }

func color3(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1], v[2]} }

// meanRow is the target colour and, in the last column, 1: the transform is on.
func meanRow(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1], v[2], 1} }

// noiseOn adds Gaussian noise of the row's std to channels channels (1: grey noise).
func noiseOn(channels int) func(a *TransformArgs) *Node {
	return func(a *TransformArgs) *Node {
		n, s := a.X.Shape().Dim(0), a.X.Shape().Dim(1)
		var noise *Node
		a.RNG, noise = RandomNormal(a.RNG, shapes.Make(dtypes.Float32, n, s, s, channels))
		return Add(a.X, Mul(noise, a.Col(0)))
	}
}

func edgeTransform(a *TransformArgs) *Node {
	blurred := GaussianBlur(a.X, Ones(a.X.Graph(), shapes.Make(dtypes.Float32, a.X.Shape().Dim(0))), 3)
	return Add(a.X, Mul(a.Col(0), Sub(a.X, blurred)))
}

func blurTransformRadius(tr Transform) int {
	return blurRadius(maxOverTime(tr.Values[len(tr.Values)-1]))
}

// transformValues evaluates a transform's values at a step, one value filling them all.
func transformValues(tr Transform, kind *TransformKind, env Env) []float64 {
	out := make([]float64, kind.Values)
	for i := range out {
		out[i] = tr.Values[min(i, len(tr.Values)-1)].At(env)
	}
	return out
}

// transformInputs are a transform's rows [n, 4] at a step: the identity row outside its period.
func transformInputs(tr Transform, n int, env Env, rng *rand.Rand) *tensors.Tensor {
	kind, _ := LookupTransform(tr.Kind)
	on := tr.Period.Active(env.Step, env.Steps)
	var values []float64
	if on {
		values = transformValues(tr, kind, env)
	}
	out := make([]float32, 0, 4*n)
	for range n {
		row := kind.Identity
		if on {
			row = kind.Draw(values, rng)
		}
		for _, v := range row {
			out = append(out, float32(v))
		}
	}
	return tensors.FromFlatDataAndDimensions(out, n, 4)
}

// applyTransforms runs a target's pixel transforms over its windows [n, s, s, 3], the k-th
// target's rows coming from in.
func applyTransforms(x *Node, t *preparedTarget, rows []*Node, rng *Node) (*Node, *Node) {
	for j, tr := range t.Transforms {
		kind, _ := LookupTransform(tr.Kind)
		a := &TransformArgs{X: x, Rows: rows[j], Radius: t.blurRadius, RNG: rng}
		x = kind.Apply(a)
		rng = a.RNG
	}
	return x, rng
}

// validate checks a transform's kind and number of values.
func (tr Transform) validate() error {
	kind, ok := LookupTransform(tr.Kind)
	if !ok {
		return fmt.Errorf("transform %q is not one of %v", tr.Kind, TransformKeys())
	}
	if n := len(tr.Values); n != 1 && n != kind.Values {
		return fmt.Errorf("transform %s: %s needs one value or %d, got %d", tr.Kind, kind.Param, kind.Values, n)
	}
	return nil
}
