package workbench

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Run is one execution of an Experiment: the image's state, the statistics so far, and the
// loop that advances it and tells observers. One goroutine uses a run at a time: Run, Advance
// and Restore refuse to start while another is under way (ErrConcurrentUse), and what a run
// holds is read between steps or from its observers, which Run calls between steps.
type Run struct {
	exp Experiment
	// members are the run's models and their weights; model is the first, whose backend runs
	// the step, and store holds every member's weights (see ensembleStore).
	members []Member
	model   *clipmodel.Model
	store   *model.Store
	param   imageParam
	targets []*preparedTarget

	// step is the number of steps done.
	step          int
	width, height int
	params        *tensors.Tensor
	moments       []*tensors.Tensor // the optimiser's, in the order of its Moments
	// updates counts the optimiser's steps since its moments started (at 0, or a resize: CLIPig
	// makes a new optimiser there), Adam's bias correction's count; steps without an active
	// target make none.
	updates int
	stats   *Stats
	// plans are the step plans met so far, by image size and active targets, each with its
	// compiled step.
	plans  map[string]*stepPlan
	render *Exec
	// postprocOnly post-processes the image at a step without active targets (made when needed).
	postprocOnly *Exec
	started      time.Time
	elapsed      time.Duration
	windowsDone  int
	// busy is set while Run, Advance or Restore changes the run, which one goroutine does at a
	// time.
	busy atomic.Bool
}

// ErrConcurrentUse reports a call that would change a run while another goroutine's Run,
// Advance or Restore is changing it.
var ErrConcurrentUse = errors.New("the run is busy: another goroutine is running or restoring it (use one Run from one goroutine, and observers to watch it)")

// exclusive runs fn as the only change to the run under way, or returns ErrConcurrentUse.
func (r *Run) exclusive(fn func() error) error {
	if !r.busy.CompareAndSwap(false, true) {
		return ErrConcurrentUse
	}
	defer r.busy.Store(false)
	return fn()
}

// NewRun prepares a run of one model: it resolves the experiment (see Resolve), embeds every
// feature with the model and draws the initial image.
func NewRun(exp Experiment, m *clipmodel.Model) (*Run, error) {
	return NewEnsembleRun(exp, []Member{{Model: m, Weight: 1}})
}

// NewEnsembleRun prepares a run of several models (see LoadModels): every target's loss is the
// weighted sum of each member's loss on the same windows, each member seeing them at its own
// input size. The run keeps a copy of exp: changing exp afterwards leaves the run as it is.
func NewEnsembleRun(exp Experiment, members []Member) (*Run, error) {
	if err := memberProblem(members); err != nil {
		return nil, err
	}
	exp = exp.clone()
	if err := exp.Resolve(); err != nil {
		return nil, err
	}
	var models []*clipmodel.Model
	var configs []*clipmodel.Config
	for _, m := range members {
		models, configs = append(models, m.Model), append(configs, m.Model.Config)
	}
	if err := CheckWindowsFit(exp, inputSizes(members)...); err != nil {
		return nil, err
	}
	if err := CheckMemory(exp, configs, true); err != nil {
		return nil, err
	}
	targets, err := prepareTargets(exp.Targets, models)
	if err != nil {
		return nil, err
	}
	store, err := ensembleStore(members)
	if err != nil {
		return nil, err
	}
	r := &Run{exp: exp, members: members, model: members[0].Model, store: store,
		param: newImageParam(exp.Parameterization), targets: targets,
		plans: map[string]*stepPlan{}, stats: newStats(targets, modelNames(members))}
	r.width, r.height = r.sizeAt(0)
	if err := r.initialize(); err != nil {
		return nil, err
	}
	if err := r.fairScales(); err != nil {
		return nil, err
	}
	return r, nil
}

// modelWeights are the members' weights, in order.
func (r *Run) modelWeights() []float64 {
	weights := make([]float64, len(r.members))
	for i, m := range r.members {
		weights[i] = m.Weight
	}
	return weights
}

