package workbench

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	xdraw "golang.org/x/image/draw"

	"github.com/clipwork/clipwork/clipmodel"
)

func tinyModel(t testing.TB) *clipmodel.Model {
	t.Helper()
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOptimisingRaisesSimilarity runs a small experiment towards one text and checks that the
// windows' similarity to it rises.
func TestOptimisingRaisesSimilarity(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 30, Width: 48, Height: 40,
		Targets: []Target{{Name: "main", BatchSize: 4, Features: []Feature{{Text: "a red circle"}},
			Window: Window{Rotate: [2]float64{-20, 20}, Scale: [2]float64{0.8, 1.2}}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := r.Stats().History
	first := (h[0].Similarities["main"][0] + h[1].Similarities["main"][0]) / 2
	last := (h[len(h)-1].Similarities["main"][0] + h[len(h)-2].Similarities["main"][0]) / 2
	if last < first+0.1 {
		t.Errorf("similarity went from %.3f to %.3f", first, last)
	}
	t.Logf("similarity %.3f -> %.3f", first, last)
}

// runToEnd runs an experiment on the tiny random model to its end.
func runToEnd(t *testing.T, exp Experiment) *Run {
	t.Helper()
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// noisy is a pixel transform that makes a target's windows differ, so that it draws batch_size
// of them.
var noisy = []Transform{{Kind: TransformNoise, Values: []Value{Constant(0.05)}}}

func TestSelectBestCountsEveryWindowOnce(t *testing.T) {
	exp := Experiment{Seed: 2, Steps: 6, Width: 40, Height: 40,
		Targets: []Target{{Name: "best", BatchSize: 5, Select: SelectBest, Transforms: noisy,
			Features: []Feature{{Text: "sword"}, {Text: "cthulhu"}, {Text: "warrior"}}}}}
	ts := runToEnd(t, exp).Stats().Target("best")
	frames, share := 0, 0.0
	for _, f := range ts.Features {
		frames += f.Frames
		share += f.Share
	}
	if ts.Windows != 30 || frames != 30 || share < 0.9999 || share > 1.0001 {
		t.Errorf("%d windows, %d frames, shares summing to %g", ts.Windows, frames, share)
	}
}

func TestSameSeedSameImage(t *testing.T) {
	exp := Experiment{Seed: 3, Steps: 4, Width: 36, Height: 36,
		Targets: []Target{{BatchSize: 2, Features: []Feature{{Text: "a blue square"}},
			Window: Window{Perspective: 0.1, Rotate: [2]float64{-30, 30}},
			Transforms: []Transform{{Kind: TransformNoise, Values: []Value{Constant(0), Constant(0.1)}},
				{Kind: TransformBlur, Values: []Value{Constant(0.5), Constant(1)}}}}}}
	images := make([][]uint8, 3)
	for i := range images {
		if i == 2 {
			exp.Seed = 4
		}
		r, err := NewRun(exp, tinyModel(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		img, err := r.Image()
		if err != nil {
			t.Fatal(err)
		}
		images[i] = img.Pix
	}
	if string(images[0]) != string(images[1]) {
		t.Error("the same seed gave different images")
	}
	if string(images[0]) == string(images[2]) {
		t.Error("different seeds gave the same image")
	}
}

// TestResumeGivesTheSameImage stops a run half-way, after a resize, restores its state into a
// new run and checks the final image equals an uninterrupted run's, with every optimiser's
// moments and a random post-processing edit.
func TestResumeGivesTheSameImage(t *testing.T) {
	m := tinyModel(t)
	for _, optimizer := range OptimizerNames() {
		exp := Experiment{Seed: 5, Steps: 6, Width: 40, Height: 40, Optimizer: optimizer,
			Stages:   []Stage{{Until: AtStep(2), Width: 32, Height: 32}},
			Postproc: []Postproc{{Transform: Transform{Kind: TransformNoise, Values: []Value{Constant(0.02)}}}},
			Targets: []Target{{BatchSize: 2, Select: SelectBest, Features: []Feature{{Text: "red"}, {Text: "blue"}},
				Transforms: []Transform{{Kind: TransformNoise, Values: []Value{Constant(0), Constant(0.05)}}}}}}
		whole, err := NewRun(exp, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := whole.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		first := advancedRun(t, exp, m, 3)
		second, err := NewRun(exp, m)
		if err != nil {
			t.Fatal(err)
		}
		state := first.State()
		if len(state.Moments) > 0 { // a state without one of them is refused, the run left as it was
			lacking := *state
			lacking.Moments = map[string][]float32{}
			if err := second.Restore(&lacking); err == nil || second.Step() != 0 {
				t.Errorf("%s: a state without the optimiser's moments: %v, at step %d", optimizer, err, second.Step())
			}
		}
		if err := second.Restore(state); err != nil {
			t.Fatal(err)
		}
		if err := second.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		a, _ := whole.Image()
		b, _ := second.Image()
		if string(a.Pix) != string(b.Pix) {
			t.Errorf("%s: the resumed run's image differs from the uninterrupted run's", optimizer)
		}
		if whole.Stats().Targets[0].Features[0].Frames != second.Stats().Targets[0].Features[0].Frames {
			t.Errorf("%s: the resumed run's frame counts differ", optimizer)
		}
	}
}

// firstLoss is the loss of the first step of a new run of exp on members.
func firstLoss(t *testing.T, exp Experiment, members ...Member) float64 {
	t.Helper()
	return firstStep(t, exp, members...).Loss
}

// firstStep is the result of the first step of a new run of exp on members.
func firstStep(t *testing.T, exp Experiment, members ...Member) *StepResult {
	t.Helper()
	r, err := NewEnsembleRun(exp, members)
	if err != nil {
		t.Fatal(err)
	}
	result, err := r.Advance()
	if err != nil {
		t.Fatal(err)
	}
	return result
}

// advancedRun is a new run of exp on m advanced by steps.
func advancedRun(t *testing.T, exp Experiment, m *clipmodel.Model, steps int) *Run {
	t.Helper()
	r, err := NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	for range steps {
		if _, err := r.Advance(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestStateIsASnapshot takes a state at step 3 of 6 and runs on: the state keeps step 3's
// statistics, and two runs restored from it go on apart, each from those statistics.
func TestStateIsASnapshot(t *testing.T) {
	m := tinyModel(t)
	exp := Experiment{Seed: 1, Steps: 6, Width: 32, Height: 32, Targets: []Target{{Select: SelectBest,
		Features: []Feature{{Text: "a red circle"}, {Text: "a blue square"}}}}}
	first := advancedRun(t, exp, m, 3)
	state := first.State()
	windows := state.Stats.Targets[0].Windows
	if err := first.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(state.Stats.History) != 3 || state.Stats.Targets[0].Windows != windows {
		t.Fatalf("the state changed with the run: %d steps of history, %d windows (was %d)",
			len(state.Stats.History), state.Stats.Targets[0].Windows, windows)
	}
	var branches []*Run
	for range 2 {
		r, err := NewRun(exp, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(state); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Advance(); err != nil {
			t.Fatal(err)
		}
		branches = append(branches, r)
	}
	for i, r := range branches {
		if n := len(r.Stats().History); n != 4 || r.Stats().Targets[0].Windows != windows+1 {
			t.Errorf("branch %d: %d steps of history, %d windows; want 4 and %d", i, n, r.Stats().Targets[0].Windows, windows+1)
		}
	}
	if len(state.Stats.History) != 3 {
		t.Errorf("restoring changed the state: %d steps of history", len(state.Stats.History))
	}
}

// TestRestoreRefusesAnotherExperimentsState restores states of other experiments (other
// features, another image size) and none: each is refused, the run left at its start.
func TestRestoreRefusesAnotherExperimentsState(t *testing.T) {
	m := tinyModel(t)
	one := Experiment{Seed: 1, Steps: 4, Width: 16, Height: 64, Targets: []Target{{Features: []Feature{{Text: "a"}}}}}
	two := one
	two.Targets = []Target{{Features: []Feature{{Text: "a"}, {Text: "b"}}}}
	wide := one
	wide.Width, wide.Height = 64, 16
	state := advancedRun(t, one, m, 1).State()
	for name, exp := range map[string]Experiment{"two features": two, "64x16": wide} {
		r, err := NewRun(exp, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(state); err == nil || !strings.Contains(err.Error(), "another run") || r.Step() != 0 {
			t.Errorf("%s: a state of one feature at 16x64: %v, at step %d", name, err, r.Step())
		}
		if err := r.Restore(nil); err == nil {
			t.Errorf("%s: no state restored without an error", name)
		}
	}
}

// TestRunKeepsItsOwnExperiment changes the experiment a run was made from, and the copy the run
// gives back: the run's experiment stays as it was, and NewRun fills no defaults into the
// caller's.
func TestRunKeepsItsOwnExperiment(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "a"}},
		Transforms: []Transform{{Kind: TransformAdd, Values: []Value{Constant(0)}}}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if exp.Targets[0].Name != "" {
		t.Errorf("NewRun named the caller's target %q", exp.Targets[0].Name)
	}
	exp.Targets[0].Transforms[0].Values[0] = Constant(0.9)
	given := r.Experiment()
	given.Targets[0].Name = "renamed"
	got := r.Experiment().Targets[0]
	if got.Name == "renamed" || got.Transforms[0].Values[0].Expr != "0" {
		t.Errorf("the run's experiment changed with its caller's: target %q, add %s", got.Name, got.Transforms[0].Values[0].Expr)
	}
}

// TestMembersAreChecked makes runs of a nil model and of weights that are no positive number.
func TestMembersAreChecked(t *testing.T) {
	m := tinyModel(t)
	exp := Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "a"}}}}}
	if _, err := NewRun(exp, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("a nil model: %v", err)
	}
	for _, weight := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := NewEnsembleRun(exp, []Member{{Model: m, Weight: weight}}); err == nil || !strings.Contains(err.Error(), "weight") {
			t.Errorf("weight %v: %v", weight, err)
		}
	}
}

// TestRunRefusesChangesFromItsObservers advances, restores and runs a run from an observer of
// its own Run, while it runs, as a second goroutine would: each refused with ErrConcurrentUse,
// the run going on to its end.
func TestRunRefusesChangesFromItsObservers(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 3, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "a"}}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	var refused []error
	interfere := ObserverFunc(func(e Event) {
		if e.Kind == EventStep {
			_, err := r.Advance()
			refused = append(refused, err, r.Restore(r.State()), r.Run(context.Background()))
		}
	})
	if err := r.Run(context.Background(), nil, interfere); err != nil {
		t.Fatal(err)
	}
	for _, err := range refused {
		if !errors.Is(err, ErrConcurrentUse) {
			t.Errorf("a change during Run: %v, want ErrConcurrentUse", err)
		}
	}
	if len(refused) != 9 || r.Step() != 3 {
		t.Errorf("%d refusals, step %d; want 9 and 3", len(refused), r.Step())
	}
}

// TestInactiveTargetsAreNotSetUp runs beside an inactive target whose image feature is missing,
// with a NaN weight and a feature active at no step, and one with no features: CLIPig sets up
// neither, and so does the run.
func TestInactiveTargetsAreNotSetUp(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "a"}}},
		{Name: "wip", Disabled: true, FeatureScale: FeatureScaleFair, Features: []Feature{{Image: "no/such.png"},
			{Text: "b", Weight: Constant(math.NaN()), Period: Period{Start: AtStep(100)}}}},
		{Name: "empty", Disabled: true}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := r.Stats().Target("wip").Windows; w != 0 {
		t.Errorf("the inactive target drew %d windows", w)
	}
}

