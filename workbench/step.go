package workbench

import (
	"fmt"
	"math"
	"strings"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// stepPlan is the static shape of one optimisation step: which targets are active and the
// image size. One graph is compiled per plan; everything that changes from step to step
// (window geometry, weights, learning rate, random seeds) enters as inputs.
type stepPlan struct {
	targets       []*preparedTarget
	width, height int
	input         int // the model's input side
	// pool is, per target, the factor the image is average-pooled by before its windows are
	// sampled, so that zoomed-out windows see every pixel instead of aliasing.
	pool  []int
	slots map[string]int
	names []string
}

func newStepPlan(targets []*preparedTarget, width, height, input int) *stepPlan {
	p := &stepPlan{targets: targets, width: width, height: height, input: input, slots: map[string]int{}}
	for _, name := range []string{"params", "m", "v", "lr", "count", "rng", "postproc"} {
		p.addSlot(name)
	}
	for k, t := range targets {
		p.pool = append(p.pool, poolFactor(t.Window, width, height, input))
		for _, name := range []string{"homs", "features", "weights", "active", "weight", "constraints"} {
			if name == "constraints" && len(t.Constraints) == 0 {
				continue
			}
			p.addSlot(fmt.Sprintf("%s/%d", name, k))
		}
		for j := range t.Transforms {
			p.addSlot(fmt.Sprintf("transform/%d/%d", k, j))
		}
	}
	return p
}

func (p *stepPlan) addSlot(name string) {
	p.slots[name] = len(p.names)
	p.names = append(p.names, name)
}

// key identifies the plan's graph structure (shapes are told apart by the Exec itself).
func (p *stepPlan) key() string {
	var names []string
	for _, t := range p.targets {
		names = append(names, t.Name)
	}
	return strings.Join(names, "\x00")
}

// poolFactor is how much smaller than the image a target's smallest window can see it: the
// integer factor of average pooling that keeps sampling from skipping pixels.
func poolFactor(w Window, width, height, input int) int {
	w = w.withDefaults()
	return max(1, int(w.side(input, width, height)*w.Scale[0]/float64(input)))
}

// stepOutputs names the step graph's outputs: the new optimiser state, the loss, its terms,
// whether the updated parameters are all finite, then per target the similarities
// [windows, features] and the applied features.
const (
	outParams = iota
	outM
	outV
	outLoss
	outTerms
	outUpdateFinite
	outPerTarget
)

// stepGraph builds the step: render the image, sample and transform every active target's
// windows, run them through CLIP in one batch, select features, add constraints, and update
// the parameters with the optimiser.
func (r *Run) stepGraph(plan *stepPlan) func(scope *model.Scope, inputs []*Node) []*Node {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		in := func(name string) *Node { return inputs[plan.slots[name]] }
		params := in("params")
		image := r.param.render(params)
		rng := in("rng")
		windows := make([]*Node, len(plan.targets))
		for k, t := range plan.targets {
			source := poolImage(image, plan.pool[k])
			windows[k] = SampleWindows(source, in(fmt.Sprintf("homs/%d", k)), plan.input, t.Window.withDefaults().Pad)
			windows[k], rng = applyTransforms(windows[k], t, k, in, rng)
		}
		embeddings := L2Normalize(r.model.ImageFeatures(scope, Concatenate(windows, 0)), -1)

		loss := ScalarZero(params.Graph(), dtypes.Float32)
		var terms, perTarget []*Node
		offset := 0
		for k, t := range plan.targets {
			n := t.BatchSize
			emb := Slice(embeddings, AxisRange(offset, offset+n))
			offset += n
			sims, applied, featureLoss := targetLoss(t, emb, in(fmt.Sprintf("features/%d", k)),
				in(fmt.Sprintf("weights/%d", k)), in(fmt.Sprintf("active/%d", k)))
			featureLoss = Mul(featureLoss, in(fmt.Sprintf("weight/%d", k)))
			terms = append(terms, featureLoss)
			loss = Add(loss, featureLoss)
			if len(t.Constraints) > 0 {
				constraintTerms := constraintLosses(t, windows[k], image, in(fmt.Sprintf("constraints/%d", k)))
				terms = append(terms, constraintTerms)
				loss = Add(loss, ReduceAllSum(constraintTerms))
			}
			perTarget = append(perTarget, sims, applied)
		}
		grad := Gradient(loss, params)[0]
		newParams, m, v := r.optimize(params, grad, in("m"), in("v"), in("lr"), in("count"))
		newParams = r.param.project(newParams)
		if len(r.exp.Postproc) > 0 {
			newParams = r.postprocess(newParams, in("postproc"))
		}
		updateFinite := IsFinite(Add(ReduceAllSum(newParams), ReduceAllSum(v)))
		outputs := []*Node{newParams, m, v, loss, Concatenate(flattenTerms(terms), 0), updateFinite}
		return append(outputs, perTarget...)
	}
}

