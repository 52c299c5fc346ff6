package defaultmodel

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/workbench"
)

// TestNearestRunPicksTheClosestMean gives every colour a run whose mean is its palette colour
// but for red's and orange's, swapped: those two fail, the other eight match.
func TestNearestRunPicksTheClosestMean(t *testing.T) {
	means := make([][3]float64, len(scenes.Colors))
	for i, c := range scenes.Colors {
		means[i], _ = scenes.ColorRGB(c)
	}
	means[0], means[1] = means[1], means[0] // red, orange
	matched := 0
	for i, c := range scenes.Colors {
		if nearestRun(means, c) == i {
			matched++
		}
	}
	if matched != 8 || nearestRun(means, "red") != 1 {
		t.Errorf("%d colours matched, red's nearest run %d; want 8 and orange's (1)", matched, nearestRun(means, "red"))
	}
}

// TestSkyMeasure paints a red disc in the middle of a blue square: it passes; swapped, it fails.
func TestSkyMeasure(t *testing.T) {
	for _, c := range []struct {
		inner, outer color.NRGBA
		pass         bool
	}{{color.NRGBA{220, 20, 20, 255}, color.NRGBA{40, 80, 230, 255}, true},
		{color.NRGBA{40, 80, 230, 255}, color.NRGBA{220, 20, 20, 255}, false}} {
		img := image.NewNRGBA(image.Rect(0, 0, PaintSize, PaintSize))
		for y := range PaintSize {
			for x := range PaintSize {
				dx, dy := float64(x)+0.5-PaintSize/2, float64(y)+0.5-PaintSize/2
				if dx*dx+dy*dy < PaintSize*PaintSize/16 {
					img.SetNRGBA(x, y, c.inner)
				} else {
					img.SetNRGBA(x, y, c.outer)
				}
			}
		}
		p := Painting{Centre: meanPixel(img, func(x, y int) bool { return inSquare(x, y, PaintSize, 0.5) }),
			Border: meanPixel(img, func(x, y int) bool { return !inSquare(x, y, PaintSize, 0.75) })}
		if p.SkyPasses() != c.pass {
			t.Errorf("centre %v, border %v: pass %v, want %v", p.Centre, p.Border, p.SkyPasses(), c.pass)
		}
	}
}

// TestPlainExperimentRuns runs a plain experiment, shortened, on the tiny random model: the
// file's text and its random_shift 0 1, CLIPig's whole-image shift, are what the run does.
func TestPlainExperimentRuns(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := PlainExperiment(`a "red" circle`, 1)
	if err != nil {
		t.Fatal(err)
	}
	target := exp.Targets[0]
	if target.Features[0].Text != `a "red" circle` || len(target.Geometry) != 1 || target.Geometry[0].Kind != "random_shift" {
		t.Fatalf("plain experiment %+v, want the text and one random_shift", target)
	}
	exp.Steps = 2
	run, err := workbench.NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, h := run.Size(); w != PaintSize || h != PaintSize {
		t.Errorf("image %dx%d, want %d square", w, h, PaintSize)
	}
}

// TestAttackLowersAccuracy classifies 20 held-out scenes with the embedded model: a zero-step
// attack agrees with ZeroShot; the evaluation's attack classifies at most as many right.
func TestAttackLowersAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("attacks 20 scenes")
	}
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	clean, err := ZeroShot(m, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	none := EvalAttack
	none.Steps = 0
	unattacked, err := AttackedZeroShot(m, 20, 1, none)
	if err != nil {
		t.Fatal(err)
	}
	attacked, err := AttackedZeroShot(m, 20, 1, EvalAttack)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(a Accuracy) float64 { return a.Color + a.Shape + a.Count + a.Position }
	if diff := sum(unattacked) - sum(clean); diff > 0.051 || diff < -0.051 {
		t.Errorf("unattacked %+v differs from ZeroShot %+v by more than one answer", unattacked, clean)
	}
	if sum(attacked) > sum(clean) {
		t.Errorf("attacked %+v beats clean %+v", attacked, clean)
	}
}

// TestPlainFileKeepsTheText reads back texts with quotes, escapes, non-ASCII and invalid UTF-8
// (replaced, as YAML would otherwise read a byte as another character).
func TestPlainFileKeepsTheText(t *testing.T) {
	for text, want := range map[string]string{`a "red" \ circle`: `a "red" \ circle`, "ein großer Kreis\t\u2028": "ein großer Kreis\t\u2028",
		"a \xff circle": "a \uFFFD circle"} {
		exp, err := PlainExperiment(text, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := exp.Targets[0].Features[0].Text; got != want || exp.Seed != 7 {
			t.Errorf("%q read back as %q, seed %d; want %q, seed 7", text, got, exp.Seed, want)
		}
	}
}