// fairScales sets the feature_scale: fair targets' factors from the initial image, embedded
// whole as CLIPig embeds it.
func (r *Run) fairScales() error {
	var embeddings [][]float32
	for _, t := range r.targets {
		if t.FeatureScale != FeatureScaleFair || t.Disabled {
			continue
		}
		if embeddings == nil {
			img, err := r.Image()
			if err != nil {
				return err
			}
			for _, m := range r.members {
				squeeze := m.Model.Preprocess.Stretched() // the whole image squeezed to the input, as CLIPig resizes it
				squeeze.Bilinear = true
				embs, err := m.Model.EmbedPixels([][]float32{squeeze.Pixels(img)})
				if err != nil {
					return err
				}
				embeddings = append(embeddings, clipmodel.Unit(embs[0]))
			}
		}
		t.setFairScales(embeddings, r.modelWeights())
	}
	return nil
}

// CheckWindowsFit rejects targets whose windows, at their smallest, would still see beyond
// every side of the image: padding then fills most of the window, which is rarely meant.
// Zoomed-out (full-frame) and tiling (wrap) windows are meant to, and pass. It is the one check
// that needs the models (their input sides, inputs: every model of an ensemble); NewRun makes
// it, and clipwork check where it can know the inputs without loading the models.
func CheckWindowsFit(exp Experiment, inputs ...int) error {
	for _, input := range inputs {
		if err := checkWindowsFit(exp, input); err != nil {
			return err
		}
	}
	return nil
}

func checkWindowsFit(exp Experiment, input int) error {
	width, height := exp.Width, exp.Height
	for _, s := range exp.Stages {
		width, height = min(width, s.Width), min(height, s.Height)
	}
	for _, t := range exp.Targets {
		w := t.Window
		if w.FullFrame || w.Pad == PadWrap || t.placedByGeometry() {
			continue
		}
		if smallest := w.side(input, width, height) * w.Scale[0]; smallest > float64(max(width, height)) {
			return fmt.Errorf("target %q: its windows (%.0f pixels at the smallest) are larger than the %dx%d image; "+
				"zoom out with window: {full_frame: true}, scale them down with window: {scale: [...]}, tile with "+
				"window: {pad: wrap}, place them with CLIPig's transforms (resize, center_crop, ...), "+
				"or raise the resolution", t.Name, smallest, width, height)
		}
	}
	return nil
}

// Experiment is a copy of the run's experiment with every default filled in (changing it
// leaves the run as it is).
func (r *Run) Experiment() Experiment { return r.exp.clone() }

// ModelNames names the run's models (clipmodel.Model.Name), one or an ensemble's, in order.
func (r *Run) ModelNames() []string { return modelNames(r.members) }

// Steps is the run's length in steps.
func (r *Run) Steps() int { return r.exp.Steps }

// Seed is the run's seed.
func (r *Run) Seed() uint64 { return r.exp.Seed }

// Step is the number of steps done so far.
func (r *Run) Step() int { return r.step }

// Done tells whether the run has made all its steps.
func (r *Run) Done() bool { return r.step >= r.exp.Steps }

// Stats are the run's frame counts, similarities and loss history.
func (r *Run) Stats() *Stats { return r.stats }

// Size is the image's current width and height.
func (r *Run) Size() (width, height int) { return r.width, r.height }

// NextSize is the image size of the next step: Size, or the size the resolution changes to
// there, which that step resizes the image to first. A finished run's is its Size.
func (r *Run) NextSize() (width, height int) {
	if r.Done() {
		return r.Size()
	}
	return r.sizeAt(r.step)
}

// sizeAt is the image size in effect at a step.
func (r *Run) sizeAt(step int) (int, int) {
	return r.exp.SizeAt(step)
}

// StepResult is what one step reports.
type StepResult struct {
	Step int
	Loss float64
	// Terms are the loss's parts, named by TermNames.
	Terms     []float64
	TermNames []string
	Duration  time.Duration
	Windows   int
}

// ErrNonFinite reports a loss that became NaN or infinite; the image keeps its last good state.
var ErrNonFinite = errors.New("the loss is not finite")

// Advance makes one optimisation step.
func (r *Run) Advance() (result *StepResult, err error) {
	err = r.exclusive(func() error {
		result, err = r.advance()
		return err
	})
	return result, err
}