func flattenTerms(terms []*Node) []*Node {
	out := make([]*Node, len(terms))
	for i, t := range terms {
		out[i] = Reshape(t, t.Shape().Size())
	}
	return out
}

// termNames names the step's loss terms, in the order of the terms output.
func termNames(plan *stepPlan) []string {
	var names []string
	for _, t := range plan.targets {
		names = append(names, fmt.Sprintf("target %q features", t.Name))
		for _, c := range t.Constraints {
			names = append(names, fmt.Sprintf("target %q constraint %s", t.Name, c.Kind))
		}
	}
	return names
}

// poolImage averages factor x factor blocks of image [height, width, 3].
func poolImage(image *Node, factor int) *Node {
	if factor <= 1 {
		return image
	}
	h, w := image.Shape().Dim(0)/factor, image.Shape().Dim(1)/factor
	cropped := Slice(image, AxisRange(0, h*factor), AxisRange(0, w*factor))
	return ReduceMean(Reshape(cropped, h, factor, w, factor, 3), 1, 3)
}

// targetLoss compares a target's window embeddings [n, d] with its features [f, d], selects
// which features each window applies, and returns the similarities [n, f], the applied mask
// [n, f] and the target's feature loss (mean over its windows).
func targetLoss(t *preparedTarget, emb, features, weights, active *Node) (sims, applied, loss *Node) {
	g := emb.Graph()
	n, f := emb.Shape().Dim(0), features.Shape().Dim(0)
	sims = Einsum("nd,fd->nf", emb, features)
	w := Reshape(weights, 1, f)
	on := Reshape(active, 1, f)
	zero := ZerosLike(w)
	positive := Mul(on, ConvertDType(GreaterThan(w, zero), dtypes.Float32))
	negative := Mul(on, ConvertDType(LessThan(w, zero), dtypes.Float32))
	anyPositive := ReduceAndKeep(positive, ReduceMax, 1)
	pick := func(best bool) *Node {
		fill := Infinity(g, dtypes.Float32, 1)
		if best {
			fill = Infinity(g, dtypes.Float32, -1)
		}
		masked := Where(BroadcastToDims(GreaterThan(positive, ZerosLike(positive)), n, f), sims, BroadcastToDims(fill, n, f))
		var index *Node
		if best {
			index = ArgMax(masked, 1)
		} else {
			index = ArgMin(masked, 1)
		}
		return Mul(OneHot(index, f, dtypes.Float32), anyPositive)
	}
	switch t.Select {
	case SelectBest:
		applied = Add(pick(true), BroadcastToDims(negative, n, f))
	case SelectWorst:
		applied = Add(pick(false), BroadcastToDims(negative, n, f))
	default:
		applied = BroadcastToDims(on, n, f)
	}
	perFeature := featureLosses(t, emb, features, sims)
	if t.Select == SelectMix {
		// One direction: the weighted mean of the positive features, applied at their mean weight.
		sum := Einsum("xf,fd->xd", Mul(positive, w), features)
		direction := Div(sum, MaxScalar(Sqrt(ReduceAndKeep(Square(sum), ReduceSum, -1)), 1e-12))
		mixSim := Einsum("nd,xd->nx", emb, direction)
		meanWeight := Div(ReduceAllSum(Mul(positive, w)), MaxScalar(ReduceAllSum(positive), 1))
		mixed := Mul(ReduceAllMean(OneMinus(mixSim)), Mul(meanWeight, ReduceAllMax(anyPositive)))
		rest := ReduceAllSum(Mul(Mul(BroadcastToDims(negative, n, f), w), perFeature))
		return sims, applied, Add(mixed, DivScalar(rest, n))
	}
	return sims, applied, DivScalar(ReduceAllSum(Mul(Mul(applied, w), perFeature)), n)
}

