package workbench

import (
	"fmt"
	"math"
	"os"

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
	// embeddings are the features' normalised embeddings, [feature][dim]; features holds them
	// as the [feature, dim] tensor every step feeds the graph.
	embeddings [][]float32
	features   *tensors.Tensor
	// blurRadius is the static kernel radius of the target's blur transform, if any.
	blurRadius int
}

// prepareTargets embeds every feature of every target with the model.
func prepareTargets(targets []Target, m *clipmodel.Model) ([]*preparedTarget, error) {
	texts, err := embedTexts(targets, m)
	if err != nil {
		return nil, err
	}
	out := make([]*preparedTarget, len(targets))
	for i, t := range targets {
		p := &preparedTarget{Target: t}
		for _, f := range t.Features {
			emb, err := embedFeature(m, f, texts)
			if err != nil {
				return nil, fmt.Errorf("target %q, feature %q: %w", t.Name, f.Label, err)
			}
			p.add(f.Label, f.Text, f.Loss, f.Weight, f.Scale, f.Period, emb)
		}
		if t.AntiText != nil {
			emb, err := antiTextDirection(m, t.AntiText.Prompts)
			if err != nil {
				return nil, fmt.Errorf("target %q, anti-text: %w", t.Name, err)
			}
			weight := t.AntiText.Weight
			negative := Func("-("+weight.Expr+")", func(e Env) float64 { return -weight.At(e) })
			p.add("anti-text", fmt.Sprint(t.AntiText.Prompts), LossCosine, negative, Constant(1), Period{}, emb)
		}
		for _, tr := range t.Transforms {
			if kind, _ := LookupTransform(tr.Kind); kind.Radius != nil {
				p.blurRadius = max(p.blurRadius, kind.Radius(tr))
			}
		}
		flat := make([]float32, 0, len(p.embeddings)*len(p.embeddings[0]))
		for _, e := range p.embeddings {
			flat = append(flat, e...)
		}
		p.features = tensors.FromFlatDataAndDimensions(flat, len(p.embeddings), len(p.embeddings[0]))
		out[i] = p
	}
	return out, nil
}

func (p *preparedTarget) add(label, text, loss string, weight, scale Value, period Period, embedding []float32) {
	p.labels = append(p.labels, label)
	p.scales = append(p.scales, scale)
	p.fair = append(p.fair, 1)
	p.texts = append(p.texts, text)
	p.losses = append(p.losses, loss)
	p.weights = append(p.weights, weight)
	p.periods = append(p.periods, period)
	p.embeddings = append(p.embeddings, normalize(embedding))
}

// embedTexts embeds every distinct text feature of the targets in batches (a run may have
// thousands), by text.
func embedTexts(targets []Target, m *clipmodel.Model) (map[string][]float32, error) {
	var texts []string
	seen := map[string]bool{}
	for _, t := range targets {
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
	embs, err := m.EmbedImageFiles([]string{f.Image})
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
		for i, v := range normalize(e.Embedding) {
			mean[i] += v
		}
	}
	return normalize(mean), nil
}

func normalize(v []float32) []float32 {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	norm = math.Sqrt(norm)
	out := make([]float32, len(v))
	for i, x := range v {
		if norm > 0 {
			out[i] = float32(float64(x) / norm)
		}
	}
	return out
}

