package workbench

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// preparedTarget is a target with its features embedded once at the start of a run.
type preparedTarget struct {
	Target
	// labels, texts, losses and weights have one entry per feature; anti-text, when on, is the last.
	labels, texts, losses []string
	weights, scales       []Value
	periods               []Period
	// fair are the feature_scale: fair factors (1 for equal).
	fair []float64
	// embeddings are the features' normalised embeddings by each model of the run, in its own
	// space, [model][feature][dim]; features holds each model's as the [feature, dim] tensor
	// every step feeds the graph.
	embeddings [][][]float32
	features   []*tensors.Tensor
	// blurRadius is the static kernel radius of the target's blur transform, if any.
	blurRadius int
}

// prepareTargets embeds every feature of every target with each model.
func prepareTargets(targets []Target, models []*clipmodel.Model) ([]*preparedTarget, error) {
	out := make([]*preparedTarget, len(targets))
	for i, t := range targets {
		out[i] = newPreparedTarget(t)
	}
	for _, m := range models {
		texts, err := embedTexts(targets, m)
		if err != nil {
			return nil, err
		}
		for _, p := range out {
			if err := p.embed(m, texts); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// isAntiText tells whether feature i is the target's anti-text (the last, when it has one).
func (p *preparedTarget) isAntiText(i int) bool { return p.AntiText != nil && i == len(p.labels)-1 }

// newPreparedTarget lists a target's features, anti-text last, without their embeddings; a target
// whose windows would all be alike (see drawsWindows) has one.
func newPreparedTarget(t Target) *preparedTarget {
	if !t.drawsWindows() {
		t.BatchSize = 1 // its windows would all be alike: CLIPig computes one
	}
	p := &preparedTarget{Target: t}
	for _, f := range t.Features {
		p.add(f.Label, f.Text, f.Loss, f.Weight, f.Scale, f.Period)
	}
	if t.AntiText != nil {
		p.add(antiTextLabel, fmt.Sprint(t.AntiText.Prompts), LossCosine, t.AntiText.Weight.negated(), Constant(1), Period{})
	}
	for _, tr := range t.Transforms {
		if kind, _ := LookupTransform(tr.Kind); kind.Radius != nil {
			p.blurRadius = max(p.blurRadius, kind.Radius(tr))
		}
	}
	return p
}

// hasFeatures tells whether CLIP sees the target's windows: a target of constraints alone has
// no features (nor anti-text), and its windows only feed the constraints.
func (p *preparedTarget) hasFeatures() bool { return len(p.labels) > 0 }

func (p *preparedTarget) add(label, text, loss string, weight, scale Value, period Period) {
	p.labels = append(p.labels, label)
	p.scales = append(p.scales, scale)
	p.fair = append(p.fair, 1)
	p.texts = append(p.texts, text)
	p.losses = append(p.losses, loss)
	p.weights = append(p.weights, weight)
	p.periods = append(p.periods, period)
}

// embed adds one model's embeddings of the target's features; texts are its text embeddings.
func (p *preparedTarget) embed(m *clipmodel.Model, texts map[string][]float32) error {
	if !p.hasFeatures() || p.Disabled { // a switched-off target is never run: CLIPig sets up none
		return nil
	}
	var embs [][]float32
	for _, f := range p.Features {
		emb, err := embedFeature(m, f, texts)
		if err != nil {
			return fmt.Errorf("target %q, feature %q: %w", p.Name, f.Label, err)
		}
		embs = append(embs, clipmodel.Unit(emb))
	}
	if p.AntiText != nil {
		emb, err := antiTextDirection(m, p.AntiText.Prompts)
		if err != nil {
			return fmt.Errorf("target %q, anti-text: %w", p.Name, err)
		}
		embs = append(embs, clipmodel.Unit(emb))
	}
	flat := make([]float32, 0, len(embs)*len(embs[0]))
	for _, e := range embs {
		flat = append(flat, e...)
	}
	p.embeddings = append(p.embeddings, embs)
	p.features = append(p.features, tensors.FromFlatDataAndDimensions(flat, len(embs), len(embs[0])))
	return nil
}

// embedTexts embeds every distinct text feature of the targets in batches (a run may have
// thousands), by text.
func embedTexts(targets []Target, m *clipmodel.Model) (map[string][]float32, error) {
	var texts []string
	seen := map[string]bool{}
	for t := range enabled(targets) {
		for _, f := range t.Features {
			if f.Image == "" && !seen[f.Text] {
				seen[f.Text] = true
				texts = append(texts, f.Text)
			}
		}
	}
	embs, err := m.EmbedTexts(texts)
	if err != nil {
		return nil, fmt.Errorf("embedding the text features: %w", err)
	}
	out := make(map[string][]float32, len(embs))
	for _, e := range embs {
		out[e.Text] = e.Embedding
	}
	return out, nil
}

func embedFeature(m *clipmodel.Model, f Feature, texts map[string][]float32) ([]float32, error) {
	if f.Image == "" {
		return texts[f.Text], nil
	}
	img, err := clipmodel.LoadImage(f.Image)
	if err != nil {
		return nil, err
	}
	// CLIPig's reference: "the image is resized to 224x224, ignoring the aspect-ratio".
	embs, err := m.EmbedPixels([][]float32{m.Preprocess.Stretched().Pixels(img)})
	if err != nil {
		return nil, err
	}
	return embs[0], nil
}

// antiTextDirection is the normalised mean of the prompts' normalised embeddings.
func antiTextDirection(m *clipmodel.Model, prompts []string) ([]float32, error) {
	embs, err := m.EmbedTexts(prompts)
	if err != nil {
		return nil, err
	}
	mean := make([]float32, len(embs[0].Embedding))
	for _, e := range embs {
		for i, v := range clipmodel.Unit(e.Embedding) {
			mean[i] += v
		}
	}
	return clipmodel.Unit(mean), nil
}

// maxOverTime is the largest value a Value takes at eleven moments of a run.
func maxOverTime(v Value) float64 {
	m := math.Inf(-1)
	for _, e := range moments(11) {
		m = max(m, v.At(e))
	}
	return m
}

// Selection modes: which of a target's features each window applies.
const (
	SelectAll   = "all"   // every active feature
	SelectBest  = "best"  // the best-matching feature
	SelectWorst = "worst" // the worst-matching feature
	SelectMix   = "mix"   // one direction: the weighted mean of the features
)

// Feature scalings (CLIPig's feature_scale).
const (
	FeatureScaleEqual = "equal" // every similarity counts as it is
	FeatureScaleFair  = "fair"  // similarities scaled to match the initial image equally
)

// Selections are the selection modes, the default first.
var Selections = []string{SelectAll, SelectBest, SelectWorst, SelectMix}

// Loss kinds comparing a window's embedding with a feature's.
const (
	LossCosine    = "cosine"    // 1 - cosine similarity
	LossSpherical = "spherical" // squared great-circle distance on the unit sphere
	LossL1        = "l1"        // 100 times the mean absolute difference of the normalised embeddings, as CLIPig
	LossL2        = "l2"        // 100 times the mean squared difference of the normalised embeddings
)

// Losses are the feature losses, the default first; mae and mse are CLIPig's names of l1 and l2.
var Losses = []string{LossCosine, LossSpherical, LossL1, LossL2, "mae", "mse"}

// lossAliases are CLIPig's other names of losses.
var lossAliases = map[string]string{"mae": LossL1, "mse": LossL2}

// MaxBatchSize is the most windows a target may draw in a step; memory runs out far sooner on
// any model (see CheckMemory), but counts beyond it would overflow the estimate itself.
const MaxBatchSize = 1 << 20

// Target is a set of features that windows of the image are pulled towards (the whole image,
// unless Geometry or Window places them), and constraints on those windows; a target may have
// constraints alone.
type Target struct {
	Name string
	// renamedFrom is the name the target shared with an earlier one (see uniqueTargetNames).
	renamedFrom string
	// Disabled switches the target off (CLIPig's active: false).
	Disabled bool
	Period   Period
	// Weight scales the target's loss, its features' and constraints' (default 1).
	Weight Value
	// BatchSize is the number of windows per step (default 1, as in CLIPig).
	BatchSize int
	// Select is SelectAll (default), SelectBest, SelectWorst or SelectMix.
	Select string
	// FeatureScale is CLIPig's feature_scale: "equal" (default) or "fair", which scales each
	// feature's similarity so that all match the initial image equally.
	FeatureScale string
	Features     []Feature
	// Window places the windows (clipwork's own geometry), unless Geometry is given. Without
	// either, every window is the whole image scaled to the model's input, as in CLIPig.
	Window Window
	// Geometry are CLIPig's geometric transforms, in order; when given they place the windows.
	Geometry    []Geometric
	Transforms  []Transform
	Constraints []Constraint
	// AntiText pushes the windows away from a direction of text-like prompts (nil: off).
	AntiText *AntiText
}

// Feature is one CLIP feature: the embedding of a text or an image.
type Feature struct {
	// Label names the feature in reports (default: the text or the file name).
	Label string
	Text  string
	// Image is an image file (PNG, JPEG, GIF, BMP, TIFF or WebP) whose embedding is the feature.
	Image string
	// Weight scales the feature's loss (default 1); a negative weight pushes away.
	Weight Value
	// Scale multiplies the feature's similarity where select best and worst compare them
	// (CLIPig's scale, default 1).
	Scale  Value
	Period Period
	// Loss is LossCosine (default), LossSpherical, LossL1 or LossL2.
	Loss string
}

// DefaultAntiTextPrompts are the prompts whose mean direction AntiText pushes away from.
var DefaultAntiTextPrompts = []string{"text", "letters", "watermark"}

// AntiText is a negative feature: the mean direction of prompts describing text in images.
type AntiText struct {
	Prompts []string
	// Weight is how hard windows are pushed away (default 0.5).
	Weight Value
}

// placedByGeometry tells whether CLIPig's geometric transforms place the target's windows: when
// it has some, or has neither them nor a Window (an empty chain: the whole image).
func (t *Target) placedByGeometry() bool {
	return len(t.Geometry) > 0 || t.Window == (Window{})
}

// drawsWindows tells whether a target's windows differ within a step: clipwork's window, a
// random geometric transform, a noise, a transform's range of two values, or a value that draws
// random numbers. CLIPig computes a target whose windows would all be alike once a step,
// whatever its batch_size, and so does clipwork (see newPreparedTarget).
func (t *Target) drawsWindows() bool {
	if !t.placedByGeometry() {
		return true
	}
	for _, g := range t.Geometry {
		if kind, _ := LookupGeometric(g.Kind); kind.Random || slices.ContainsFunc(g.Values, drawsAny) {
			return true
		}
	}
	for _, tr := range t.Transforms {
		kind, _ := LookupTransform(tr.Kind)
		ranged := kind.Range && len(tr.Values) == 2 && tr.Values[0].Expr != tr.Values[1].Expr
		if kind.Noise || ranged || drawsAny(tr.Values) {
			return true
		}
	}
	return false
}

// drawsAny tells whether any of values draws random numbers.
func drawsAny(values []Value) bool { return slices.ContainsFunc(values, Value.Draws) }

// pad is what the target's windows see beyond the image's edges.
func (t *Target) pad() string {
	if t.placedByGeometry() {
		return geometryPad(t.Geometry)
	}
	return t.Window.withDefaults().Pad
}

// activeAtSomeStep tells whether the target's period includes any of a run's steps.
func (t *Target) activeAtSomeStep(steps int) bool { return t.Period.activeAtSomeStep(steps) }

// activeAtSomeStep tells whether the period includes at least one step of a run of steps.
func (p Period) activeAtSomeStep(steps int) bool {
	for step := range steps {
		if p.Active(step, steps) {
			return true
		}
	}
	return false
}

// inactiveFeatureProblems refuses a feature active at no step of the run (start after the last
// step, or end before the first): it would be accepted and never applied.
func (e *Experiment) inactiveFeatureProblems() error {
	var errs []error
	for t := range e.EnabledTargets() {
		for _, f := range t.Features {
			if f.Period == (Period{}) || f.Period.activeAtSomeStep(e.Steps) {
				continue
			}
			errs = append(errs, fmt.Errorf("target %q: feature %q is active at no step of the run's %d: check its start and end",
				t.Name, f.Label, e.Steps))
		}
	}
	return errors.Join(errs...)
}

func (t *Target) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if t.BatchSize < 1 || t.BatchSize > MaxBatchSize {
		add("batch_size must be 1 to %d, got %d", MaxBatchSize, t.BatchSize)
	}
	checkChoice(add, "select", t.Select, Selections...)
	checkChoice(add, "feature_scale", t.FeatureScale, FeatureScaleEqual, FeatureScaleFair)
	if len(t.Features) == 0 && t.AntiText == nil && len(t.Constraints) == 0 {
		hint := ""
		if t.renamedFrom != "" { // perhaps meant to change the earlier target
			hint = fmt.Sprintf(" (it shares the name %q with an earlier target, and is another target, as in CLIPig: "+
				"to change the earlier one, use --set targets.%s.KEY=VALUE)", t.renamedFrom, t.renamedFrom)
		}
		add("no features and no constraints: give at least one text or image, or a constraint%s", hint)
	}
	for _, f := range t.Features {
		if (f.Text == "") == (f.Image == "") {
			add("feature %q: give exactly one of text or image", f.Label)
		}
		if f.Image != "" {
			if err := clipmodel.CheckImageFile(f.Image); err != nil {
				add("feature %q: %w", f.Label, err)
			}
		}
		checkChoice(add, fmt.Sprintf("feature %q loss", f.Label), f.Loss, Losses...)
	}
	if err := t.Window.validate(); err != nil {
		add("window: %w", err)
	}
	if len(t.Geometry) > 0 && t.Window != (Window{}) && t.Window != (Window{}).withDefaults() {
		add("window and perspective are clipwork's own window geometry; they do not combine with CLIPig's "+
			"geometric transforms (%s): use one or the other", t.Geometry[0].Kind)
	}
	for _, g := range t.Geometry {
		if err := g.validate(); err != nil {
			add("%w", err)
		} else if err := geometricSizeProblem(g); err != nil {
			add("%w", err)
		}
	}
	for _, tr := range t.Transforms {
		if err := tr.validate(); err != nil {
			add("%w", err)
		} else if err := transformSizeProblem(tr); err != nil {
			add("%w", err)
		}
	}
	for _, c := range t.Constraints {
		if err := c.validate(); err != nil {
			add("%w", err)
		}
	}
	return errs
}

func (t *Target) defaults(index int) {
	if t.Name == "" {
		t.Name = fmt.Sprintf("target%d", index+1)
	}
	t.Weight = t.Weight.Or(1)
	if t.Window != (Window{}) {
		t.Window = t.Window.withDefaults()
	}
	if t.BatchSize == 0 {
		t.BatchSize = 1
	}
	if t.Select == "" {
		t.Select = SelectAll
	}
	if t.FeatureScale == "" {
		t.FeatureScale = FeatureScaleEqual
	}
	for i := range t.Features {
		f := &t.Features[i]
		f.Weight = f.Weight.Or(1)
		f.Scale = f.Scale.Or(1)
		if f.Loss == "" {
			f.Loss = LossCosine
		}
		if canonical, ok := lossAliases[f.Loss]; ok {
			f.Loss = canonical
		}
		if f.Label == "" {
			f.Label = f.Text
			if f.Label == "" {
				f.Label = f.Image
			}
		}
	}
	if t.AntiText != nil {
		if len(t.AntiText.Prompts) == 0 {
			t.AntiText.Prompts = DefaultAntiTextPrompts
		}
		t.AntiText.Weight = t.AntiText.Weight.Or(0.5)
	}
	for i := range t.Transforms {
		t.Transforms[i] = t.Transforms[i].withDefaults()
	}
	for i := range t.Constraints {
		c := &t.Constraints[i]
		*c = c.withDefaults()
		c.Weight = c.Weight.Or(1)
		if c.Loss == "" {
			c.Loss = "l2"
		}
	}
}

// targetLoss compares a target's window embeddings by each model, embs [n, d], with the
// features in that model's space [f, d], selects which features each window applies from the
// models' weighted mean similarity, and returns that mean [n, f], each model's similarities
// [n, f], the features each window applied but anti-text, [n, f] (its frames), and the target's
// feature loss: the weighted sum of each model's, summed over the windows as CLIPig sums them.
func targetLoss(t *preparedTarget, embs, features []*Node, modelWeights []float64, weights, active, scales *Node) (
	mean *Node, sims []*Node, frames, loss *Node) {
	for k, emb := range embs {
		sims = append(sims, Einsum("nd,fd->nf", emb, features[k]))
	}
	mean = weightedSum(sims, modelWeights, true)
	n, f := mean.Shape().Dim(0), mean.Shape().Dim(1)
	m := newFeatureMasks(weights, active, t.isAntiText)
	losses := make([]*Node, len(embs))
	if t.Select == SelectMix {
		always := BroadcastToDims(m.always, n, f)
		for k, emb := range embs {
			rest := ReduceAllSum(Mul(Mul(always, m.w), featureLosses(t, emb, features[k], sims[k])))
			losses[k] = Add(mixLoss(t, m, emb, features[k]), rest)
		}
		return mean, sims, BroadcastToDims(m.selectable, n, f), weightedSum(losses, modelWeights, false)
	}
	frames = BroadcastToDims(m.selectable, n, f)
	if t.Select == SelectBest || t.Select == SelectWorst {
		frames = m.pick(mean, scales, t.Select == SelectBest)
	}
	applied := Add(frames, BroadcastToDims(m.always, n, f))
	for k, emb := range embs {
		perFeature := featureLosses(t, emb, features[k], sims[k])
		losses[k] = ReduceAllSum(Mul(Mul(applied, m.w), perFeature))
	}
	return mean, sims, frames, weightedSum(losses, modelWeights, false)
}

// weightedSum is the sum of xs weighted by weights, divided by the weights' sum when mean is
// set; a single x of weight 1 (or a mean of one) is returned as it is, so that a run of one
// model computes exactly what it did before ensembles.
func weightedSum(xs []*Node, weights []float64, mean bool) *Node {
	if len(xs) == 1 && (mean || weights[0] == 1) {
		return xs[0]
	}
	var sum *Node
	total := 0.0
	for k, x := range xs {
		term := MulScalar(x, weights[k])
		total += weights[k]
		if sum == nil {
			sum = term
		} else {
			sum = Add(sum, term)
		}
	}
	if mean {
		return DivScalar(sum, total)
	}
	return sum
}

// featureMasks are a target's per-feature weights and masks at a step, as [1, f] rows.
type featureMasks struct {
	w, on *Node
	// selectable are the active features select chooses among (every one but anti-text), always
	// the active anti-text, which every window applies.
	selectable, always *Node
	// anySelectable is 1 when some selectable feature is active, [1, 1].
	anySelectable *Node
}

// newFeatureMasks are the masks of a step's weights and activity [f]; antiText says which
// feature is anti-text.
func newFeatureMasks(weights, active *Node, antiText func(i int) bool) featureMasks {
	f := weights.Shape().Dim(0)
	on := Reshape(active, 1, f)
	anti := make([]float32, f)
	for i := range anti {
		if antiText(i) {
			anti[i] = 1
		}
	}
	always := Mul(on, Const(on.Graph(), [][]float32{anti}))
	selectable := Sub(on, always)
	return featureMasks{w: Reshape(weights, 1, f), on: on, selectable: selectable, always: always,
		anySelectable: ReduceAndKeep(selectable, ReduceMax, 1)}
}

// pick is the one-hot [n, f] of each window's best (or worst) active feature by the scaled
// similarities sims [n, f], whatever the sign of its weight, as CLIPig picks; all zero when no
// feature is active.
func (m featureMasks) pick(sims, scales *Node, best bool) *Node {
	g := sims.Graph()
	n, f := sims.Shape().Dim(0), sims.Shape().Dim(1)
	fill := Infinity(g, dtypes.Float32, 1)
	if best {
		fill = Infinity(g, dtypes.Float32, -1)
	}
	scaled := Mul(sims, Reshape(scales, 1, f))
	masked := Where(BroadcastToDims(GreaterThan(m.selectable, ZerosLike(m.selectable)), n, f), scaled, BroadcastToDims(fill, n, f))
	var index *Node
	if best {
		index = ArgMax(masked, 1)
	} else {
		index = ArgMin(masked, 1)
	}
	return Mul(OneHot(index, f, dtypes.Float32), m.anySelectable)
}

// mixLoss is select mix's loss for one model, summed over the windows, as CLIPig computes it:
// the active features' weighted sum over the sum of their weights' magnitudes is one feature,
// compared with each window by the first feature's loss kind, at weight 1.
func mixLoss(t *preparedTarget, m featureMasks, emb, features *Node) *Node {
	weighted := Mul(m.selectable, m.w)
	magnitude := ReduceAllSum(Abs(weighted))
	mixed := Div(Einsum("xf,fd->xd", weighted, features), MaxScalar(magnitude, 1e-12))
	norm := MaxScalar(Sqrt(ReduceAndKeep(Square(mixed), ReduceSum, -1)), 1e-12)
	sims := Div(Einsum("nd,xd->nx", emb, mixed), norm)
	loss := ReduceAllSum(pairLosses(t.losses[0], emb, mixed, sims))
	return Mul(loss, ConvertDType(GreaterThan(magnitude, ZerosLike(magnitude)), dtypes.Float32))
}

// featureLosses is the loss of every window against every feature, [n, f], by each feature's
// loss kind.
func featureLosses(t *preparedTarget, emb, features, sims *Node) *Node {
	g := emb.Graph()
	f := features.Shape().Dim(0)
	var out *Node
	for _, kind := range []string{LossCosine, LossSpherical, LossL1, LossL2} {
		mask := make([]float32, f)
		used := false
		for i, l := range t.losses {
			if l == kind {
				mask[i], used = 1, true
			}
		}
		if !used {
			continue
		}
		term := Mul(pairLosses(kind, emb, features, sims), Reshape(Const(g, mask), 1, f))
		if out == nil {
			out = term
		} else {
			out = Add(out, term)
		}
	}
	return out
}

// pairLosses is the loss of a kind between each window embedding emb [n, d] and each feature
// [f, d], [n, f], given their cosine similarities sims [n, f]. CLIPig scales l1 and l2 by 100.
func pairLosses(kind string, emb, features, sims *Node) *Node {
	diff := func() *Node { return Sub(InsertAxes(emb, 1), InsertAxes(features, 0)) }
	switch kind {
	case LossSpherical: // 2 asin(|a - b| / 2)^2 for unit vectors is half the squared angle between them
		return DivScalar(Square(arccos(sims)), 2)
	case LossL1:
		return MulScalar(ReduceMean(Abs(diff()), -1), 100)
	case LossL2:
		return MulScalar(ReduceMean(Square(diff()), -1), 100)
	}
	return OneMinus(sims)
}

// arccos is acos(c) for c in [-1, 1]. GoMLX has no acos, and its Atan2 has no gradient, so the
// value comes from Atan2 and the gradient, -1 / sqrt(1 - c^2), is attached by hand.
func arccos(c *Node) *Node {
	sine := Sqrt(MaxScalar(OneMinus(Square(c)), 1e-12))
	value := StopGradient(Atan2(sine, c))
	slope := StopGradient(Neg(Reciprocal(sine)))
	return Add(value, Mul(Sub(c, StopGradient(c)), slope))
}

// setFairScales sets CLIPig's feature_scale: fair factors from the similarities of the initial
// image to each feature: 1 / similarity, divided by the largest. images are the image's
// normalised embedding by each model; in an ensemble the similarity is the models' weighted mean.
func (p *preparedTarget) setFairScales(images [][]float32, weights []float64) {
	largest := math.Inf(-1)
	for i := range p.fair {
		var sim, total float64
		for k, image := range images {
			sim += weights[k] * dot(p.embeddings[k][i], image)
			total += weights[k]
		}
		p.fair[i] = 1 / (sim / total)
		largest = max(largest, p.fair[i])
	}
	for i := range p.fair {
		p.fair[i] /= largest
	}
}

func dot(a, b []float32) float64 {
	var sum float64
	for j, v := range a {
		sum += float64(v) * float64(b[j])
	}
	return sum
}