// featureLosses is the loss of every window against every feature, [n, f], by each feature's
// loss kind.
func featureLosses(t *preparedTarget, emb, features, sims *Node) *Node {
	g := emb.Graph()
	f := features.Shape().Dim(0)
	kinds := []struct {
		name    string
		compute func() *Node
	}{
		{LossCosine, func() *Node { return OneMinus(sims) }},
		{LossSpherical, func() *Node {
			// 2 asin(|a - b| / 2)^2, with asin(z) = atan2(z, sqrt(1 - z^2)).
			half := DivScalar(Sqrt(MaxScalar(MulScalar(OneMinus(sims), 2), 1e-12)), 2)
			return MulScalar(Square(Atan2(half, Sqrt(OneMinus(Square(half))))), 2)
		}},
		{LossL1, func() *Node { return ReduceMean(Abs(Sub(InsertAxes(emb, 1), InsertAxes(features, 0))), -1) }},
		{LossL2, func() *Node { return ReduceMean(Square(Sub(InsertAxes(emb, 1), InsertAxes(features, 0))), -1) }},
	}
	var out *Node
	for _, kind := range kinds {
		mask := make([]float32, f)
		used := false
		for i, l := range t.losses {
			if l == kind.name {
				mask[i], used = 1, true
			}
		}
		if !used {
			continue
		}
		term := Mul(kind.compute(), Reshape(Const(g, mask), 1, f))
		if out == nil {
			out = term
		} else {
			out = Add(out, term)
		}
	}
	return out
}

// applyTransforms runs a target's pixel transforms over its windows [n, s, s, 3]. Each
// transform's input is [n, 4] values drawn on the host (see transformInputs).
func applyTransforms(x *Node, t *preparedTarget, k int, in func(string) *Node, rng *Node) (*Node, *Node) {
	n, s := x.Shape().Dim(0), x.Shape().Dim(1)
	for j, tr := range t.Transforms {
		p := in(fmt.Sprintf("transform/%d/%d", k, j))
		col := func(i int) *Node { return Reshape(Slice(p, AxisRange(), AxisRange(i, i+1)), n, 1, 1, 1) }
		rgb := Reshape(Slice(p, AxisRange(), AxisRange(0, 3)), n, 1, 1, 3)
		switch tr.Kind {
		case TransformBlur:
			x = GaussianBlur(x, Reshape(col(0), n), t.blurRadius)
		case TransformNoise, TransformGreyNoise:
			channels := 3
			if tr.Kind == TransformGreyNoise {
				channels = 1
			}
			var noise *Node
			rng, noise = RandomNormal(rng, shapes.Make(dtypes.Float32, n, s, s, channels))
			x = Add(x, Mul(noise, col(0)))
		case TransformMul:
			x = Mul(x, rgb)
		case TransformAdd:
			x = Add(x, rgb)
		case TransformMean:
			x = Add(x, Mul(col(3), Sub(rgb, ReduceAndKeep(x, ReduceMean, 1, 2))))
		case TransformSaturation:
			gr := grey(x)
			x = Add(gr, Mul(col(0), Sub(x, gr)))
		case TransformContrast:
			mean := imageMean(x)
			x = Add(mean, Mul(col(0), Sub(x, mean)))
		case TransformEdge:
			blurred := GaussianBlur(x, Ones(x.Graph(), shapes.Make(dtypes.Float32, n)), 3)
			x = Add(x, Mul(col(0), Sub(x, blurred)))
		case TransformClamp:
			x = Max(Min(x, col(1)), col(0))
		}
	}
	return x, rng
}