// TestPlainNumbersAreChecked resolves experiments with a NaN or infinite init noise, FFT decay,
// window range or anti-text weight, a half-given init resolution and a transform after more
// geometric transforms than its target has: each is refused up front, naming it.
func TestPlainNumbersAreChecked(t *testing.T) {
	nan := math.NaN()
	for want, edit := range map[string]func(*Experiment){
		"init mean":           func(e *Experiment) { e.Init.Mean[1] = nan },
		"init std":            func(e *Experiment) { e.Init.Std = [3]float64{math.Inf(1), 0, 0} },
		"init resolution 5x0": func(e *Experiment) { e.Init.Resolution = [2]int{5, 0} },
		"decay":               func(e *Experiment) { e.Parameterization = Parameterization{Kind: ParamFFT, Decay: nan} },
		"window's size":       func(e *Experiment) { e.Targets[0].Window.Perspective = nan },
		"anti-text weight":    func(e *Experiment) { e.Targets[0].AntiText = &AntiText{Prompts: []string{"x"}, Weight: Constant(nan)} },
		"comes after 2 geometric transforms": func(e *Experiment) {
			e.Targets[0].Transforms = []Transform{{Kind: TransformNoise, Values: consts(0.1), After: 2}}
		},
	} {
		exp := Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{{Name: "a", Features: []Feature{{Text: "x"}}}}}
		edit(&exp)
		if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func TestWindowsLargerThanTheImageAreRejected(t *testing.T) {
	exp := Experiment{Steps: 2, Width: 16, Height: 16, Targets: []Target{{Features: []Feature{{Text: "x"}},
		Window: Window{Scale: [2]float64{1, 1}}}}}
	if _, err := NewRun(exp, tinyModel(t)); err == nil || !strings.Contains(err.Error(), "larger than the 16x16 image") {
		t.Errorf("32-pixel windows on a 16-pixel image: %v", err)
	}
	exp.Targets[0].Window.FullFrame = true
	if _, err := NewRun(exp, tinyModel(t)); err != nil {
		t.Errorf("zoomed-out windows were rejected: %v", err)
	}
}

func TestSelectBestAppliesTheMostSimilarFeature(t *testing.T) {
	exp := Experiment{Seed: 6, Steps: 3, Width: 40, Height: 40,
		Targets: []Target{{Name: "t", BatchSize: 6, Select: SelectBest, Transforms: noisy,
			Features: []Feature{{Text: "red"}, {Text: "green"}, {Text: "blue"}, {Text: "violet"}}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	env := r.env(0)
	plan := r.plan(env)
	exec, err := r.exec(plan)
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := r.inputs(plan, env)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(inputs...)
	if err != nil {
		t.Fatal(err)
	}
	sims := tensors.MustCopyFlatData[float32](out[plan.perTarget()])
	applied := tensors.MustCopyFlatData[float32](out[plan.perTarget()+1])
	for w := range 6 {
		best := 0
		for f := range 4 {
			if sims[w*4+f] > sims[w*4+best] {
				best = f
			}
		}
		for f := range 4 {
			if want := float32(map[bool]int{true: 1}[f == best]); applied[w*4+f] != want {
				t.Errorf("window %d: feature %d applied %g, want %g (similarities %v)", w, f, applied[w*4+f], want, sims[w*4:w*4+4])
			}
		}
	}
}

// TestNonFiniteStopsAndKeepsTheImage stops a run whose learning rate is NaN at step 13 of 25,
// a step Resolve's eleven samples miss, keeping the image and naming the value and the reason
// its expression gives; and Resolve refuses one that is infinite at the last step.
func TestNonFiniteStopsAndKeepsTheImage(t *testing.T) {
	exp := Experiment{Seed: 7, Steps: 25, Width: 40, Height: 40,
		Learnrate: Func("explodes at step 13", func(e Env) float64 {
			if e.Step == 13 {
				return math.NaN()
			}
			return 1
		}).Explained(func(e Env) error {
			if e.Step == 13 {
				return errors.New("division by zero")
			}
			return nil
		}),
		Targets: []Target{{Features: []Feature{{Text: "x"}}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "learnrate is NaN at step 13: division by zero") {
		t.Fatalf("error %v", err)
	}
	img, err := r.Image()
	if err != nil {
		t.Fatal(err)
	}
	if r.Step() != 13 || img.Pix[0] == 0 && img.Pix[1] == 0 && img.Pix[2] == 0 {
		t.Errorf("after the failure: step %d, first pixel %v", r.Step(), img.Pix[:3])
	}
	exp.Learnrate = Func("1 / (1 - t)", func(e Env) float64 { return 1 / (1 - e.T) })
	if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), "learnrate is +Inf at step 24 (1 / (1 - t))") {
		t.Errorf("a learning rate infinite at the last step: %v", err)
	}
	exp.Learnrate = Constant(1)
	exp.Postproc = []Postproc{{Transform: Transform{Kind: TransformAdd,
		Values: []Value{Func("sqrt(t - 0.5)", func(e Env) float64 { return math.Sqrt(e.T - 0.5) })}}}}
	if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), "postproc 1 (add) value 1 is NaN at step 0 (sqrt(t - 0.5))") {
		t.Errorf("a postproc value NaN at the first step: %v", err)
	}
}

// TestNegativeFeaturesWinAsCLIPigPicks checks that select best picks among every active feature,
// whatever its weight's sign, as CLIPig does: a negative feature, the only one active at first,
// wins those windows; each window counts one frame; anti-text applies to every window and
// counts none; under select all every window counts every feature but anti-text.
func TestNegativeFeaturesWinAsCLIPigPicks(t *testing.T) {
	exp := Experiment{Seed: 6, Steps: 4, Width: 40, Height: 40,
		Targets: []Target{{Name: "t", BatchSize: 3, Select: SelectBest, AntiText: &AntiText{}, Transforms: noisy,
			Features: []Feature{{Text: "red", Period: Period{Start: AtStep(2)}}, {Text: "blue", Weight: Constant(-1)}}}}}
	r := runToEnd(t, exp)
	ts := r.Stats().Target("t")
	for _, rec := range r.Stats().History[:2] {
		if frames := rec.Frames["t"]; frames[0] != 0 || frames[1] != 3 || frames[2] != 0 {
			t.Errorf("step %d, the negative feature alone active: frames (red, -blue, anti-text) %v, want [0 3 0]", rec.Step, frames)
		}
	}
	if ts.Windows != 12 || ts.Features[0].Frames+ts.Features[1].Frames != 12 || ts.Features[2].Frames != 0 {
		t.Errorf("%d windows, frames %d %d %d; want 12, one frame a window, none for anti-text", ts.Windows,
			ts.Features[0].Frames, ts.Features[1].Frames, ts.Features[2].Frames)
	}
	exp.Targets[0].Select = SelectAll
	ts = runToEnd(t, exp).Stats().Target("t")
	if f := ts.Features; f[0].Frames != 6 || f[1].Frames != 12 || f[2].Frames != 0 {
		t.Errorf("select all: frames %d %d %d, want 6 12 0", f[0].Frames, f[1].Frames, f[2].Frames)
	}
}

// TestEverySelectionLossAndOptimizerRuns runs every selection mode with one feature of each loss,
// and every optimiser, a few steps each: the loss stays finite, frames follow the mode, and the
// image moves.
func TestEverySelectionLossAndOptimizerRuns(t *testing.T) {
	features := []Feature{{Text: "red", Loss: LossCosine}, {Text: "blue", Loss: LossSpherical},
		{Text: "green", Loss: LossL1}, {Text: "grey", Loss: LossL2}}
	for _, sel := range Selections {
		exp := Experiment{Seed: 8, Steps: 2, Width: 32, Height: 32,
			Targets: []Target{{Name: "t", BatchSize: 3, Select: sel, Features: features, Transforms: noisy}}}
		ts := runToEnd(t, exp).Stats().Target("t")
		frames := 0
		for _, f := range ts.Features {
			frames += f.Frames
		}
		want := 6 // one feature per window
		if sel == SelectAll || sel == SelectMix {
			want = 24 // every feature in every window
		}
		if frames != want {
			t.Errorf("select %s: %d frames, want %d", sel, frames, want)
		}
	}
	for _, name := range OptimizerNames() {
		exp := Experiment{Seed: 9, Steps: 3, Width: 32, Height: 32, Optimizer: name,
			Targets: []Target{{BatchSize: 2, Features: features[:1]}}}
		r := runToEnd(t, exp)
		if loss := r.Stats().History[2].Loss; math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.Errorf("optimizer %s: loss %g", name, loss)
		}
		start, err := NewRun(exp, tinyModel(t))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := start.renderPixels()
		b, _ := r.renderPixels()
		if string(float32Bytes(a)) == string(float32Bytes(b)) {
			t.Errorf("optimizer %s left the image as it was", name)
		}
	}
}

func float32Bytes(v []float32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b := math.Float32bits(x)
		out = append(out, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
	}
	return out
}

// TestArccosValueAndGradient checks arccos and its hand-attached gradient at c = 0.5.
func TestArccosValueAndGradient(t *testing.T) {
	got := run1(t, func(in []*Node) *Node {
		return Concatenate([]*Node{arccos(in[0]), Gradient(ReduceAllSum(arccos(in[0])), in[0])[0]}, 0)
	}, tensors.FromFlatDataAndDimensions([]float32{0.5}, 1))
	if math.Abs(float64(got[0])-math.Acos(0.5)) > 1e-6 || math.Abs(float64(got[1])+1/math.Sqrt(0.75)) > 1e-5 {
		t.Errorf("arccos(0.5) = %g, gradient %g; want %g, %g", got[0], got[1], math.Acos(0.5), -1/math.Sqrt(0.75))
	}
}

// TestFeatureScalesDecideSelectBest checks that a feature's scale changes which feature a window
// wins, and CLIPig's fair factors: 1 / similarity, divided by the largest.
func TestFeatureScalesDecideSelectBest(t *testing.T) {
	p := &preparedTarget{Target: Target{Select: SelectBest}, losses: []string{LossCosine, LossCosine}}
	winner := func(scales []float32) []float32 {
		return run1(t, func(in []*Node) *Node {
			_, _, won, _ := targetLoss(p, []*Node{in[0]}, []*Node{in[1]}, []float64{1}, in[2], in[3], in[4])
			return won
		}, tensors.FromFlatDataAndDimensions([]float32{1, 0}, 1, 2),
			tensors.FromFlatDataAndDimensions([]float32{0.6, 0.8, 0.8, 0.6}, 2, 2),
			tensors.FromFlatDataAndDimensions([]float32{1, 1}, 2), tensors.FromFlatDataAndDimensions([]float32{1, 1}, 2),
			tensors.FromFlatDataAndDimensions(scales, 2))
	}
	if w := winner([]float32{1, 1}); w[0] != 0 || w[1] != 1 {
		t.Errorf("unscaled similarities 0.6, 0.8: won %v, want [0 1]", w)
	}
	if w := winner([]float32{2, 1}); w[0] != 1 || w[1] != 0 {
		t.Errorf("scales 2, 1: won %v, want [1 0]", w)
	}
	p.embeddings, p.fair = [][][]float32{{{0.5, 0}, {0.25, 0}}}, []float64{1, 1}
	p.setFairScales([][]float32{{1, 0}}, []float64{1})
	if p.fair[0] != 0.5 || p.fair[1] != 1 {
		t.Errorf("fair factors %v, want [0.5 1]", p.fair)
	}
	runToEnd(t, Experiment{Seed: 10, Steps: 2, Width: 32, Height: 32, Targets: []Target{{BatchSize: 2,
		Select: SelectBest, FeatureScale: FeatureScaleFair, Features: []Feature{{Text: "a"}, {Text: "b", Scale: Constant(2)}}}}})
}

// TestTargetsActiveAtSomeSteps runs a target that starts at step 3 of 5 (the first steps pass
// with the image as it was) and refuses one that starts after the run ends.
func TestTargetsActiveAtSomeSteps(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	exp := BenchExperiment(32, 2, 5)
	exp.Targets[0].Window = Window{FullFrame: true}
	exp.Targets[0].Period = Period{Start: AtStep(3)}
	run, err := NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := run.Image()
	for range 3 {
		if _, err := run.Advance(); err != nil {
			t.Fatalf("step %d: %v", run.Step(), err)
		}
	}
	after, _ := run.Image()
	if !bytes.Equal(before.Pix, after.Pix) {
		t.Error("the image changed at steps where no target was active")
	}
	if err := run.Run(context.Background()); err != nil || run.Stats().Targets[0].Windows != 4 {
		t.Errorf("run: %v, %d windows (want 2 steps of 2)", err, run.Stats().Targets[0].Windows)
	}
	exp.Targets[0].Period = Period{Start: AtStep(9)}
	if _, err := NewRun(exp, m); err == nil || !strings.Contains(err.Error(), "no target is active at any step") {
		t.Errorf("a target starting after the run: %v", err)
	}
}

// TestInitImageScaledAsCLIPig starts from an image file with a mean and std, which map its
// pixels to pixel*std + mean as CLIPig's init does (a negative std too), and from the file
// alone, kept as it is.
func TestInitImageScaledAsCLIPig(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	flat := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	draw.Draw(flat, flat.Bounds(), image.NewUniform(color.NRGBA{204, 102, 0, 255}), image.Point{}, draw.Src)
	path := writePNG(t, "start.png", flat)
	for _, c := range []struct {
		init Init
		want [3]uint8
	}{
		{Init{Image: path}, [3]uint8{204, 102, 0}},
		{Init{Image: path, Mean: [3]float64{0.1, 0.2, 0.3}, Std: [3]float64{0.5, 0.5, 1}}, [3]uint8{128, 102, 77}},
		{Init{Image: path, Mean: [3]float64{1, 1, 1}, Std: [3]float64{-1, -1, -1}}, [3]uint8{51, 153, 255}}, // inverted
	} {
		exp := BenchExperiment(32, 1, 1)
		exp.Init = c.init
		run, err := NewRun(exp, m)
		if err != nil {
			t.Fatal(err)
		}
		img, err := run.Image()
		if err != nil {
			t.Fatal(err)
		}
		got := img.NRGBAAt(16, 16)
		for i, v := range [3]uint8{got.R, got.G, got.B} {
			if d := int(v) - int(c.want[i]); d < -2 || d > 2 {
				t.Errorf("init %+v: pixel %v, want %v", c.init, got, c.want)
				break
			}
		}
	}
}

// TestConstraintOnlyTarget runs a target of a mean constraint alone beside a feature target, as
// CLIPig allows: it brightens the image, its target weight scales it (weight 0: no effect), and
// the statistics and frame table take a target without features; and a run of it alone.
func TestConstraintOnlyTarget(t *testing.T) {
	meanAfter := func(weight float64) float64 {
		exp := Experiment{Seed: 1, Steps: 10, Width: 32, Height: 32, Targets: []Target{
			{Name: "words", Features: []Feature{{Text: "x"}}},
			{Name: "bright", Weight: Constant(weight), Constraints: []Constraint{{Kind: ConstraintMean, Above: consts(0.9)}}},
		}}
		run := runToEnd(t, exp)
		var out bytes.Buffer
		run.Stats().WriteFrameTable(&out)
		if !strings.Contains(out.String(), "bright") {
			t.Errorf("the frame table leaves out the constraint target:\n%s", out.String())
		}
		img, err := run.Image()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i, v := range img.Pix {
			if i%4 != 3 {
				sum += float64(v) / 255
			}
		}
		return sum / float64(len(img.Pix)*3/4)
	}
	off, on := meanAfter(0), meanAfter(1)
	if on < off+0.05 {
		t.Errorf("the mean constraint's target brightened the image to %.3f, %.3f without it", on, off)
	}
	alone := runToEnd(t, Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{
		{Name: "bright", Constraints: []Constraint{{Kind: ConstraintMean, Above: consts(0.9)}}}}})
	if alone.Step() != 2 {
		t.Errorf("a run of constraints alone stopped at step %d", alone.Step())
	}
}