// advance makes one optimisation step.
func (r *Run) advance() (*StepResult, error) {
	if r.Done() {
		return nil, fmt.Errorf("the run has made all its %d steps", r.exp.Steps)
	}
	start := time.Now()
	if w, h := r.NextSize(); w != r.width || h != r.height {
		if err := r.resize(w, h); err != nil {
			return nil, fmt.Errorf("step %d: %w", r.step, err)
		}
	}
	env := r.env(r.step)
	plan := r.plan(env)
	if len(plan.targets) == 0 {
		return r.idleStep(env, start)
	}
	exec, err := r.exec(plan)
	if err != nil {
		return nil, err
	}
	inputs, err := r.inputs(plan, env)
	if err != nil {
		return nil, err
	}
	outputs, err := exec.Exec(inputs...)
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", r.step, err)
	}
	names := plan.names
	terms := tensors.MustCopyFlatData[float32](outputs[outTerms])
	if bad := nonFinite(names, terms); bad != "" {
		return nil, r.nonFiniteError(env, fmt.Sprintf(" in %s (the image keeps its last good state)", bad),
			"a value of its transforms, weights or constraints may be NaN or infinite at this step, or the learnrate too high")
	}
	if !tensors.MustCopyFlatData[bool](outputs[outUpdateFinite])[0] {
		return nil, r.nonFiniteError(env, fmt.Sprintf(": the update made the image NaN or infinite (learning rate %g; "+
			"the image keeps its last good state)", env.LR), "the learnrate may be too high")
	}
	r.params, r.moments = outputs[outParams], outputs[outMoments:plan.perTarget()]
	r.updates++
	loss := float64(tensors.MustCopyFlatData[float32](outputs[outLoss])[0])
	r.stats.record(r.step, loss, plan, outputs[plan.perTarget():])
	result := &StepResult{Step: r.step, Loss: loss, TermNames: names, Duration: time.Since(start)}
	for _, t := range terms {
		result.Terms = append(result.Terms, float64(t))
	}
	for _, t := range plan.targets {
		result.Windows += t.BatchSize
	}
	r.step++
	r.elapsed += result.Duration
	r.windowsDone += result.Windows
	return result, nil
}

// idleStep passes a step at which no target is active (one that starts later, say): the image
// is only post-processed, as CLIPig post-processes it before it looks for active targets; the
// step adds nothing to the statistics nor to the optimiser's steps.
func (r *Run) idleStep(env Env, start time.Time) (*StepResult, error) {
	if len(r.exp.Postproc) > 0 {
		if err := r.postprocessIdle(env); err != nil {
			return nil, fmt.Errorf("step %d: %w", r.step, err)
		}
	}
	result := &StepResult{Step: r.step, Duration: time.Since(start)}
	r.step++
	r.elapsed += result.Duration
	return result, nil
}

// postprocStepInputs are a step's first inputs, the image's parameters, the graph's random
// state and the post-processing's, and the step's host random source after drawing them.
func (r *Run) postprocStepInputs(env Env) (stepInputs[*tensors.Tensor], *rand.Rand, error) {
	rng := r.stepRand(env.Step)
	state, err := RNGStateFromSeed(int64(rng.Uint64() >> 1))
	if err != nil {
		return stepInputs[*tensors.Tensor]{}, nil, err
	}
	in := stepInputs[*tensors.Tensor]{Params: r.params, RNG: state}
	in.Postproc, in.PostprocRows, err = r.postprocInputs(env, rng)
	return in, rng, err
}

// postprocessIdle post-processes the image alone, with the step's inputs as the step graph
// would take them.
func (r *Run) postprocessIdle(env Env) error {
	if r.postprocOnly == nil {
		exec, err := NewExec(r.model.Backend, func(inputs []*Node) *Node {
			params, _ := r.postprocess(inputs[0], inputs[1], inputs[3:], inputs[2])
			return params
		})
		if err != nil {
			return err
		}
		r.postprocOnly = exec
	}
	in, _, err := r.postprocStepInputs(env)
	if err != nil {
		return err
	}
	args := []any{in.Params, in.Postproc, in.RNG}
	for _, row := range in.PostprocRows {
		args = append(args, row)
	}
	out, err := r.postprocOnly.Exec(args...)
	if err != nil {
		return err
	}
	r.params = out[0]
	return nil
}

// nonFiniteError is ErrNonFinite at the current step, what went wrong, and either the values
// that are NaN or infinite there, with the reasons their expressions give, or else the hint.
func (r *Run) nonFiniteError(env Env, what, hint string) error {
	if bad := r.exp.nonFiniteValues([]Env{env}); len(bad) > 0 {
		return fmt.Errorf("step %d: %w%s: %w", r.step, ErrNonFinite, what, errors.Join(bad...))
	}
	return fmt.Errorf("step %d: %w%s: %s", r.step, ErrNonFinite, what, hint)
}