// constraintLosses measures a target's constraints on its windows (or the whole image) and
// returns one weighted penalty per constraint. Each constraint's input row is
// [weight, above, below, target], evaluated on the host at the step's time.
func constraintLosses(t *preparedTarget, windows, image, values *Node) *Node {
	terms := make([]*Node, len(t.Constraints))
	for i, c := range t.Constraints {
		row := func(j int) *Node { return Reshape(Slice(values, AxisRange(i, i+1), AxisRange(j, j+1))) }
		x := windows
		if c.OnImage {
			x = InsertAxes(image, 0)
		}
		var penalty *Node
		if c.Kind == ConstraintRange {
			penalty = rangeExcess(x, row(1), row(2), c)
		} else {
			penalty = constraintPenalty(c, measure(c, x, row(3)), row(1), row(2), row(3))
		}
		if c.Loss == "l1" {
			penalty = Abs(penalty)
		} else {
			penalty = Square(penalty)
		}
		terms[i] = Reshape(Mul(ReduceAllMean(penalty), row(0)), 1)
	}
	return Concatenate(terms, 0)
}

// constraintPenalty is how far a measured quantity is beyond above, below below (one-sided
// each), or, when neither is set, from the target. A border's measure is already a distance.
func constraintPenalty(c Constraint, measured, above, below, target *Node) *Node {
	switch {
	case c.Kind == ConstraintBorder:
		return measured
	case c.Above.IsSet() || c.Below.IsSet():
		penalty := ZerosLike(measured)
		if c.Above.IsSet() {
			penalty = Add(penalty, activation.Relu(Sub(measured, above)))
		}
		if c.Below.IsSet() {
			penalty = Add(penalty, activation.Relu(Sub(below, measured)))
		}
		return penalty
	}
	return Sub(measured, target)
}

// measure is a constraint's quantity per image [n].
func measure(c Constraint, x, target *Node) *Node {
	ones := Ones(x.Graph(), shapes.Make(dtypes.Float32, x.Shape().Dim(0)))
	switch c.Kind {
	case ConstraintBlur:
		return ReduceMean(Abs(Sub(x, GaussianBlur(x, ones, 3))), 1, 2, 3)
	case ConstraintTV:
		return totalVariation(x)
	case ConstraintSaturation:
		return ReduceMean(Sqrt(AddScalar(ReduceMean(Square(Sub(x, grey(x))), -1), 1e-8)), 1, 2)
	case ConstraintMean:
		return ReduceMean(x, 1, 2, 3)
	case ConstraintStd:
		return Sqrt(AddScalar(ReduceVariance(x, 1, 2, 3), 1e-8))
	case ConstraintContrast:
		return Sqrt(AddScalar(ReduceVariance(grey(x), 1, 2, 3), 1e-8))
	case ConstraintEdgeMean:
		return ReduceMean(sobelMagnitude(x), 1, 2, 3)
	case ConstraintBorder:
		mask := borderMask(x.Graph(), x.Shape().Dim(1), x.Shape().Dim(2), c.Size)
		distance := Abs(Sub(x, target))
		return DivScalar(ReduceSum(Mul(distance, mask), 1, 2, 3), 3*maskCount(x.Shape().Dim(1), x.Shape().Dim(2), c.Size))
	}
	return ReduceMean(x, 1, 2, 3)
}

