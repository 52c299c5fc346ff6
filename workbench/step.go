package workbench

import (
	"fmt"
	"math"
	"strings"

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
	input         int // the model's input side
	// pool is, per target, the factor the image is average-pooled by before its windows are
	// sampled, so that zoomed-out windows see every pixel instead of aliasing.
	pool []int
	// postproc is the number of post-processing edits.
	postproc int
}

func newStepPlan(targets []*preparedTarget, width, height, input, postproc int) *stepPlan {
	p := &stepPlan{targets: targets, width: width, height: height, input: input, postproc: postproc}
	for _, t := range targets {
		pool := poolFactor(t.Window, width, height, input)
		if len(t.Geometry) > 0 {
			pool = geometryPool(t.Geometry, input, width, height)
		}
		p.pool = append(p.pool, pool)
	}
	return p
}

// key identifies everything the plan's graph fixes when it is built: the active targets, the
// image size and the pooling factors.
func (p *stepPlan) key() string {
	var parts []string
	for k, t := range p.targets {
		parts = append(parts, fmt.Sprintf("%s/%d", t.Name, p.pool[k]))
	}
	return fmt.Sprintf("%dx%d\x00%s", p.width, p.height, strings.Join(parts, "\x00"))
}

// stepInputs are one step's graph inputs: tensors on the host (T = *tensors.Tensor), nodes in
// the graph (T = *Node).
type stepInputs[T any] struct {
	Params, M, V T
	// LR is the step's learning rate, Count the 1-based step (Adam's bias correction).
	LR, Count T
	RNG       T
	// Postproc holds each post-processing edit's amount [p]; PostprocRows their rows [1, 4].
	Postproc     T
	PostprocRows []T
	Targets      []targetInputs[T]
}

// targetInputs are one active target's inputs.
type targetInputs[T any] struct {
	// Homs are the windows' homographies [n, 9]; Features the embeddings [f, d]; Weights and
	// Active and Scales per feature [f]; Weight the target's scalar weight.
	Homs, Features, Weights, Active, Scales, Weight T
	// Constraints are the constraints' rows [c, 4] (only when the target has constraints).
	Constraints T
	// Transforms are each transform's rows [n, 4].
	Transforms []T
}

// slots lists the inputs in the graph's order, shaping s to the plan.
func (s *stepInputs[T]) slots(plan *stepPlan) []*T {
	out := []*T{&s.Params, &s.M, &s.V, &s.LR, &s.Count, &s.RNG, &s.Postproc}
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
		out = append(out, &ti.Homs, &ti.Features, &ti.Weights, &ti.Active, &ti.Scales, &ti.Weight)
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

// poolFactor is how much smaller than the image a target's smallest window can see it: the
// integer factor of average pooling that keeps sampling from skipping pixels.
func poolFactor(w Window, width, height, input int) int {
	w = w.withDefaults()
	return max(1, int(w.side(input, width, height)*w.Scale[0]/float64(input)))
}

// stepOutputs names the step graph's outputs: the new optimiser state, the loss, its terms,
// whether the updated parameters are all finite, then per target the similarities
// [windows, features] and the features each window won (positive features only).
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
		var in stepInputs[*Node]
		for i, slot := range in.slots(plan) {
			*slot = inputs[i]
		}
		image := r.param.render(in.Params)
		rng := in.RNG
		windows := make([]*Node, len(plan.targets))
		for k, t := range plan.targets {
			source := poolImage(image, plan.pool[k])
			windows[k] = SampleWindows(source, in.Targets[k].Homs, plan.input, t.pad())
			windows[k], rng = applyTransforms(windows[k], t, in.Targets[k].Transforms, rng)
		}
		embeddings := L2Normalize(r.model.ImageFeatures(scope, Concatenate(windows, 0)), -1)

		loss := ScalarZero(in.Params.Graph(), dtypes.Float32)
		var terms, perTarget []*Node
		offset := 0
		for k, t := range plan.targets {
			ti := in.Targets[k]
			emb := Slice(embeddings, AxisRange(offset, offset+t.BatchSize))
			offset += t.BatchSize
			sims, won, featureLoss := targetLoss(t, emb, ti.Features, ti.Weights, ti.Active, ti.Scales)
			featureLoss = Mul(featureLoss, ti.Weight)
			terms = append(terms, featureLoss)
			loss = Add(loss, featureLoss)
			if len(t.Constraints) > 0 {
				constraintTerms := constraintLosses(t.Constraints, windows[k], image, ti.Constraints)
				terms = append(terms, constraintTerms)
				loss = Add(loss, ReduceAllSum(constraintTerms))
			}
			perTarget = append(perTarget, sims, won)
		}
		grad := Gradient(loss, in.Params)[0]
		opt, _ := LookupOptimizer(r.exp.Optimizer)
		newParams, m, v := opt.Update(in.Params, grad, in.M, in.V, in.LR, in.Count)
		newParams = r.param.project(newParams)
		if len(r.exp.Postproc) > 0 {
			newParams = r.postprocess(newParams, in.Postproc, in.PostprocRows, rng)
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