// env is the time and state at a step, for Values.
func (r *Run) env(step int) Env {
	e := TimeAt(step, r.exp.Steps)
	e.Width, e.Height, e.Seed = r.width, r.height, r.exp.Seed
	return r.exp.withRates(e)
}

// plan is the step's static structure: the targets active at this step and the image size,
// built once per distinct structure.
func (r *Run) plan(env Env) *stepPlan {
	var active []*preparedTarget
	mask := make([]byte, len(r.targets))
	for i, t := range r.targets {
		if !t.Disabled && t.Period.Active(env.Step, env.Steps) {
			active = append(active, t)
			mask[i] = 1
		}
	}
	key := fmt.Sprintf("%dx%d/%s", r.width, r.height, mask)
	if p, ok := r.plans[key]; ok {
		return p
	}
	p := newStepPlan(active, r.width, r.height, inputSizes(r.members), len(r.exp.Postproc), len(r.optimizer().Moments))
	r.plans[key] = p
	return p
}

// exec returns the compiled step for a plan's structure, compiling it the first time.
func (r *Run) exec(plan *stepPlan) (*model.Exec, error) {
	if plan.exec != nil {
		return plan.exec, nil
	}
	e, err := model.NewExec(r.model.Backend, r.store, r.stepGraph(plan))
	if err != nil {
		return nil, err
	}
	plan.exec = e
	return e, nil
}

// optimizer is the experiment's optimiser (Resolve checked its name).
func (r *Run) optimizer() *Optimizer {
	o, _ := LookupOptimizer(r.exp.Optimizer)
	return o
}

// stepRand is the host's random source for a step: a function of the seed and step only, so a
// resumed run draws exactly what an uninterrupted one would.
func (r *Run) stepRand(step int) *rand.Rand {
	return rand.New(rand.NewPCG(r.exp.Seed, uint64(step)))
}

// inputs assembles the step graph's inputs in the plan's order.
func (r *Run) inputs(plan *stepPlan, env Env) ([]any, error) {
	in, rng, err := r.postprocStepInputs(env)
	if err != nil {
		return nil, err
	}
	in.Moments, in.LR, in.Count = r.moments, tensors.FromScalar(float32(env.LR)), tensors.FromScalar(float32(r.updates+1))
	for k := range plan.targets {
		ti, err := r.targetInputs(plan, k, env, rng)
		if err != nil {
			return nil, err
		}
		in.Targets = append(in.Targets, ti)
	}
	slots := in.slots(plan)
	out := make([]any, len(slots))
	for i, slot := range slots {
		out[i] = *slot
	}
	return out, nil
}

// targetInputs draws the windows of the plan's target k and evaluates its time-dependent values.
func (r *Run) targetInputs(plan *stepPlan, k int, env Env, rng *rand.Rand) (targetInputs[*tensors.Tensor], error) {
	t := plan.targets[k]
	n, f := t.BatchSize, len(t.labels)
	input := plan.sizes[0]
	homs := make([][]float32, len(plan.sizes))
	var windowCanvases []canvases // per window, for CLIPig's geometry
	for w := range n {
		var h Homography
		if t.placedByGeometry() { // the geometry draws the whole window; Window has no say
			var c canvases
			h, c = sampleGeometry(t.Geometry, env.In(t.Name, "window", w), rng, input, r.width, r.height)
			windowCanvases = append(windowCanvases, c)
		} else {
			h = t.Window.Sample(rng, input, r.width, r.height)
		}
		if !h.Valid() {
			return targetInputs[*tensors.Tensor]{}, fmt.Errorf("step %d: target %q: its windows' geometry is no valid "+
				"mapping (%v): a window or geometric transform value is NaN, infinite, zero or far too large at this step", env.Step, t.Name, h)
		}
		for j, size := range plan.sizes {
			homs[j] = appendHomography(homs[j], h, input, size, plan.pool[k][j])
		}
	}
	ti := targetInputs[*tensors.Tensor]{Features: t.features}
	for _, h := range homs {
		ti.Homs = append(ti.Homs, tensors.FromFlatDataAndDimensions(h, n, 9))
	}
	weights, active, scales, similarity := featureValues(t, env, r.stats.Target(t.Name).Features)
	te := env // the target's weight and constraints see its features' mean similarity, as in CLIPig
	te.Similarity = similarity
	ti.Weight = tensors.FromScalar(float32(t.Weight.At(te.In(t.Name, "weight"))))
	if t.hasFeatures() {
		ti.Weights, ti.Active = tensors.FromFlatDataAndDimensions(weights, f), tensors.FromFlatDataAndDimensions(active, f)
		ti.Scales = tensors.FromFlatDataAndDimensions(scales, f)
	}
	if len(t.Constraints) > 0 {
		ti.Constraints = constraintInputs(t.Constraints, te.In(t.Name, "constraints"))
	}
	for j, tr := range t.Transforms {
		ti.Transforms = append(ti.Transforms, transformInputs(tr, n, env.In(t.Name, "transform", j), rng, windowCanvases))
	}
	return ti, nil
}