// TestTargetWeightSeesSimilarity weighs a target by its features' mean similarity at the
// previous step, as CLIPig's target weight may: nothing at the first step, then a loss.
func TestTargetWeightSeesSimilarity(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 3, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "x"}},
		Weight: Func("sim", func(e Env) float64 { return e.Similarity })}}}
	history := runToEnd(t, exp).Stats().History
	if history[0].Loss != 0 || history[1].Loss == 0 || history[2].Loss == 0 {
		t.Errorf("losses %v, %v, %v: want 0 at the first step and then the similarity's weight", history[0].Loss,
			history[1].Loss, history[2].Loss)
	}
}

// TestLearnrateVariableIsTheOptimizersRate gives expressions CLIPig's learnrate: the
// optimiser's base rate (adam's 0.01 for pixels) times learnrate times learnrate_scale.
func TestLearnrateVariableIsTheOptimizersRate(t *testing.T) {
	exp := BenchExperiment(32, 1, 2)
	exp.Learnrate, exp.LearnrateScale = Constant(2), Constant(0.5)
	run, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if env := run.env(0); math.Abs(env.LR-0.01) > 1e-12 || env.LRScale != 0.5 {
		t.Errorf("learnrate %g, learnrate_scale %g: want 0.01 and 0.5", env.LR, env.LRScale)
	}
}

