package workbench

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
)

// Version is clipwork's version, recorded with every run.
const Version = "0.1.0"

// Experiment describes one image generation run: the image, how it is optimised, and the
// targets that pull windows of it towards CLIP features. The CLI and the notebooks
// share it; Defaults fills what is left unset.
type Experiment struct {
	// Model names the CLIP model (see clipmodel.Load); empty means the embedded default.
	Model string
	// Ensemble, when it lists models, replaces Model: every target's loss is the weighted sum of
	// each model's loss on the same windows (see Models).
	Ensemble []ModelChoice
	// Seed makes every random choice of the run reproducible.
	Seed uint64
	// Steps is the number of optimisation steps (CLIPig's epochs).
	Steps int
	// Width and Height are the final image size in pixels.
	Width, Height int
	// Interpolation is the filter the image is resized with when the resolution changes:
	// "cubic" (default), "linear" or "nearest" (CLIPig's interpolation).
	Interpolation string
	// Resolution, when set, is the image size at each step (CLIPig's resolution expression, such
	// as `224 if t < .2 else 448`); the image is resampled when it changes.
	Resolution [2]Value
	// Stages make the resolution grow: the image is each stage's size until the stage's end,
	// in order, and Width x Height after the last; it is upscaled in between.
	Stages []Stage
	// Learnrate multiplies the optimiser's usual rate (1 means "the usual");
	// LearnrateScale (a Value of time) multiplies it further.
	Learnrate, LearnrateScale Value
	// Optimizer names one of Optimizers (default adam).
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

// withRates is env with the optimiser's learning rate and its scale at env's time (CLIPig's
// lr and lrs variables).
func (e *Experiment) withRates(env Env) Env {
	env.LRScale = e.LearnrateScale.At(env)
	if opt, ok := LookupOptimizer(e.Optimizer); ok {
		env.LR = opt.Learnrate[e.Parameterization.Kind] * e.Learnrate.At(env) * env.LRScale
	}
	return env
}

// periodicValue is a value that must be finite at the steps where all its periods are active
// (its target's, its transform's or constraint's): CLIPig evaluates it there only.
type periodicValue struct {
	Value
	periods []Period
}

// namedValues are the values that must be finite at every step where they are active (learning
// rate and its scale, active targets' and their features' weights and scales, geometric and
// pixel transforms', constraints' and post-processing's values), by the names that reports give
// them.
func (e *Experiment) namedValues() map[string]periodicValue {
	values := map[string]periodicValue{"learnrate": {Value: e.Learnrate}, "learnrate_scale": {Value: e.LearnrateScale}}
	add := func(vs []Value, what string, periods ...Period) {
		for i, v := range vs {
			values[fmt.Sprintf("%s value %d", what, i+1)] = periodicValue{v, periods}
		}
	}
	addExtra := func(extra [][]Value, params []Param, what string, periods ...Period) {
		for k, p := range params[:min(len(params), len(extra))] {
			add(extra[k], what+" "+p.Name, periods...)
		}
	}
	for t := range e.EnabledTargets() {
		one := func(name string, v Value, periods ...Period) {
			values[name] = periodicValue{v, append(periods, t.Period)}
		}
		one(fmt.Sprintf("target %q weight", t.Name), t.Weight)
		for _, f := range t.Features {
			one(fmt.Sprintf("target %q feature %q weight", t.Name, f.Label), f.Weight)
			one(fmt.Sprintf("target %q feature %q scale", t.Name, f.Label), f.Scale)
		}
		for j, g := range t.Geometry {
			if kind, ok := LookupGeometric(g.Kind); ok {
				addExtra(g.Values, kind.Params, fmt.Sprintf("target %q geometric transform %d (%s)", t.Name, j+1, g.Kind), t.Period)
			}
		}
		for j, tr := range t.Transforms {
			what := fmt.Sprintf("target %q transform %d (%s)", t.Name, j+1, tr.Kind)
			add(tr.Values, what, t.Period, tr.Period)
			if kind, ok := LookupTransform(tr.Kind); ok {
				addExtra(tr.Extra, kind.Extra, what, t.Period, tr.Period)
			}
		}
		if t.AntiText != nil {
			one(fmt.Sprintf("target %q anti-text weight", t.Name), t.AntiText.Weight)
		}
		for j, c := range t.Constraints {
			what := fmt.Sprintf("target %q constraint %d (%s)", t.Name, j+1, c.Kind)
			one(what+" weight", c.Weight, c.Period)
			one(what+" target", c.Target, c.Period)
			add(c.Above, what+" above", t.Period, c.Period)
			add(c.Below, what+" below", t.Period, c.Period)
			if kind, ok := LookupConstraint(c.Kind); ok {
				addExtra(c.Extra, kind.Extra, what, t.Period, c.Period)
			}
		}
	}
	for i, p := range e.Postproc {
		what := fmt.Sprintf("postproc %d (%s)", i+1, p.Kind)
		values[what+" amount"] = periodicValue{p.Amount, []Period{p.Period}}
		add(p.Values, what, p.Period)
		if kind, ok := LookupTransform(p.Kind); ok {
			addExtra(p.Extra, kind.Extra, what, p.Period)
		}
		if g := p.Geometric; g != nil {
			if kind, ok := LookupGeometric(g.Kind); ok {
				addExtra(g.Values, kind.Params, what, p.Period)
			}
		}
	}
	for name, v := range values {
		if !v.IsSet() {
			delete(values, name)
		}
	}
	return values
}

// EnabledTargets are the targets switched on (active: true): CLIPig sets up none that is
// switched off, so nothing of one is checked, embedded or read until it is switched on.
func (e *Experiment) EnabledTargets() iter.Seq[*Target] { return enabled(e.Targets) }

// enabled are the targets of targets that are switched on.
func enabled(targets []Target) iter.Seq[*Target] {
	return func(yield func(*Target) bool) {
		for i := range targets {
			if !targets[i].Disabled && !yield(&targets[i]) {
				return
			}
		}
	}
}

// numberProblems refuses the experiment's plain numbers that would fail at a step or be
// ignored there: NaN or infinite init noise, FFT decay or window ranges, an init resolution
// with a side below 1, a transform listed after more geometric transforms than its target has.
func (e *Experiment) numberProblems(add func(string, ...any)) {
	finite := func(what string, values ...float64) {
		if slices.ContainsFunc(values, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
			add("%s must be finite numbers, got %v", what, values)
		}
	}
	finite("init mean", e.Init.Mean[:]...)
	finite("init std", e.Init.Std[:]...)
	if r := e.Init.Resolution; r != [2]int{} && (r[0] < 1 || r[1] < 1) {
		add("init resolution %dx%d: give both sides, each at least 1, or none for the image's", r[0], r[1])
	}
	finite("the fft parameterization's decay", e.Parameterization.Decay)
	for t := range e.EnabledTargets() {
		w := t.Window
		finite(fmt.Sprintf("target %q window's size, scale, rotate, centre and perspective", t.Name), w.Size,
			w.Scale[0], w.Scale[1], w.Rotate[0], w.Rotate[1], w.CenterX[0], w.CenterX[1], w.CenterY[0], w.CenterY[1], w.Perspective)
		for j, tr := range t.Transforms {
			if tr.After < 0 || tr.After > len(t.Geometry) {
				add("target %q transform %d (%s) comes after %d geometric transforms, and the target has %d",
					t.Name, j+1, tr.Kind, tr.After, len(t.Geometry))
			}
		}
	}
}

// nonFiniteValues reports the values of namedValues that are NaN or infinite at one of envs
// (checkedMoments before a run, the step's where one stopped), each at the first.
func (e *Experiment) nonFiniteValues(envs []Env) []error {
	values := e.namedValues()
	var errs []error
	reported := map[string]bool{} // where written: one value filling several (sigma: 1/(1-t)) is one error
	for _, name := range slices.Sorted(maps.Keys(values)) {
		v := values[name]
		for i, env := range envs {
			if err := nonFiniteValue(name, v, env); err != nil {
				if i > 0 {
					err = e.firstNonFinite(name, v, envs[i-1].Step+1, env.Step, err)
				}
				if v.Where == "" || !reported[v.Where] {
					errs = append(errs, err)
				}
				reported[v.Where] = true
				break
			}
		}
	}
	return errs
}

// maxStepsSearched bounds the steps firstNonFinite evaluates.
const maxStepsSearched = 10000

// firstNonFinite is the report of v at the first of steps from to to (where it fails with err)
// at which it is NaN or infinite, so that a value checked at a few moments is reported at the
// step it first fails; err where more than maxStepsSearched steps lie between.
func (e *Experiment) firstNonFinite(name string, v periodicValue, from, to int, err error) error {
	if to-from > maxStepsSearched {
		return err
	}
	for step := from; step < to; step++ {
		if early := nonFiniteValue(name, v, e.momentAt(step)); early != nil {
			return early
		}
	}
	return err
}

// checkedMoments are the environments of the first step, the last and nine between, at which
// the checks before a run evaluate the experiment's values.
func (e *Experiment) checkedMoments() []Env {
	envs := moments(e.Steps)
	for i, env := range envs {
		envs[i] = e.momentAt(env.Step)
	}
	return envs
}

// momentAt is the environment of a step: its time, image size, seed and learning rates.
func (e *Experiment) momentAt(step int) Env {
	env := TimeAt(step, e.Steps)
	env.Width, env.Height = e.SizeAt(step)
	env.Seed = e.Seed
	return e.withRates(env)
}

// nonFiniteValue reports v, named name, where it is active and NaN or infinite at env, with the
// reason where v tells it.
func nonFiniteValue(name string, v periodicValue, env Env) error {
	if !allActive(v.periods, env) {
		return nil
	}
	x := v.At(env)
	if !math.IsNaN(x) && !math.IsInf(x, 0) {
		return nil
	}
	if v.Where != "" {
		name += " (" + v.Where + ")"
	}
	if why := v.Why(env); why != nil {
		return fmt.Errorf("%s is %v at step %d: %w", name, x, env.Step, why)
	}
	return fmt.Errorf("%s is %v at step %d (%s)", name, x, env.Step, v.Expr)
}

// SizeAt is the image size in effect at a step: the resolution expression's, the stage's, or
// Width x Height.
func (e Experiment) SizeAt(step int) (int, int) {
	if e.Resolution[0].IsSet() {
		env := TimeAt(step, e.Steps)
		env.Width, env.Height, env.Seed = e.Width, e.Height, e.Seed
		side := func(v Value) int {
			if x := v.At(env); !math.IsNaN(x) { // min and max would pass NaN on
				return int(max(min(x, 1<<40), 8))
			}
			return 8
		}
		return side(e.Resolution[0]), side(e.Resolution[1])
	}
	for _, s := range e.Stages {
		if step < s.Until.Step(e.Steps) {
			return s.Width, s.Height
		}
	}
	return e.Width, e.Height
}

// Sizes are the distinct image sizes of the run, in order of first use (the resolution is
// sampled at up to 1000 steps of a longer run; stages change it at their ends).
func (e Experiment) Sizes() [][2]int {
	var sizes [][2]int
	add := func(w, h int) {
		if !slices.Contains(sizes, [2]int{w, h}) {
			sizes = append(sizes, [2]int{w, h})
		}
	}
	samples := min(e.Steps, 1000)
	for i := range samples {
		add(e.SizeAt(int(float64(i) * float64(e.Steps) / float64(samples))))
	}
	add(e.SizeAt(e.Steps - 1))
	for _, s := range e.Stages {
		add(e.SizeAt(s.Until.Step(e.Steps)))
	}
	if !e.Resolution[0].IsSet() {
		for _, s := range e.Stages {
			add(s.Width, s.Height)
		}
		add(e.Width, e.Height)
	}
	return sizes
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

// Interpolations are the resize filters, the default first.
var Interpolations = []string{"cubic", "linear", "nearest"}

// Parameterizations are the parameterisation kinds, the default first.
var Parameterizations = keys(paramKinds, func(k *paramKind) string { return k.key })

// Parameterization chooses the image's representation.
type Parameterization struct {
	// Kind is ParamPixels (default) or ParamFFT.
	Kind string
	// Decay is the FFT spectrum's 1/f exponent (default 1).
	Decay float64
}

// DefaultInitMean and DefaultInitStd are CLIPig's initial noise, in every channel.
var (
	DefaultInitMean = [3]float64{0.5, 0.5, 0.5}
	DefaultInitStd  = [3]float64{0.1, 0.1, 0.1}
)

// Init is the starting image: noise of a mean and standard deviation per channel, or an image
// file; either at Resolution first, if given, then resized to the image.
type Init struct {
	// Mean and Std are the noise's per channel. With an Image, a Mean or Std other than zero maps
	// its pixels to pixel*Std + Mean, as CLIPig does; both zero keep the image as it is.
	Mean, Std [3]float64
	// Given marks Mean and Std as set even where both are zero (a black start); without it, and
	// without an Image, zero Mean and Std take CLIPig's noise (DefaultInitMean, DefaultInitStd).
	Given bool
	// Resolution is the width and height the noise is drawn at, or the image file resized to,
	// before it is resized to the image (CLIPig's init.resolution).
	Resolution [2]int
	// Image is an image file (PNG, JPEG, GIF, BMP, TIFF or WebP) to start from, resized to the image size.
	Image string
}

// Resolve makes the experiment ready to run: it fills the defaults and makes every check that
// needs no model, returning every problem it finds. `clipwork check` and NewRun both call it.
func (e *Experiment) Resolve() error {
	e.Defaults()
	return errors.Join(e.Validate(), e.initImageProblem(), e.inactiveFeatureProblems())
}

// Validate checks an experiment after Defaults and returns every problem it finds.
func (e *Experiment) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Steps < 1 || e.Steps > MaxSteps {
		add("steps must be from 1 to %d, got %d", MaxSteps, e.Steps)
		return errors.Join(errs...) // the checks below go over the run's steps
	}
	sizes := e.Sizes()
	sizeProblems(append(sizes, e.Init.Resolution), add)
	if e.Width < 8 || e.Height < 8 {
		add("resolution %dx%d is too small (at least 8x8)", e.Width, e.Height)
	}
	for i, s := range e.Stages {
		if s.Width < 8 || s.Height < 8 {
			add("stage %d: resolution %dx%d is too small", i+1, s.Width, s.Height)
		}
	}
	moments := e.checkedMoments()
	problems := e.nonFiniteValues(moments)
	if len(problems) == 0 { // a NaN value also leaves a degenerate map: said once, where written
		problems = e.degenerateTransforms(moments)
	}
	for _, err := range problems {
		add("%w", err)
	}
	e.ensembleProblems(add)
	e.numberProblems(add)
	checkChoice(add, "optimizer", e.Optimizer, OptimizerNames()...)
	if len(sizes) > 1 { // CLIPig reads the interpolation only where the resolution changes
		checkChoice(add, "interpolation", e.Interpolation, Interpolations...)
	}
	checkChoice(add, "parameterization", e.Parameterization.Kind, Parameterizations...)
	if len(e.Targets) == 0 {
		add("no targets: an experiment needs at least one target with a feature or a constraint")
	}
	for t := range e.EnabledTargets() {
		for _, err := range t.problems() {
			add("target %q: %w", t.Name, err)
		}
	}
	if len(e.Targets) > 0 && !slices.ContainsFunc(e.Targets, func(t Target) bool {
		return !t.Disabled && t.activeAtSomeStep(e.Steps)
	}) {
		add("no target is active at any step of the run's %d: check the targets' start, end and active", e.Steps)
	}
	for _, p := range e.Postproc {
		if err := p.validate(); err != nil {
			add("%w", err)
		}
	}
	if e.Parameterization.Kind == ParamFFT {
		for _, s := range sizes {
			if s[0]%2 != 0 {
				add("the fft parameterization needs an even width at every step, and the image is %dx%d at some: "+
					"make the width even (%d), or use parameterization: pixels", s[0], s[1], s[0]+1)
				break
			}
		}
	}
	if len(e.Postproc) > 0 && e.Parameterization.Kind == ParamFFT {
		add("postproc edits pixels, and the fft parameterization has none: drop postproc or use pixels")
	}
	return errors.Join(errs...)
}

func checkChoice(add func(string, ...any), what, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		add("%s %q is not one of %s", what, value, strings.Join(allowed, ", "))
	}
}