// featureValues evaluates a target's feature weights, scales and activity at env. As in CLIPig,
// a weight's similarity is 100 times its feature's similarity times its scales (feature_scale
// fair's and its own), here at the previous step's windows, since the weights go into the step;
// the mean of those similarities is what the target's weight and constraints see.
func featureValues(t *preparedTarget, env Env, last []*FeatureStats) (weights, active, scales []float32, mean float64) {
	f := len(t.labels)
	weights, active, scales = make([]float32, f), make([]float32, f), make([]float32, f)
	for i := range t.labels {
		scale := t.fair[i] * t.scales[i].At(env.In(t.Name, "scale", i))
		fe := env.In(t.Name, "weight", i)
		fe.Similarity = 100 * last[i].SimilarityLast * scale
		mean += fe.Similarity / float64(f)
		weights[i], scales[i] = float32(t.weights[i].At(fe)), float32(scale)
		if t.periods[i].Active(env.Step, env.Steps) {
			active[i] = 1
		}
	}
	return weights, active, scales, mean
}

// appendHomography appends a window's homography h, drawn for a side of input, as the
// homography of the same window sampled at size from the image pooled by pool.
func appendHomography(homs []float32, h Homography, input, size, pool int) []float32 {
	scale := 1 / float64(pool)
	for i, c := range h {
		if i < 6 {
			c *= scale // into the pooled image's coordinates
		}
		if size != input && i%3 != 2 {
			c *= float64(input) / float64(size) // from the size's window pixels to the input's
		}
		homs = append(homs, float32(c))
	}
	return homs
}

// Run advances the run to its end, telling observers about every step; it stops early, with
// ctx's error, when ctx is cancelled (the state stays consistent for saving and resuming).
func (r *Run) Run(ctx context.Context, observers ...Observer) error {
	return r.exclusive(func() error { return r.run(ctx, observers) })
}

// run is Run's loop.
func (r *Run) run(ctx context.Context, observers []Observer) error {
	notify := func(e Event) {
		for _, o := range observers {
			if o != nil {
				o.Observe(e)
			}
		}
	}
	notify(Event{Kind: EventStart, Run: r})
	for !r.Done() {
		if ctx.Err() != nil {
			err := context.Cause(ctx)
			notify(Event{Kind: EventStop, Run: r, Err: err})
			return err
		}
		result, err := r.advance()
		if err != nil {
			notify(Event{Kind: EventStop, Run: r, Err: err})
			return err
		}
		notify(Event{Kind: EventStep, Run: r, Result: result})
	}
	notify(Event{Kind: EventEnd, Run: r})
	return nil
}

// WindowsPerSecond is the run's throughput so far.
func (r *Run) WindowsPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.windowsDone) / r.elapsed.Seconds()
}

// Elapsed is the time spent in steps so far.
func (r *Run) Elapsed() time.Duration { return r.elapsed }

// Image renders the current image.
func (r *Run) Image() (*image.NRGBA, error) {
	pixels, err := r.renderPixels()
	if err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, r.width, r.height))
	for y := range r.height {
		for x := range r.width {
			i := (y*r.width + x) * 3
			img.SetNRGBA(x, y, color.NRGBA{toByte(pixels[i]), toByte(pixels[i+1]), toByte(pixels[i+2]), 255})
		}
	}
	return img, nil
}

// renderPixels is the current image as [height*width*3] values in [0, 1].
func (r *Run) renderPixels() ([]float32, error) {
	if r.render == nil {
		var err error
		r.render, err = NewExec(r.model.Backend, func(params *Node) *Node {
			return r.param.render(params)
		})
		if err != nil {
			return nil, err
		}
	}
	out, err := r.render.Exec(r.params)
	if err != nil {
		return nil, err
	}
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

func toByte(v float32) uint8 {
	return uint8(min(max(v*255+0.5, 0), 255))
}