// TestValuesKnowTheirPlace evaluates two features' weights, the same expression, at places of
// their own (so that random draws differ between them), and the same place each step.
func TestValuesKnowTheirPlace(t *testing.T) {
	place := Func("place", func(e Env) float64 { return float64(e.Place % 1000003) })
	target := newPreparedTarget(Target{Name: "t", Features: []Feature{{Text: "a", Weight: place}, {Text: "b", Weight: place}}})
	last := []*FeatureStats{{}, {}}
	weights, _, _, _ := featureValues(target, TimeAt(3, 10), last)
	again, _, _, _ := featureValues(target, TimeAt(3, 10), last)
	if weights[0] == weights[1] || weights[0] != again[0] || weights[1] != again[1] {
		t.Errorf("weights %v, then %v: want two places, each the same again", weights, again)
	}
}

// TestTargetsSharingANameAreToldApart: CLIPig lets targets share a name; clipwork renames the
// later ones NAME-2, NAME-3, ..., past names any target has, and runs them; a renamed target
// without features says how to change the earlier one instead.
func TestTargetsSharingANameAreToldApart(t *testing.T) {
	target := func(name string) Target { return Target{Name: name, Features: []Feature{{Text: "x"}}} }
	exp := Experiment{Steps: 1, Width: 32, Height: 32,
		Targets: []Target{target("main"), target("main"), target("main-2"), target("main")}}
	if err := exp.Resolve(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range exp.Targets {
		names = append(names, tg.Name)
	}
	if want := []string{"main", "main-3", "main-2", "main-4"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	runToEnd(t, exp)
	exp.Targets = []Target{target(""), target("target1")} // a name given wins over a default one
	if err := exp.Resolve(); err != nil || exp.Targets[0].Name != "target1-2" || exp.Targets[1].Name != "target1" {
		t.Errorf("an unnamed target before one named target1: %q and %q (%v)", exp.Targets[0].Name, exp.Targets[1].Name, err)
	}
	exp.Targets = []Target{target("details"), {Name: "details", BatchSize: 4}}
	if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), "--set targets.details.KEY=VALUE") {
		t.Errorf("a featureless target of an earlier one's name: %v", err)
	}
}

