package workbench

import (
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// TestPostprocMeanSetsTheImageMean runs one step with CLIPig's `postproc: [{mean: .33}]` and
// checks the image's mean per channel afterwards, and that an edit outside its period does
// nothing.
func TestPostprocMeanSetsTheImageMean(t *testing.T) {
	for _, c := range []struct {
		period Period
		want   func(m float64) bool
	}{
		{Period{}, func(m float64) bool { return math.Abs(m-0.33) < 1e-4 }},
		{Period{Start: AtStep(1)}, func(m float64) bool { return math.Abs(m-0.33) > 0.05 }},
	} {
		exp := Experiment{Seed: 7, Steps: 2, Width: 32, Height: 32, Learnrate: Constant(0),
			Targets:  []Target{{BatchSize: 1, Features: []Feature{{Text: "red"}}}},
			Postproc: []Postproc{{Transform: Transform{Kind: TransformMean, Period: c.period, Values: consts(0.33)}}}}
		_, pixels := stepOnce(t, exp)
		for ch := range 3 {
			sum := 0.0
			for i := ch; i < len(pixels); i += 3 {
				sum += float64(pixels[i])
			}
			if m := sum / float64(len(pixels)/3); !c.want(m) {
				t.Errorf("period %+v: channel %d mean %g", c.period, ch, m)
			}
		}
	}
}

// TestPostprocShiftRollsTheImage runs one step, with no learning, of a `shift: 8 0` post-process:
// the image must come back rolled 8 pixels to the right, wrapping, as torch.roll does.
func TestPostprocShiftRollsTheImage(t *testing.T) {
	shift := Geometric{Kind: "shift", Values: [][]Value{consts(8, 0)}}
	exp := Experiment{Seed: 11, Steps: 2, Width: 32, Height: 24, Learnrate: Constant(0),
		Targets:  []Target{{BatchSize: 1, Features: []Feature{{Text: "red"}}}},
		Postproc: []Postproc{{Transform: Transform{Kind: "shift"}, Geometric: &shift}}}
	before, after := stepOnce(t, exp)
	for y := range 24 {
		for x := range 32 {
			for c := range 3 {
				want, got := before[(y*32+(x+24)%32)*3+c], after[(y*32+x)*3+c]
				if math.Abs(float64(got-want)) > 1e-6 {
					t.Fatalf("pixel (%d, %d) channel %d: %g, want %g", x, y, c, got, want)
				}
			}
		}
	}
}

// stepOnce makes one step of an experiment and returns the image's pixels before and after.
func stepOnce(t *testing.T, exp Experiment) (before, after []float32) {
	t.Helper()
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if before, err = r.renderPixels(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Advance(); err != nil {
		t.Fatal(err)
	}
	if after, err = r.renderPixels(); err != nil {
		t.Fatal(err)
	}
	return before, after
}

// TestInterpolationResizesAsNamed doubles a run's image with nearest: every 2x2 block holds one
// value; cubic blends them.
func TestInterpolationResizesAsNamed(t *testing.T) {
	for _, interpolation := range []string{"nearest", "cubic"} {
		exp := Experiment{Seed: 12, Steps: 2, Width: 16, Height: 16, Interpolation: interpolation,
			Targets: []Target{{BatchSize: 1, Window: Window{FullFrame: true}, Features: []Feature{{Text: "red"}}}}}
		r, err := NewRun(exp, tinyModel(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.resize(32, 32); err != nil {
			t.Fatal(err)
		}
		pixels, err := r.renderPixels()
		if err != nil {
			t.Fatal(err)
		}
		blocky := true
		for y := 0; y < 32; y += 2 {
			for x := 0; x < 32; x += 2 {
				blocky = blocky && pixels[(y*32+x)*3] == pixels[(y*32+x+1)*3] && pixels[(y*32+x)*3] == pixels[((y+1)*32+x)*3]
			}
		}
		if blocky != (interpolation == "nearest") {
			t.Errorf("%s: 2x2 blocks of one value: %v", interpolation, blocky)
		}
	}
}

// TestPostprocClampsAfterEachEdit: CLIPig clamps the pixels to [0, 1] after each postproc item
// (its defaults end every item with saturation and contrast 1), so adding -0.5 then 0.5 leaves
// at least 0.5 everywhere; a clamp of min above max gives max, as torch.clamp does.
func TestPostprocClampsAfterEachEdit(t *testing.T) {
	edit := func(kind string, v ...float64) Postproc {
		return Postproc{Transform: Transform{Kind: kind, Values: consts(v...)}}
	}
	exp := Experiment{Seed: 3, Steps: 2, Width: 16, Height: 16, Learnrate: Constant(0),
		Targets:  []Target{{BatchSize: 1, Features: []Feature{{Text: "red"}}}},
		Postproc: []Postproc{edit(TransformAdd, -0.5), edit(TransformAdd, 0.5)}}
	before, after := stepOnce(t, exp)
	for i := range after {
		if want := max(before[i], 0.5); math.Abs(float64(after[i]-want)) > 1e-6 {
			t.Fatalf("value %d: %g, want %g (from %g)", i, after[i], want, before[i])
		}
	}
	exp.Postproc = []Postproc{edit(TransformClamp, 0.5, 0.3)}
	if _, after := stepOnce(t, exp); slices.ContainsFunc(after, func(v float32) bool { return math.Abs(float64(v)-0.3) > 1e-6 }) {
		t.Error("clamp of min 0.5 and max 0.3 does not give 0.3 everywhere")
	}
}

// TestAnItemClampsOnceAtItsEnd: an Unclamped edit leaves its result unclamped for the next, as
// CLIPig's item {add: .5, mul: .5} takes 0.8 to (0.8 + 0.5) * 0.5 = 0.65, not 1 * 0.5; in a
// target's windows the same.
func TestAnItemClampsOnceAtItsEnd(t *testing.T) {
	add := Transform{Kind: TransformAdd, Values: consts(0.5), Unclamped: true}
	mul := Transform{Kind: TransformMul, Values: consts(0.5)}
	exp := Experiment{Seed: 3, Steps: 2, Width: 16, Height: 16, Learnrate: Constant(0),
		Init:     Init{Mean: [3]float64{0.8, 0.8, 0.8}},
		Targets:  []Target{{BatchSize: 1, Features: []Feature{{Text: "red"}}}},
		Postproc: []Postproc{{Transform: add}, {Transform: mul}}}
	if _, after := stepOnce(t, exp); math.Abs(float64(after[0])-0.65) > 1e-3 {
		t.Errorf("postproc add .5 then mul .5 of 0.8 in one item: %g, want 0.65", after[0])
	}
	target := &preparedTarget{Target: Target{Transforms: []Transform{add, mul}}}
	got := run1(t, func(in []*Node) *Node {
		out, _ := applyTransforms(in[0], target, []*Node{in[1], in[1]}, nil, nil)
		return out
	}, tensors.FromValue([][][][]float32{{{{0.8, 0.2, 0.9}}}}), tensors.FromValue([][]float32{{0.5, 0.5, 0.5, 0}}))
	if want := []float32{0.65, 0.35, 0.7}; !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }) {
		t.Errorf("windows %v, want %v", got, want)
	}
}

// TestWindowsAreClampedForTheModel: the windows CLIP sees are clamped to [0, 1], as CLIPig
// clamps them, however far a transform pushes them.
func TestWindowsAreClampedForTheModel(t *testing.T) {
	target := &preparedTarget{Target: Target{Transforms: []Transform{{Kind: TransformAdd, Values: consts(0.5)}}}}
	got := run1(t, func(in []*Node) *Node {
		out, _ := applyTransforms(in[0], target, []*Node{in[1]}, nil, nil)
		return out
	}, tensors.FromValue([][][][]float32{{{{0.2, 0.9, 0.5}}}}), tensors.FromValue([][]float32{{0.5, 0.5, 0.5, 0}}))
	if want := []float32{0.7, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("windows %v, want %v", got, want)
	}
}

// TestPostprocComesBeforeTheStep: CLIPig post-processes the image at the start of each step,
// before its forward pass, so step 0's loss already sees an edit active from step 0, and one
// starting at step 1 first shows in step 1's loss.
func TestPostprocComesBeforeTheStep(t *testing.T) {
	below := []Value{Constant(0)}
	exp := Experiment{Seed: 1, Steps: 3, Width: 16, Height: 16, Learnrate: Constant(0),
		Init:    Init{Mean: [3]float64{0.5, 0.5, 0.5}, Given: true},
		Targets: []Target{{Name: "t", Constraints: []Constraint{{Kind: ConstraintMean, Below: below, Loss: "l2"}}}},
		Postproc: []Postproc{
			{Transform: Transform{Kind: TransformAdd, Values: consts(0.1), Period: Period{End: AtStep(0)}}},
			{Transform: Transform{Kind: TransformAdd, Values: consts(0.2), Period: Period{Start: AtStep(1), End: AtStep(1)}}}}}
	history := runToEnd(t, exp).Stats().History
	for step, mean := range []float64{0.6, 0.8, 0.8} {
		if want := 100 * mean * mean; math.Abs(history[step].Loss-want) > 0.01 { // 16-bit initial pixels
			t.Errorf("step %d: loss %g, want %g (mean %g)", step, history[step].Loss, want, mean)
		}
	}
}