// uniqueTargetNames renames each target that does not keep its name to the first of NAME-2,
// NAME-3, ... that no target has; the first target given a name keeps it (named says which
// were given one rather than a default), else the first with it. CLIPig's names only label
// statistics, so two targets may share one; clipwork's statistics, charts and settings tell
// targets apart by name.
func uniqueTargetNames(targets []Target, named []bool) {
	keeper, taken := map[string]int{}, map[string]bool{}
	for i, t := range targets {
		if k, ok := keeper[t.Name]; !ok || named[i] && !named[k] {
			keeper[t.Name] = i
		}
		taken[t.Name] = true
	}
	for i := range targets {
		t := &targets[i]
		if keeper[t.Name] == i {
			continue
		}
		name := t.Name
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d", t.Name, n)
		}
		t.renamedFrom, t.Name, taken[name] = t.Name, name, true
	}
}

// DefaultSteps is a run's length where the experiment gives none, CLIPig's default epochs.
const DefaultSteps = 300

// Defaults fills every unset field with its default.
func (e *Experiment) Defaults() {
	if e.Steps == 0 {
		e.Steps = DefaultSteps
	}
	if e.Width == 0 && e.Height == 0 {
		e.Width, e.Height = 224, 224
	}
	e.Learnrate = e.Learnrate.Or(1)
	e.LearnrateScale = e.LearnrateScale.Or(1)
	if e.Interpolation == "" {
		e.Interpolation = Interpolations[0]
	}
	if e.Optimizer == "" {
		e.Optimizer = "adam"
	}
	if e.Parameterization.Kind == "" {
		e.Parameterization.Kind = ParamPixels
	}
	if e.Parameterization.Decay == 0 {
		e.Parameterization.Decay = 1
	}
	if e.Init.Mean == [3]float64{} && e.Init.Std == [3]float64{} && e.Init.Image == "" && !e.Init.Given {
		e.Init.Mean, e.Init.Std = DefaultInitMean, DefaultInitStd
	}
	named := make([]bool, len(e.Targets))
	for i := range e.Targets {
		named[i] = e.Targets[i].Name != ""
		e.Targets[i].defaults(i)
	}
	uniqueTargetNames(e.Targets, named)
	for i := range e.Postproc {
		p := &e.Postproc[i]
		p.Amount = p.Amount.Or(1)
		if p.Geometric == nil {
			p.Transform = p.Transform.withDefaults()
		}
	}
}