// startPixels are the starting image of a new run of exp on the tiny model, [h*w*3].
func startPixels(t *testing.T, exp Experiment) []float32 {
	t.Helper()
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	pixels, err := r.renderPixels()
	if err != nil {
		t.Fatal(err)
	}
	return pixels
}

// TestInitNoiseResizedBeforeItIsClamped draws noise of std 1 at 8x8 for a 64x64 image: CLIPig
// resizes it and then clamps, which leaves about half the pixels at 0 or 1 (clamped first, a
// fifth would be).
func TestInitNoiseResizedBeforeItIsClamped(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 1, Width: 64, Height: 64, Init: Init{Mean: [3]float64{0.5, 0.5, 0.5},
		Std: [3]float64{1, 1, 1}, Resolution: [2]int{8, 8}}, Targets: []Target{{Features: []Feature{{Text: "x"}}}}}
	pixels := startPixels(t, exp)
	saturated := 0
	for _, v := range pixels {
		if v <= 0 || v >= 1 {
			saturated++
		}
	}
	if share := float64(saturated) / float64(len(pixels)); share < 0.4 || share > 0.7 {
		t.Errorf("%.2f of the pixels at 0 or 1, want about half", share)
	}
}

// TestInitImageStretchedBeforeItIsClamped starts from a black and white image at 8x8 stretched
// by a std of 3 (black to -1, white to 2) for a 32x32 image: CLIPig resizes the stretched values
// and then clamps, so the edge between the halves stays sharp (clamped first, it would blur
// over the resize's width).
func TestInitImageStretchedBeforeItIsClamped(t *testing.T) {
	halves := image.NewGray(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := 4; x < 8; x++ {
			halves.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	exp := Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Text: "x"}}}},
		Init: Init{Image: writePNG(t, "halves.png", halves), Mean: [3]float64{-1, -1, -1}, Std: [3]float64{3, 3, 3},
			Resolution: [2]int{8, 8}}}
	pixels := startPixels(t, exp)
	stretched := make([]float32, 0, 8*8*3)
	for _, v := range clipmodel.RGB(halves) {
		stretched = append(stretched, min(max(3*v-1, 0), 1)) // clamped first
	}
	grey := func(values []float32) (n int) {
		for _, v := range values {
			if v > 0.01 && v < 0.99 {
				n++
			}
		}
		return n
	}
	if got, clampedFirst := grey(pixels), grey(interpolate(stretched, 8, 8, 32, 32, "cubic")); got*2 > clampedFirst {
		t.Errorf("%d values between black and white, %d clamped first: want the edge sharper than that", got, clampedFirst)
	}
}

