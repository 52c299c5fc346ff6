package workbench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Version is clipwork's version, recorded with every run.
const Version = "0.1.0"

// Experiment describes one image generation run: the image, how it is optimised, and the
// targets that pull random windows of it towards CLIP features. The CLI and the notebooks
// share it; Defaults fills what is left unset.
type Experiment struct {
	// Model names the CLIP model (see clipmodel.Load); empty means the embedded default.
	Model string
	// Seed makes every random choice of the run reproducible.
	Seed uint64
	// Steps is the number of optimisation steps (CLIPig's epochs).
	Steps int
	// Width and Height are the final image size in pixels.
	Width, Height int
	// Stages make the resolution grow: the image is each stage's size until the stage's end,
	// in order, and Width x Height after the last; it is upscaled in between.
	Stages []Stage
	// Learnrate multiplies the optimiser's usual rate (1 means "the usual");
	// LearnrateScale (a Value of time) multiplies it further.
	Learnrate, LearnrateScale Value
	// Optimizer is "adam" (default), "rmsprop" or "sgd".
	Optimizer string
	// Parameterization is how the image is represented while optimising.
	Parameterization Parameterization
	// Init is the image the run starts from.
	Init Init
	// Targets pull the image towards their features.
	Targets []Target
	// Postproc edits the image between steps.
	Postproc []Postproc
}

// Stage is an earlier, smaller resolution of a progressive run, in effect until Until.
type Stage struct {
	Until         Moment
	Width, Height int
}

// Parameterization kinds.
const (
	ParamPixels = "pixels" // RGB values optimised directly
	ParamFFT    = "fft"    // lucid's Fourier-space image with 1/f^decay scaling and decorrelated colour
)

// Parameterization chooses the image's representation.
type Parameterization struct {
	// Kind is ParamPixels (default) or ParamFFT.
	Kind string
	// Decay is the FFT spectrum's 1/f exponent (default 1).
	Decay float64
}

// Init is the starting image: noise of a mean and standard deviation, optionally drawn at a
// lower resolution and upscaled, or an image file.
type Init struct {
	Mean, Std float64
	// Resolution draws the noise at this width (height in proportion) and upscales it.
	Resolution int
	// Image is a PNG or JPEG file to start from, resized to the image size.
	Image string
}

// Selection modes: which of a target's features each window applies.
const (
	SelectAll   = "all"   // every active feature
	SelectBest  = "best"  // the best-matching feature
	SelectWorst = "worst" // the worst-matching feature
	SelectMix   = "mix"   // one direction: the weighted mean of the features
)

// Loss kinds comparing a window's embedding with a feature's.
const (
	LossCosine    = "cosine"    // 1 - cosine similarity
	LossSpherical = "spherical" // squared great-circle distance on the unit sphere
	LossL1        = "l1"        // mean absolute difference of the normalised embeddings
	LossL2        = "l2"        // mean squared difference of the normalised embeddings
)

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
	Select      string
	Features    []Feature
	Window      Window
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

// Transform kinds, applied to every window of a target after sampling.
const (
	TransformBlur       = "blur"       // Gaussian blur; sigma drawn per window from Range
	TransformNoise      = "noise"      // Gaussian noise per channel; std drawn per window from Range
	TransformGreyNoise  = "bwnoise"    // the same noise on all channels
	TransformMul        = "mul"        // multiply by Amount (one value, or R G B)
	TransformAdd        = "add"        // add Amount (one value, or R G B)
	TransformMean       = "mean"       // move each window's mean colour to Amount
	TransformSaturation = "saturation" // scale saturation by Amount
	TransformContrast   = "contrast"   // scale contrast by Amount
	TransformEdge       = "edge"       // add Amount times the high-pass image
	TransformClamp      = "clamp"      // clamp to Range
)

// Transform is a pixel transform of a target's windows.
type Transform struct {
	Kind   string
	Period Period
	// Range is [low, high] for per-window random values (blur, noise) or bounds (clamp).
	Range [2]Value
	// Amount is one value, or three for R, G and B.
	Amount []Value
}

// Constraint kinds: extra loss terms on windows or the whole image.
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

// Constraint is an extra loss term. It measures a quantity and penalises it: beyond Above
// and/or below Below (one-sided), or its distance from Target when neither is set.
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

// Postproc kinds: edits of the image parameters between steps (pixels parameterisation).
const (
	PostprocBlur   = "blur"   // blend Amount of a Gaussian blur of Sigma into the image
	PostprocBorder = "border" // pull a border of Size pixels towards Color by Amount
	PostprocMean   = "mean"   // pull the image's mean towards Color by Amount
)

// Postproc edits the image between steps.
type Postproc struct {
	Kind   string
	Period Period
	Amount Value
	Sigma  float64
	Size   int
	Color  [3]float64
}