// rangeExcess is how far each value lies above `above` or below `below` ([0, 1] by default).
func rangeExcess(x, above, below *Node, c Constraint) *Node {
	hi, lo := above, below
	if !c.Above.IsSet() {
		hi = float32Scalar(x.Graph(), 1)
	}
	if !c.Below.IsSet() {
		lo = float32Scalar(x.Graph(), 0)
	}
	return Add(activation.Relu(Sub(x, hi)), activation.Relu(Sub(lo, x)))
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

// baseLearnrates are each optimiser's usual rate for learnrate 1, per parameterisation.
var baseLearnrates = map[string]map[string]float64{
	ParamPixels: {"adam": 0.02, "rmsprop": 0.01, "sgd": 0.02},
	ParamFFT:    {"adam": 0.05, "rmsprop": 0.02, "sgd": 0.05},
}

// optimize is one optimiser update of the parameters, written into the step graph because the
// image's parameters are explicit graph inputs and outputs (so a run's state is three tensors
// that save and resume exactly), not variables of a GoMLX optimizer.
func (r *Run) optimize(params, grad, m, v, lr, count *Node) (newParams, newM, newV *Node) {
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	switch r.exp.Optimizer {
	case "rmsprop":
		v = Add(MulScalar(v, 0.99), MulScalar(Square(grad), 0.01))
		return Sub(params, Mul(lr, Div(grad, AddScalar(Sqrt(v), eps)))), m, v
	case "sgd":
		// Plain SGD's step size would depend on the model's gradient scale; dividing by the
		// gradient's root mean square makes learnrate mean a step size in pixel units.
		rms := Sqrt(AddScalar(ReduceAllMean(Square(grad)), 1e-20))
		return Sub(params, Mul(lr, Div(grad, rms))), m, v
	}
	m = Add(MulScalar(m, beta1), MulScalar(grad, 1-beta1))
	v = Add(MulScalar(v, beta2), MulScalar(Square(grad), 1-beta2))
	g := params.Graph()
	correct1 := OneMinus(Pow(float32Scalar(g, beta1), count))
	correct2 := OneMinus(Pow(float32Scalar(g, beta2), count))
	step := Div(Div(m, correct1), AddScalar(Sqrt(Div(v, correct2)), eps))
	return Sub(params, Mul(lr, step)), m, v
}

// postprocess applies the experiment's post-processing to the updated pixels; amounts [p]
// are 0 outside each one's period.
func (r *Run) postprocess(params, amounts *Node) *Node {
	if r.exp.Parameterization.Kind != ParamPixels {
		return params
	}
	g := params.Graph()
	h, w := params.Shape().Dim(0), params.Shape().Dim(1)
	for i, p := range r.exp.Postproc {
		amount := Reshape(Slice(amounts, AxisRange(i, i+1)))
		color := Reshape(Const(g, []float32{float32(p.Color[0]), float32(p.Color[1]), float32(p.Color[2])}), 1, 1, 3)
		switch p.Kind {
		case PostprocBlur:
			sigma := Const(g, []float32{float32(p.Sigma)})
			blurred := Squeeze(GaussianBlur(InsertAxes(params, 0), sigma, blurRadius(p.Sigma)), 0)
			params = Add(params, Mul(amount, Sub(blurred, params)))
		case PostprocBorder:
			mask := Reshape(borderMask(g, h, w, p.Size), h, w, 1)
			params = Add(params, Mul(Mul(amount, mask), Sub(color, params)))
		case PostprocMean:
			mean := ReduceAndKeep(params, ReduceMean, 0, 1)
			params = Add(params, Mul(amount, Sub(color, mean)))
		}
	}
	return params
}

// nonFinite names the first term of a step's loss terms that is NaN or infinite.
func nonFinite(names []string, terms []float32) string {
	for i, v := range terms {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			if i < len(names) {
				return names[i]
			}
			return fmt.Sprintf("term %d", i)
		}
	}
	return ""
}

// modelInput is the model's window side.
func modelInput(m *clipmodel.Model) int {
	return m.Config.Vision.ImageSize
}
