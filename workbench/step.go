package workbench

import (
	"fmt"
	"math"
	"slices"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/ml/model"
)

// stepPlan is the static shape of one optimisation step: which targets are active and the
// image size. One graph is compiled per plan; everything that changes from step to step
// (window geometry, weights, learning rate, random seeds) enters as inputs.
type stepPlan struct {
	targets       []*preparedTarget
	width, height int
	// sizes are the models' distinct input sides, largest first: windows are drawn for the
	// first and scaled to each.
	sizes []int
	// pool is, per target and size, the factor the image is average-pooled by before its
	// windows are sampled, so that zoomed-out windows see every pixel instead of aliasing.
	pool [][]int
	// postproc is the number of post-processing edits, moments the optimiser's moments.
	postproc, moments int
	// names are the loss terms' names (see termNames); exec the compiled step, once built.
	names []string
	exec  *model.Exec
}

func newStepPlan(targets []*preparedTarget, width, height int, sizes []int, postproc, moments int) *stepPlan {
	p := &stepPlan{targets: targets, width: width, height: height, sizes: sizes, postproc: postproc, moments: moments}
	for _, t := range targets {
		pools := make([]int, len(sizes))
		for j, size := range sizes {
			pools[j] = poolFactor(t.Window, width, height, sizes[0], size)
			if t.placedByGeometry() {
				pools[j] = geometryPool(t.Geometry, sizes[0], size, width, height)
			}
		}
		p.pool = append(p.pool, pools)
	}
	p.names = termNames(p)
	return p
}

// stepInputs are one step's graph inputs: tensors on the host (T = *tensors.Tensor), nodes in
// the graph (T = *Node).
type stepInputs[T any] struct {
	// Params are the image's parameters, Moments the optimiser's state (see Optimizer).
	Params  T
	Moments []T
	// LR is the step's learning rate, Count the 1-based step (Adam's bias correction).
	LR, Count T
	RNG       T
	// Postproc holds each post-processing edit's amount [p]; PostprocRows their rows [1, rowColumns].
	Postproc     T
	PostprocRows []T
	Targets      []targetInputs[T]
}

// targetInputs are one active target's inputs.
type targetInputs[T any] struct {
	// Homs are the windows' homographies [n, 9], one per input size; Features the embeddings
	// [f, d], one per model; Weights and Active and Scales per feature [f]; Weight the target's
	// scalar weight.
	Homs, Features                  []T
	Weights, Active, Scales, Weight T
	// Constraints are the constraints' rows [c, constraintColumns] (only when the target has constraints).
	Constraints T
	// Transforms are each transform's rows [n, rowColumns].
	Transforms []T
}

// slots lists the inputs in the graph's order, shaping s to the plan.
func (s *stepInputs[T]) slots(plan *stepPlan) []*T {
	s.Moments = resize(s.Moments, plan.moments)
	out := []*T{&s.Params}
	for i := range s.Moments {
		out = append(out, &s.Moments[i])
	}
	out = append(out, &s.LR, &s.Count, &s.RNG, &s.Postproc)
	if len(s.PostprocRows) != plan.postproc {
		s.PostprocRows = make([]T, plan.postproc)
	}
	for i := range s.PostprocRows {
		out = append(out, &s.PostprocRows[i])
	}
	if len(s.Targets) != len(plan.targets) {
		s.Targets = make([]targetInputs[T], len(plan.targets))
	}
	for k, t := range plan.targets {
		ti := &s.Targets[k]
		ti.Homs = resize(ti.Homs, len(plan.sizes))
		ti.Features = resize(ti.Features, len(t.features))
		for i := range ti.Homs {
			out = append(out, &ti.Homs[i])
		}
		for i := range ti.Features {
			out = append(out, &ti.Features[i])
		}
		if t.hasFeatures() {
			out = append(out, &ti.Weights, &ti.Active, &ti.Scales)
		}
		out = append(out, &ti.Weight)
		if len(t.Constraints) > 0 {
			out = append(out, &ti.Constraints)
		}
		if len(ti.Transforms) != len(t.Transforms) {
			ti.Transforms = make([]T, len(t.Transforms))
		}
		for j := range ti.Transforms {
			out = append(out, &ti.Transforms[j])
		}
	}
	return out
}

// resize is xs if it has n elements, else n zero values.
func resize[T any](xs []T, n int) []T {
	if len(xs) != n {
		return make([]T, n)
	}
	return xs
}

// poolFactor is how much smaller than the image a target's smallest window can see it: the
// integer factor of average pooling that keeps sampling from skipping pixels. input is the side
// the windows are drawn for, size the side they are sampled at.
func poolFactor(w Window, width, height, input, size int) int {
	w = w.withDefaults()
	return max(1, int(w.side(input, width, height)*w.Scale[0]/float64(size)))
}

// stepOutputs names the step graph's outputs: the new parameters, the loss, its terms,
// whether the update is all finite, the new moments (plan.moments), then per target the
// similarities [windows, features] (the models' weighted mean in an ensemble) and the features
// each window won (anti-text never), and in an ensemble each model's similarities
// (from plan.perTarget()).
const (
	outParams = iota
	outLoss
	outTerms
	outUpdateFinite
	outMoments
)

// perTarget is the index of the first per-target output.
func (p *stepPlan) perTarget() int { return outMoments + p.moments }