// TestInitImageCroppedAsCLIPig starts from an image of another aspect: CLIPig's resize_crop
// scales it to cover the resolution and keeps its middle (a 16x8 image's middle 8 columns for
// an 8x8 run), rather than squeezing it.
func TestInitImageCroppedAsCLIPig(t *testing.T) {
	wide := image.NewNRGBA(image.Rect(0, 0, 16, 8))
	draw.Draw(wide, wide.Bounds(), image.NewUniform(color.NRGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	draw.Draw(wide, image.Rect(4, 0, 12, 8), image.NewUniform(color.NRGBA{0, 255, 0, 255}), image.Point{}, draw.Src)
	path := writePNG(t, "wide.png", wide)
	exp := Experiment{Steps: 1, Width: 8, Height: 8, Init: Init{Image: path}, Targets: []Target{{Features: []Feature{{Text: "x"}}}}}
	run, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := run.Image()
	if err != nil {
		t.Fatal(err)
	}
	for x := range 8 {
		if c := img.NRGBAAt(x, 4); c.R > 2 || c.G < 253 {
			t.Fatalf("column %d is %v: want the image's green middle", x, c)
		}
	}
}

// TestTargetOfAlikeWindowsDrawsOne: a target whose windows would all be alike (the whole image,
// no random transform) computes one a step whatever its batch_size, as CLIPig does, so that its
// loss does not grow with batch_size; a noise or a random geometric transform draws them all.
func TestTargetOfAlikeWindowsDrawsOne(t *testing.T) {
	windows := func(tg Target) (int, float64) {
		tg.Name, tg.BatchSize, tg.Features = "t", 4, []Feature{{Text: "x"}}
		r := runToEnd(t, Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32, Targets: []Target{tg}})
		return r.Stats().Target("t").Windows, r.Stats().History[0].Loss
	}
	alike, loss4 := windows(Target{})
	shift := Geometric{Kind: "random_shift", Values: [][]Value{{Constant(0), Constant(1), Constant(0), Constant(1)}}}
	shifted, _ := windows(Target{Geometry: []Geometric{shift}})
	noised, _ := windows(Target{Transforms: noisy})
	r := runToEnd(t, Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32,
		Targets: []Target{{Name: "t", BatchSize: 1, Features: []Feature{{Text: "x"}}}}})
	if alike != 1 || shifted != 4 || noised != 4 || math.Abs(loss4-r.Stats().History[0].Loss) > 1e-6 {
		t.Errorf("windows: alike %d, random_shift %d, noise %d (want 1, 4, 4); loss %g, at batch_size 1 %g",
			alike, shifted, noised, loss4, r.Stats().History[0].Loss)
	}
}