// Validate checks an experiment after Defaults and returns every problem it finds.
func (e *Experiment) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Steps < 1 {
		add("steps must be at least 1, got %d", e.Steps)
	}
	if e.Width < 8 || e.Height < 8 {
		add("resolution %dx%d is too small (at least 8x8)", e.Width, e.Height)
	}
	for i, s := range e.Stages {
		if s.Width < 8 || s.Height < 8 {
			add("stage %d: resolution %dx%d is too small", i+1, s.Width, s.Height)
		}
	}
	checkChoice(add, "optimizer", e.Optimizer, "adam", "rmsprop", "sgd")
	checkChoice(add, "parameterization", e.Parameterization.Kind, ParamPixels, ParamFFT)
	if e.Init.Std < 0 {
		add("init std %g is negative", e.Init.Std)
	}
	if len(e.Targets) == 0 {
		add("no targets: an experiment needs at least one target with a feature")
	}
	names := map[string]bool{}
	for i := range e.Targets {
		t := &e.Targets[i]
		if names[t.Name] {
			add("target %q: two targets have this name", t.Name)
		}
		names[t.Name] = true
		for _, err := range t.problems() {
			add("target %q: %w", t.Name, err)
		}
	}
	for i, p := range e.Postproc {
		checkChoice(add, fmt.Sprintf("postproc %d", i+1), p.Kind, PostprocBlur, PostprocBorder, PostprocMean)
	}
	if len(e.Postproc) > 0 && e.Parameterization.Kind == ParamFFT {
		add("postproc edits pixels, and the fft parameterization has none: drop postproc or use pixels")
	}
	return errors.Join(errs...)
}

func (t *Target) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if t.BatchSize < 1 {
		add("batch_size must be at least 1, got %d", t.BatchSize)
	}
	checkChoice(add, "select", t.Select, SelectAll, SelectBest, SelectWorst, SelectMix)
	if len(t.Features) == 0 {
		add("no features: give at least one text or image")
	}
	for _, f := range t.Features {
		if (f.Text == "") == (f.Image == "") {
			add("feature %q: give exactly one of text or image", f.Label)
		}
		checkChoice(add, fmt.Sprintf("feature %q loss", f.Label), f.Loss, LossCosine, LossSpherical, LossL1, LossL2)
	}
	if err := t.Window.validate(); err != nil {
		add("window: %w", err)
	}
	for _, tr := range t.Transforms {
		checkChoice(add, "transform", tr.Kind, TransformBlur, TransformNoise, TransformGreyNoise, TransformMul,
			TransformAdd, TransformMean, TransformSaturation, TransformContrast, TransformEdge, TransformClamp)
		if n := len(tr.Amount); n != 0 && n != 1 && n != 3 {
			add("transform %s: amount needs one value or three (R G B), got %d", tr.Kind, n)
		}
	}
	for _, c := range t.Constraints {
		checkChoice(add, "constraint", c.Kind, ConstraintBlur, ConstraintTV, ConstraintSaturation, ConstraintMean,
			ConstraintStd, ConstraintContrast, ConstraintEdgeMean, ConstraintBorder, ConstraintRange)
		checkChoice(add, "constraint "+c.Kind+" loss", c.Loss, "l1", "l2")
	}
	return errs
}

func checkChoice(add func(string, ...any), what, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		add("%s %q is not one of %s", what, value, strings.Join(allowed, ", "))
	}
}

// Defaults fills every unset field with its default.
func (e *Experiment) Defaults() {
	if e.Steps == 0 {
		e.Steps = 300
	}
	if e.Width == 0 && e.Height == 0 {
		e.Width, e.Height = 224, 224
	}
	e.Learnrate = e.Learnrate.Or(1)
	e.LearnrateScale = e.LearnrateScale.Or(1)
	if e.Optimizer == "" {
		e.Optimizer = "adam"
	}
	if e.Parameterization.Kind == "" {
		e.Parameterization.Kind = ParamPixels
	}
	if e.Parameterization.Decay == 0 {
		e.Parameterization.Decay = 1
	}
	if e.Init.Mean == 0 && e.Init.Std == 0 && e.Init.Image == "" {
		e.Init.Mean, e.Init.Std = 0.5, 0.1
	}
	for i := range e.Targets {
		e.Targets[i].defaults(i)
	}
	for i := range e.Postproc {
		e.Postproc[i].Amount = e.Postproc[i].Amount.Or(1)
		if e.Postproc[i].Size == 0 {
			e.Postproc[i].Size = 1
		}
		if e.Postproc[i].Sigma == 0 {
			e.Postproc[i].Sigma = 1
		}
	}
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
	for i := range t.Features {
		f := &t.Features[i]
		f.Weight = f.Weight.Or(1)
		if f.Loss == "" {
			f.Loss = LossCosine
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
	for i := range t.Constraints {
		c := &t.Constraints[i]
		c.Weight = c.Weight.Or(1)
		if c.Loss == "" {
			c.Loss = "l2"
		}
		if c.Size == 0 {
			c.Size = 1
		}
	}
}