// maxOverTime is the largest value a Value takes at eleven moments of a run.
func maxOverTime(v Value) float64 {
	m := math.Inf(-1)
	for i := range 11 {
		m = max(m, v.At(Env{T: float64(i) / 10}))
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
	LossL1        = "l1"        // mean absolute difference of the normalised embeddings
	LossL2        = "l2"        // mean squared difference of the normalised embeddings
)

// Losses are the feature losses, the default first; mae and mse are CLIPig's names of l1 and l2.
var Losses = []string{LossCosine, LossSpherical, LossL1, LossL2, "mae", "mse"}

// lossAliases are CLIPig's other names of losses.
var lossAliases = map[string]string{"mae": LossL1, "mse": LossL2}

// Target is a set of features that random windows of the image are pulled towards.
type Target struct {
	Name string
	// Disabled switches the target off (CLIPig's active: false).
	Disabled bool
	Period   Period
	// Weight scales the target's loss (default 1).
	Weight Value
	// BatchSize is the number of windows per step (default 4).
	BatchSize int
	// Select is SelectAll (default), SelectBest, SelectWorst or SelectMix.
	Select string
	// FeatureScale is CLIPig's feature_scale: "equal" (default) or "fair", which scales each
	// feature's similarity so that all match the initial image equally.
	FeatureScale string
	Features     []Feature
	// Window places the windows (clipwork's own geometry), unless Geometry is given.
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
	// Image is a PNG or JPEG file whose embedding is the feature.
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

// pad is what the target's windows see beyond the image's edges.
func (t *Target) pad() string {
	if len(t.Geometry) > 0 {
		return geometryPad(t.Geometry)
	}
	return t.Window.withDefaults().Pad
}

// activeAtSomeStep tells whether the target's period includes any of a run's steps.
func (t *Target) activeAtSomeStep(steps int) bool {
	for step := range steps {
		if t.Period.Active(step, steps) {
			return true
		}
	}
	return false
}

func (t *Target) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if t.BatchSize < 1 {
		add("batch_size must be at least 1, got %d", t.BatchSize)
	}
	checkChoice(add, "select", t.Select, Selections...)
	checkChoice(add, "feature_scale", t.FeatureScale, FeatureScaleEqual, FeatureScaleFair)
	if len(t.Features) == 0 {
		add("no features: give at least one text or image")
	}
	for _, f := range t.Features {
		if (f.Text == "") == (f.Image == "") {
			add("feature %q: give exactly one of text or image", f.Label)
		}
		if _, err := os.Stat(f.Image); f.Image != "" && err != nil {
			add("feature %q: %w", f.Label, err)
		}
		checkChoice(add, fmt.Sprintf("feature %q loss", f.Label), f.Loss, Losses...)
	}
	if err := t.Window.validate(); err != nil {
		add("window: %w", err)
	}
	if len(t.Geometry) > 0 && t.Window != (Window{}).withDefaults() {
		add("window and perspective are clipwork's own window geometry; they do not combine with CLIPig's "+
			"geometric transforms (%s): use one or the other", t.Geometry[0].Kind)
	}
	for _, g := range t.Geometry {
		if err := g.validate(); err != nil {
			add("%w", err)
		}
	}
	for _, tr := range t.Transforms {
		if err := tr.validate(); err != nil {
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
	t.Window = t.Window.withDefaults()
	if t.BatchSize == 0 {
		t.BatchSize = 4
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

// targetLoss compares a target's window embeddings [n, d] with its features [f, d], selects
// which features each window applies, and returns the similarities [n, f], the applied mask
// [n, f] and the target's feature loss (mean over its windows), and which positive features
// each window won, [n, f]: the frames (negative features apply to every window but win none).
func targetLoss(t *preparedTarget, emb, features, weights, active, scales *Node) (sims, won, loss *Node) {
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
		scaled := Mul(sims, Reshape(scales, 1, f))
		masked := Where(BroadcastToDims(GreaterThan(positive, ZerosLike(positive)), n, f), scaled, BroadcastToDims(fill, n, f))
		var index *Node
		if best {
			index = ArgMax(masked, 1)
		} else {
			index = ArgMin(masked, 1)
		}
		return Mul(OneHot(index, f, dtypes.Float32), anyPositive)
	}
	var applied *Node
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
		return sims, BroadcastToDims(positive, n, f), Add(mixed, DivScalar(rest, n))
	}
	won = Mul(applied, BroadcastToDims(positive, n, f))
	return sims, won, DivScalar(ReduceAllSum(Mul(Mul(applied, w), perFeature)), n)
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
			// 2 asin(|a - b| / 2)^2 for unit vectors is half the squared angle between them.
			return DivScalar(Square(arccos(sims)), 2)
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

// arccos is acos(c) for c in [-1, 1]. GoMLX has no acos, and its Atan2 has no gradient, so the
// value comes from Atan2 and the gradient, -1 / sqrt(1 - c^2), is attached by hand.
func arccos(c *Node) *Node {
	sine := Sqrt(MaxScalar(OneMinus(Square(c)), 1e-12))
	value := StopGradient(Atan2(sine, c))
	slope := StopGradient(Neg(Reciprocal(sine)))
	return Add(value, Mul(Sub(c, StopGradient(c)), slope))
}

// setFairScales sets CLIPig's feature_scale: fair factors from the similarities of the initial
// image to each feature: 1 / similarity, divided by the largest.
func (p *preparedTarget) setFairScales(image []float32) {
	largest := math.Inf(-1)
	for i, e := range p.embeddings {
		var sim float64
		for j, v := range e {
			sim += float64(v) * float64(image[j])
		}
		p.fair[i] = 1 / sim
		largest = max(largest, p.fair[i])
	}
	for i := range p.fair {
		p.fair[i] /= largest
	}
}