// TestAdamStartsAgainAfterAResize: CLIPig makes a new optimiser when the resolution changes, so
// Adam's bias correction starts again and its first steps at the new size are as long as the
// rest (a count carried over would make them up to 2.5 times longer).
func TestAdamStartsAgainAfterAResize(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 7, Width: 32, Height: 32, Learnrate: Constant(5),
		Stages: []Stage{{Until: AtStep(3), Width: 16, Height: 16}},
		Init:   Init{Mean: [3]float64{0.3, 0.3, 0.3}, Given: true},
		Targets: []Target{{Name: "t", Constraints: []Constraint{{Kind: ConstraintMean,
			Above: []Value{Constant(1)}, Loss: "l1"}}}}}
	h := runToEnd(t, exp).Stats().History
	for i := 1; i < len(h); i++ {
		if drop := h[i-1].Loss - h[i].Loss; math.Abs(drop-5) > 0.1 {
			t.Errorf("step %d: the loss fell by %g, want 5 (each step 0.05 of the mean, times 100)", i, drop)
		}
	}
}

// TestFairScalesSeeTheWholeImage: feature_scale fair embeds the initial image squeezed whole to
// the model's input, as CLIPig resizes it, not its centre crop: a wide image whose middle third
// is green and whose sides are red scales as the whole does.
func TestFairScalesSeeTheWholeImage(t *testing.T) {
	_, path := greenMiddle(t, 64, 16)
	m := tinyModel(t)
	r, err := NewRun(Experiment{Steps: 1, Width: 64, Height: 16, Init: Init{Image: path}, Targets: []Target{{
		FeatureScale: FeatureScaleFair, Features: []Feature{{Text: "red"}, {Text: "green"}}}}}, m)
	if err != nil {
		t.Fatal(err)
	}
	fair := func(img image.Image) []float64 {
		embs, err := m.EmbedPixels([][]float32{m.Preprocess.Pixels(img)})
		if err != nil {
			t.Fatal(err)
		}
		p := &preparedTarget{embeddings: r.targets[0].embeddings, fair: []float64{1, 1}}
		p.setFairScales([][]float32{clipmodel.Unit(embs[0])}, []float64{1})
		return p.fair
	}
	current, _ := r.Image()
	squeezed := image.NewRGBA64(image.Rect(0, 0, m.Preprocess.CropSize, m.Preprocess.CropSize))
	xdraw.BiLinear.Scale(squeezed, squeezed.Bounds(), current, current.Bounds(), xdraw.Src, nil)
	whole := fair(squeezed)
	crop := fair(current)
	if got := r.targets[0].fair; math.Abs(got[0]-whole[0]) > 1e-3 || math.Abs(got[1]-whole[1]) > 1e-3 ||
		math.Abs(whole[0]-crop[0])+math.Abs(whole[1]-crop[1]) < 1e-3 {
		t.Errorf("fair scales %v, the whole image's %v, its centre crop's %v", got, whole, crop)
	}
}

