package workbench

import (
	"fmt"
	"slices"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Constraint is an extra loss term, one kind of ConstraintKinds. A measured kind is penalised
// beyond Above and/or below Below (one-sided, per channel), or by its distance from Target when
// neither is set; the others compare the image with an edited copy of it, as CLIPig does.
type Constraint struct {
	Kind   string
	Weight Value
	Period Period
	// Above and Below are one value, or three for R, G and B.
	Above, Below []Value
	Target       Value
	// Loss is "l2" (default, CLIPig's mse too) or "l1" (mae) on the penalty.
	Loss string
	// OnImage measures the whole image instead of the target's windows.
	OnImage bool
	// Extra are the values of the kind's Extra parameters: those that shape the step (see
	// ConstraintKind.Fixed) hold for the run, the others may change at every step.
	Extra [][]Value
}

// Constraint kinds.
const (
	ConstraintBlur       = "blur"       // the image against its blur
	ConstraintBorder     = "border"     // the image against itself with a painted border
	ConstraintContrast   = "contrast"   // mean of the pixels above the mean minus mean of those below
	ConstraintEdgeMean   = "edge_mean"  // mean |blur(x) - x|
	ConstraintMean       = "mean"       // mean value
	ConstraintNoise      = "noise"      // the image against a noisy copy (no gradient, as in CLIPig)
	ConstraintNormalize  = "normalize"  // the image against it stretched to [min, max]
	ConstraintRange      = "range"      // how far values leave [Below, Above] (clipwork's addition)
	ConstraintSaturation = "saturation" // mean |channel - mean of the channels|
	ConstraintStd        = "std"        // standard deviation of values
	ConstraintTV         = "tv"         // total variation (clipwork's addition)
)

// ConstraintValues are a constraint's time-dependent values at a step, as graph nodes: Above and
// Below per channel [1, 3], Target a scalar.
type ConstraintValues struct {
	Above, Below, Target *Node
	// Extra are the kind's Extra parameters at the step, one vector [size] each.
	Extra []*Node
	// Fixed are the values of its Fixed Extra parameters, which hold for the run.
	Fixed [][]float64
}

// ConstraintKind is one constraint: its YAML key, further parameters, CLIPig's factor on its
// loss, and its penalty in the graph.
type ConstraintKind struct {
	// Key is the constraint's YAML key.
	Key string
	// Extra are its parameters besides weight, start, end, loss, above, below and target.
	Extra []Param
	// Fixed is how many of Extra, from the first, shape the step (kernel and border sizes): they
	// hold for the run, where the others may change at every step.
	Fixed int
	// Scale is CLIPig's factor on the loss (its WEIGHT_FACTOR, 100 for most).
	Scale float64
	// Penalty is how far images x [n, h, w, 3] are from what the constraint asks, per image and
	// channel or per value (the loss is the mean of its l1 or l2).
	Penalty func(c Constraint, x *Node, v ConstraintValues) *Node
}

var (
	blurKernel = []Param{{"kernel_size", 2, []float64{3, 3}}, {"sigma", 2, []float64{0, 0}}}
	rgbZero    = []float64{0, 0, 0}
)

// ConstraintKinds are the constraints.
var ConstraintKinds = []ConstraintKind{
	{Key: ConstraintBlur, Extra: blurKernel, Fixed: 1, Scale: 100, Penalty: func(_ Constraint, x *Node, v ConstraintValues) *Node {
		return Sub(x, constraintBlur(x, v))
	}},
	{Key: ConstraintBorder, Scale: 100, Extra: []Param{{"size", 2, []float64{1, 1}}, {"color", 3, rgbZero}}, Fixed: 1,
		Penalty: borderPenalty},
	{Key: ConstraintContrast, Scale: 1, Penalty: bounded(contrastSpread)},
	{Key: ConstraintEdgeMean, Extra: blurKernel, Fixed: 1, Scale: 100, Penalty: func(c Constraint, x *Node, v ConstraintValues) *Node {
		return bounded(func(x *Node) *Node { return ReduceMean(Abs(Sub(constraintBlur(x, v), x)), 1, 2) })(c, x, v)
	}},
	{Key: ConstraintMean, Scale: 100, Penalty: bounded(func(x *Node) *Node { return ReduceMean(x, 1, 2) })},
	{Key: ConstraintNoise, Scale: 100, Extra: []Param{{"std", 3, nil}}, Penalty: noisePenalty},
	{Key: ConstraintNormalize, Scale: 10, Extra: []Param{{"min", 3, rgbZero}, {"max", 3, []float64{1, 1, 1}}},
		Penalty: normalizePenalty},
	{Key: ConstraintRange, Scale: 1, Penalty: rangeExcess},
	{Key: ConstraintSaturation, Scale: 100, Penalty: bounded(func(x *Node) *Node {
		return ReduceMean(Abs(Sub(ReduceAndKeep(x, ReduceMean, -1), x)), 1, 2)
	})},
	{Key: ConstraintStd, Scale: 100, Penalty: bounded(channelStd)},
	{Key: ConstraintTV, Scale: 1, Penalty: bounded(func(x *Node) *Node { return InsertAxes(totalVariation(x), -1) })},
}

// LookupConstraint returns a constraint kind's entry.
func LookupConstraint(key string) (*ConstraintKind, bool) {
	return lookup(ConstraintKinds, key, func(k *ConstraintKind) string { return k.Key })
}

// ConstraintKeys lists the constraints' YAML keys.
func ConstraintKeys() []string {
	return keys(ConstraintKinds, func(k *ConstraintKind) string { return k.Key })
}

// ConstraintLosses are the losses a constraint's penalty may take, CLIPig's names included.
var ConstraintLosses = []string{"l1", "l2", "mae", "mse"}

// bounded makes a penalty of a quantity measured per image and channel [n, 3]: how far it is
// beyond above, below below (one-sided each: CLIPig penalises both sides of either bound, which
// pulls a value that already satisfies `above` back down to it), or, when neither is set, from
// the target.
func bounded(measure func(x *Node) *Node) func(c Constraint, x *Node, v ConstraintValues) *Node {
	return func(c Constraint, x *Node, v ConstraintValues) *Node {
		measured := measure(x)
		if len(c.Above) == 0 && len(c.Below) == 0 {
			return Sub(measured, v.Target)
		}
		penalty := ZerosLike(measured)
		if len(c.Above) > 0 {
			penalty = Add(penalty, activation.Relu(Sub(v.Above, measured)))
		}
		if len(c.Below) > 0 {
			penalty = Add(penalty, activation.Relu(Sub(measured, v.Below)))
		}
		return penalty
	}
}

// constraintBlur is the blur of a blur or edge_mean constraint: its kernel_size, which holds
// for the run, and its sigma at the step.
func constraintBlur(x *Node, v ConstraintValues) *Node {
	n := x.Shape().Dim(0)
	sigma := func(axis int) *Node { return BroadcastToDims(Reshape(Slice(v.Extra[1], AxisRange(axis, axis+1))), n) }
	return kernelBlurAt(x, v.Fixed[0], sigma(0), sigma(1))
}

// kernelBlurAt is torchvision's gaussian_blur of a kernel_size (across, down) and a sigma per
// image [n] each way, computed in the graph, as CLIPig gives them (see oddKernel): a sigma of 0
// or less, the one not given, is the kernel size's (KernelSigma).
func kernelBlurAt(x *Node, kernel []float64, sigmaX, sigmaY *Node) *Node {
	radii, sigmas := [2]int{}, [2]*Node{sigmaX, sigmaY}
	for axis, s := range sigmas {
		radii[axis] = oddKernel(kernel[axis]) / 2
		sigmas[axis] = Where(LessOrEqual(s, ZerosLike(s)), Scalar(x.Graph(), dtypes.Float32, KernelSigma(kernel[axis])), s)
	}
	return gaussianBlurXY(x, sigmas[0], sigmas[1], radii[0], radii[1])
}

// contrastSpread is CLIPig's contrast per channel: the mean of the values above the channel's
// mean minus the mean of those below.
func contrastSpread(x *Node) *Node {
	mean := ReduceAndKeep(x, ReduceMean, 1, 2)
	above := ConvertDType(GreaterThan(x, mean), dtypes.Float32)
	below := ConvertDType(LessThan(x, mean), dtypes.Float32)
	meanOf := func(mask *Node) *Node {
		count := ReduceSum(mask, 1, 2)
		m := Div(ReduceSum(Mul(x, mask), 1, 2), MaxScalar(count, 1))
		return Where(GreaterThan(count, ZerosLike(count)), m, Reshape(mean, count.Shape().Dimensions...))
	}
	return Sub(meanOf(above), meanOf(below))
}

// channelStd is the unbiased standard deviation per image and channel, as torch.std.
func channelStd(x *Node) *Node {
	n := float64(x.Shape().Dim(1) * x.Shape().Dim(2))
	mean := ReduceAndKeep(x, ReduceMean, 1, 2)
	return Sqrt(AddScalar(DivScalar(ReduceSum(Square(Sub(x, mean)), 1, 2), max(n-1, 1)), 1e-12))
}

// borderPenalty is the image against itself with a border of size (width, height) in color.
func borderPenalty(_ Constraint, x *Node, v ConstraintValues) *Node {
	h, w := x.Shape().Dim(1), x.Shape().Dim(2)
	size := v.Fixed[0]
	mask := borderMask(x.Graph(), h, w, int(size[0]), int(size[1]))
	return Mul(Sub(x, clipmodel.ChannelsLike(x, v.Extra[1])), mask)
}

// noisePenalty is CLIPig's noise constraint: the image against the image plus noise of std per
// channel. The noise does not depend on the image, so the penalty has no gradient; it is kept
// for its reported value. The noise is drawn from a fixed graph seed.
func noisePenalty(_ Constraint, x *Node, v ConstraintValues) *Node {
	std := clipmodel.ChannelsLike(x, v.Extra[0])
	state, err := RNGStateFromSeed(7)
	if err != nil {
		panic(err) // graph building reports panics as the Exec's error
	}
	_, noise := RandomNormal(ConstTensor(x.Graph(), state), x.Shape())
	return Mul(noise, std)
}

// normalizePenalty is the image against itself stretched per channel from its own range onto
// [min, max].
func normalizePenalty(_ Constraint, x *Node, v ConstraintValues) *Node {
	lo := ReduceAndKeep(x, ReduceMin, 1, 2)
	hi := ReduceAndKeep(x, ReduceMax, 1, 2)
	spread := Sub(hi, lo)
	spread = Where(Equal(spread, ZerosLike(spread)), OnesLike(spread), spread)
	low, high := clipmodel.ChannelsLike(x, v.Extra[0]), clipmodel.ChannelsLike(x, v.Extra[1])
	want := Add(low, Mul(Div(Sub(x, lo), spread), Sub(high, low)))
	return Sub(x, want) // CLIPig differentiates through the stretched image and its range too
}

// rangeExcess is how far each value falls under `above` or over `below` (0 and 1 by default),
// bounds read as CLIPig reads them: stay above `above` and below `below`.
func rangeExcess(c Constraint, x *Node, v ConstraintValues) *Node {
	lo, hi := clipmodel.ChannelsLike(x, v.Above), clipmodel.ChannelsLike(x, v.Below)
	if len(c.Above) == 0 {
		lo = float32Scalar(x.Graph(), 0)
	}
	if len(c.Below) == 0 {
		hi = float32Scalar(x.Graph(), 1)
	}
	return Add(activation.Relu(Sub(x, hi)), activation.Relu(Sub(lo, x)))
}

// constraintLosses measures a target's constraints on its windows (or the whole image) and
// returns one weighted penalty per constraint. Each constraint's input row is [weight, above
// (R G B), below (R G B), target, its Extra values], evaluated on the host at the step's time.
func constraintLosses(constraints []Constraint, windows, image, values *Node) *Node {
	terms := make([]*Node, len(constraints))
	for i, c := range constraints {
		cols := func(from, to int) *Node {
			return Reshape(Slice(values, AxisRange(i, i+1), AxisRange(from, to)), to-from)
		}
		kind, _ := LookupConstraint(c.Kind)
		x := windows
		if c.OnImage {
			x = InsertAxes(image, 0)
		}
		v := ConstraintValues{Above: Reshape(cols(1, 4), 1, 3), Below: Reshape(cols(4, 7), 1, 3), Target: Reshape(cols(7, 8)),
			Fixed: fixedValues(c.Extra, kind.Fixed)}
		from := boundColumns
		for _, p := range kind.Extra {
			v.Extra = append(v.Extra, cols(from, from+p.Size))
			from += p.Size
		}
		penalty := kind.Penalty(c, x, v)
		if c.Loss == "l1" || c.Loss == "mae" {
			penalty = Abs(penalty)
		} else {
			penalty = Square(penalty)
		}
		// CLIPig computes a constraint on each window and sums the windows' losses
		perWindows := MulScalar(ReduceAllMean(penalty), float64(x.Shape().Dim(0)))
		terms[i] = Reshape(Mul(MulScalar(perWindows, kind.Scale), Reshape(cols(0, 1))), 1)
	}
	return Concatenate(terms, 0)
}

// boundColumns are the columns of a constraint's input row before its Extra values: weight,
// above and below per channel, and target.
const boundColumns = 8

// constraintColumns is the width of the constraints' input rows: boundColumns and room for the
// most Extra values a constraint has.
func constraintColumns(constraints []Constraint) int {
	most := 0
	for _, c := range constraints {
		values := 0
		for _, vs := range c.Extra {
			values += len(vs)
		}
		most = max(most, values)
	}
	return boundColumns + most
}

// constraintInputs are the constraints' rows [c, constraintColumns] at a step: weight, above and
// below per channel (one value filling three), target, and the Extra values, zeros after them.
// A constraint outside its period has a row of zeros: CLIPig evaluates none of its values there.
// Each value draws its own random numbers (see Env.In), one filling three channels one for each,
// as CLIPig makes an expression of each copy.
func constraintInputs(constraints []Constraint, env Env) *tensors.Tensor {
	width := constraintColumns(constraints)
	rows := make([]float32, 0, width*len(constraints))
	for i, c := range constraints {
		row := make([]float32, width)
		if c.Period.Active(env.Step, env.Steps) {
			env := env.In(i)
			at := func(v Value, parts ...any) float32 { return float32(v.At(env.In(parts...))) }
			row[0] = at(c.Weight, "weight")
			for b, bound := range [][]Value{c.Above, c.Below} {
				for j := range 3 * min(len(bound), 1) {
					row[1+3*b+j] = at(bound[min(j, len(bound)-1)], b, j)
				}
			}
			row[7] = at(c.Target, "target")
			column := boundColumns
			for p, vs := range c.Extra {
				for k, v := range vs {
					row[column] = at(v, "extra", p, k)
					column++
				}
			}
		}
		rows = append(rows, row...)
	}
	return tensors.FromFlatDataAndDimensions(rows, len(constraints), width)
}

// withDefaults fills the further parameters left unset with the kind's defaults.
func (c Constraint) withDefaults() Constraint {
	kind, ok := LookupConstraint(c.Kind)
	if !ok {
		return c
	}
	c.Extra = fillDefaults(c.Extra, kind.Extra)
	return c
}

// validate checks a constraint's kind, loss, bounds and further parameters.
func (c Constraint) validate() error {
	kind, ok := LookupConstraint(c.Kind)
	if !ok {
		return fmt.Errorf("constraint %q is not one of %v", c.Kind, ConstraintKeys())
	}
	if !slices.Contains(ConstraintLosses, c.Loss) {
		return fmt.Errorf("constraint %s: loss %q is not one of %v", c.Kind, c.Loss, ConstraintLosses)
	}
	for _, bound := range [][]Value{c.Above, c.Below} {
		if n := len(bound); n > 1 && n != 3 {
			return fmt.Errorf("constraint %s: above and below take one value or three (R G B), got %d", c.Kind, n)
		}
	}
	for i, p := range kind.Extra {
		if i >= len(c.Extra) || len(c.Extra[i]) != p.Size {
			return fmt.Errorf("constraint %s needs its %s (%d values)", c.Kind, p.Name, p.Size)
		}
	}
	return paramsSizeProblem("constraint "+c.Kind, kind.Extra, c.Extra)
}

// borderMask is 1 on the outer pixels of an [h, w] image (sizeX wide left and right, sizeY
// high top and bottom), as [1, h, w, 1].
func borderMask(g *Graph, h, w, sizeX, sizeY int) *Node {
	mask := make([]float32, h*w)
	for y := range h {
		for x := range w {
			if y < sizeY || x < sizeX || y >= h-sizeY || x >= w-sizeX {
				mask[y*w+x] = 1
			}
		}
	}
	return Reshape(Const(g, mask), 1, h, w, 1)
}