// stepGraph builds the step: post-process the image (as CLIPig does before each step's forward
// pass), render it, sample and transform every active target's windows at each input size, run
// them through each model in one batch, select features, add constraints, and update the
// post-processed parameters with the optimiser.
func (r *Run) stepGraph(plan *stepPlan) func(scope *model.Scope, inputs []*Node) []*Node {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		var in stepInputs[*Node]
		for i, slot := range in.slots(plan) {
			*slot = inputs[i]
		}
		params, rng := in.Params, in.RNG
		if len(r.exp.Postproc) > 0 {
			params, rng = r.postprocess(params, in.Postproc, in.PostprocRows, rng)
		}
		image := r.param.render(params)
		windows := r.sampleWindows(plan, image, in, rng)
		embeddings := r.embedWindows(scope, plan, windows)

		loss := ScalarZero(params.Graph(), dtypes.Float32)
		var terms, perTarget []*Node
		offset := 0
		for k, t := range plan.targets {
			ti := in.Targets[k]
			if t.hasFeatures() {
				embs := make([]*Node, len(embeddings))
				for i, e := range embeddings {
					embs[i] = Slice(e, AxisRange(offset, offset+t.BatchSize))
				}
				offset += t.BatchSize
				mean, sims, won, featureLoss := targetLoss(t, embs, ti.Features, r.modelWeights(), ti.Weights, ti.Active, ti.Scales)
				featureLoss = Mul(featureLoss, ti.Weight)
				terms = append(terms, featureLoss)
				loss = Add(loss, featureLoss)
				perTarget = append(perTarget, mean, won)
				if len(sims) > 1 {
					perTarget = append(perTarget, sims...)
				}
			}
			if len(t.Constraints) > 0 { // on the windows of the largest input size
				constraintTerms := Mul(constraintLosses(t.Constraints, windows[0][k], image, ti.Constraints), ti.Weight)
				terms = append(terms, constraintTerms)
				loss = Add(loss, ReduceAllSum(constraintTerms))
			}
		}
		grad := Gradient(loss, params)[0]
		newParams, moments := r.optimizer().Update(params, grad, in.LR, in.Count, in.Moments)
		newParams = r.param.project(newParams)
		total := ReduceAllSum(newParams)
		for _, m := range moments {
			total = Add(total, ReduceAllSum(m))
		}
		outputs := []*Node{newParams, loss, Concatenate(flattenTerms(terms), 0), IsFinite(total)}
		return slices.Concat(outputs, moments, perTarget)
	}
}

// sampleWindows samples and transforms every active target's windows at each input size,
// [size][target], from the same homographies (scaled to the size) and the same random draws,
// from the random state start.
//
// Each size samples the image itself, rather than resizing the windows of the largest, so that
// no model sees windows resampled twice (blurred, and different from a single model's run). The
// windows are in [0, 1], as CLIPig clamps those it gives CLIP: the rendered image is (pixels are
// projected, Fourier ones squashed by a sigmoid), sampling mixes its values, and the pixel
// transforms end clamped (see applyTransforms).
func (r *Run) sampleWindows(plan *stepPlan, image *Node, in stepInputs[*Node], start *Node) [][]*Node {
	windows := make([][]*Node, len(plan.sizes))
	for j, size := range plan.sizes {
		rng := start
		windows[j] = make([]*Node, len(plan.targets))
		for k, t := range plan.targets {
			source := &windowSource{image: image, homs: in.Targets[k].Homs[j], pool: plan.pool[k][j], size: size,
				input: plan.sizes[0], pad: t.pad()}
			windows[j][k], rng = applyTransforms(source.sample(image), t, in.Targets[k].Transforms, rng, source)
		}
	}
	return windows
}

// windowSource is how a target's windows are sampled from the image: pooled, then warped
// through their homographies to size x size. input is the side their rows were drawn for.
type windowSource struct {
	image, homs       *Node
	pool, size, input int
	pad               string
}

// sample samples the windows from plane, the image or a plane of its size [h, w, c].
func (s *windowSource) sample(plane *Node) *Node {
	return SampleWindows(poolImage(plane, s.pool), s.homs, s.size, s.pad)
}

// embedWindows runs each model on the windows of its input size of the targets with features,
// in one batch: the normalised embeddings [windows, d], one per model (none without such
// targets).
func (r *Run) embedWindows(scope *model.Scope, plan *stepPlan, windows [][]*Node) []*Node {
	if !slices.ContainsFunc(plan.targets, (*preparedTarget).hasFeatures) {
		return nil
	}
	out := make([]*Node, len(r.members))
	for i, m := range r.members {
		j := slices.Index(plan.sizes, modelInput(m.Model))
		var seen []*Node
		for k, t := range plan.targets {
			if t.hasFeatures() {
				seen = append(seen, windows[j][k])
			}
		}
		features := m.Model.ImageFeatures(memberScope(scope, r.members, i), Concatenate(seen, 0))
		out[i] = L2Normalize(features, -1)
	}
	return out
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
		if t.hasFeatures() {
			names = append(names, fmt.Sprintf("target %q features", t.Name))
		}
		for _, c := range t.Constraints {
			names = append(names, fmt.Sprintf("target %q constraint %s", t.Name, c.Kind))
		}
	}
	return names
}

// poolImage averages factor x factor blocks of image [height, width, 3].
func poolImage(image *Node, factor int) *Node {
	// A canvas far larger than the image (pad, repeat) may ask for more than the image has.
	factor = min(factor, image.Shape().Dim(0), image.Shape().Dim(1))
	if factor <= 1 {
		return image
	}
	h, w := image.Shape().Dim(0)/factor, image.Shape().Dim(1)/factor
	cropped := Slice(image, AxisRange(0, h*factor), AxisRange(0, w*factor))
	return ReduceMean(Reshape(cropped, h, factor, w, factor, 3), 1, 3)
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