// TestFeatureImagesAreStretched: a feature image is resized whole to the model's input,
// ignoring its aspect ratio, as CLIPig's reference says, not centre-cropped: a wide image
// whose middle is green and whose sides are red embeds as the whole stretched, not as its green
// middle.
func TestFeatureImagesAreStretched(t *testing.T) {
	wide, path := greenMiddle(t, 96, 16)
	m := tinyModel(t)
	r, err := NewRun(Experiment{Steps: 1, Width: 32, Height: 32, Targets: []Target{{Features: []Feature{{Image: path}}}}}, m)
	if err != nil {
		t.Fatal(err)
	}
	stretched, err := m.EmbedPixels([][]float32{m.Preprocess.Stretched().Pixels(wide)})
	if err != nil {
		t.Fatal(err)
	}
	cropped, err := m.EmbedImageFiles([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	side := m.Preprocess.CropSize
	square, _ := greenMiddle(t, side, side) // the wide image squeezed, drawn at the input's size
	drawn, err := m.EmbedPixels([][]float32{m.Preprocess.Pixels(square)})
	if err != nil {
		t.Fatal(err)
	}
	got := r.targets[0].embeddings[0][0]
	if d := distance(got, clipmodel.Unit(stretched[0])); d > 1e-5 {
		t.Errorf("the feature's embedding is %g from the stretched image's", d)
	}
	if near, far := distance(got, clipmodel.Unit(drawn[0])), distance(got, clipmodel.Unit(cropped[0])); near > far/2 {
		t.Errorf("the feature's embedding is %g from the thirds drawn square, %g from the centre crop; want it nearer the first by half", near, far)
	}
}

// greenMiddle is a w x h image, red with a green middle third, and the path of its PNG.
func greenMiddle(t *testing.T, w, h int) (image.Image, string) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(w/3, 0, 2*w/3, h), image.NewUniform(color.NRGBA{0, 255, 0, 255}), image.Point{}, draw.Src)
	return img, writePNG(t, "wide.png", img)
}

// distance is the Euclidean distance of two vectors.
func distance(a, b []float32) float64 {
	sum := 0.0
	for i := range a {
		sum += float64(a[i]-b[i]) * float64(a[i]-b[i])
	}
	return math.Sqrt(sum)
}

// TestIdleStepsPostProcessButDoNotStep: a step without an active target post-processes the image,
// as CLIPig does before it looks for targets, and makes no optimiser step, so Adam's first
// steps once the target starts are as long as the rest.
func TestIdleStepsPostProcessButDoNotStep(t *testing.T) {
	exp := Experiment{Seed: 1, Steps: 6, Width: 16, Height: 16, Learnrate: Constant(5),
		Init:     Init{Mean: [3]float64{0.3, 0.3, 0.3}, Given: true},
		Postproc: []Postproc{{Transform: Transform{Kind: TransformAdd, Values: consts(0.1), Period: Period{End: AtStep(0)}}}},
		Targets: []Target{{Name: "t", Period: Period{Start: AtStep(2)}, Constraints: []Constraint{{Kind: ConstraintMean,
			Above: []Value{Constant(1)}, Loss: "l1"}}}}}
	h := runToEnd(t, exp).Stats().History
	if len(h) != 4 || math.Abs(h[0].Loss-60) > 0.1 { // the mean 0.3 + 0.1 from step 0's edit: 100 * (1 - 0.4)
		t.Fatalf("history %+v, want 4 steps from a loss of 60", h)
	}
	for i := 1; i < len(h); i++ {
		if drop := h[i-1].Loss - h[i].Loss; math.Abs(drop-5) > 0.1 {
			t.Errorf("step %d: the loss fell by %g, want 5", h[i].Step, drop)
		}
	}
}

// writePNG writes img as a PNG file named name in a new temporary folder, and returns its path.
func writePNG(t *testing.T, name string, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := png.Encode(file, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnknownInterpolationWhereTheSizeChanges: an interpolation no resize knows stops the run
// with an error at the step the resolution changes, where Validate's sampled sizes missed the
// change (a change at one step of thousands).
func TestUnknownInterpolationWhereTheSizeChanges(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	exp := BenchExperiment(32, 1, 5000)
	exp.Interpolation = "bogus"
	exp.Resolution = [2]Value{Func("32 + 8*(epoch == 1)", func(e Env) float64 { return float64(32 + 8*bool2int(e.Step == 1)) }),
		Func("32", func(Env) float64 { return 32 })}
	run, err := NewRun(exp, m)
	if err != nil {
		t.Fatalf("the change at one step is not among the sampled sizes, so NewRun takes it: %v", err)
	}
	if _, err := run.Advance(); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Advance(); err == nil || !strings.Contains(err.Error(), `step 1: the resolution changes to 40x32 here, and interpolation "bogus"`) {
		t.Errorf("step 1: %v", err)
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLongInitImageRuns starts from an image so long that covering the resolution would scale
// it to 32x6400000 pixels: only its crop is scaled, and it starts the run from its middle.
func TestLongInitImageRuns(t *testing.T) {
	long := image.NewGray(image.Rect(0, 0, 1, 200_000))
	for y := 100_000 - 16; y < 100_000+16; y++ {
		long.SetGray(0, y, color.Gray{Y: 255}) // white in the middle, black elsewhere
	}
	exp := BenchExperiment(32, 1, 2)
	exp.Init = Init{Image: writePNG(t, "long.png", long)}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := r.Image()
	if err != nil {
		t.Fatal(err)
	}
	if c := img.NRGBAAt(16, 16); c.R < 250 {
		t.Errorf("the start's middle is %v, want the image's white middle", c)
	}
}
