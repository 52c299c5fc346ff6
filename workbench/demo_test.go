package workbench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	_ "github.com/clipwork/clipwork/clipmodel/defaultmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// TestDemoAnswersThePromptInPixels renders experiments/demo.yaml at 64x64 on the embedded
// default model with its prompts swapped for others, and checks the images by plain pixel
// statistics, not by the model: "a red circle" comes out redder than "a blue circle", and
// "green grass" greener than either.
func TestDemoAnswersThePromptInPixels(t *testing.T) {
	if testing.Short() {
		t.Skip("renders three images")
	}
	m, err := clipmodel.Load("")
	if err != nil {
		t.Fatal(err)
	}
	mean := map[string][3]float64{}
	for _, prompt := range []string{"a red circle", "a blue circle", "green grass"} {
		mean[prompt] = meanColour(t, m, prompt)
		t.Logf("%-14q mean RGB %.3f", prompt, mean[prompt])
	}
	redness := func(c [3]float64) float64 { return c[0] - c[2] }
	greenness := func(c [3]float64) float64 { return c[1] - (c[0]+c[2])/2 }
	if r, b := redness(mean["a red circle"]), redness(mean["a blue circle"]); r < b+0.05 {
		t.Errorf("red minus blue: %.3f for a red circle, %.3f for a blue circle", r, b)
	}
	for _, other := range []string{"a red circle", "a blue circle"} {
		if g, o := greenness(mean["green grass"]), greenness(mean[other]); g < o+0.05 {
			t.Errorf("green minus red and blue: %.3f for green grass, %.3f for %s", g, o, other)
		}
	}
}

// meanColour renders the demo with every target's prompt replaced and returns the image's mean
// red, green and blue in [0, 1].
func meanColour(t *testing.T, m *clipmodel.Model, prompt string) [3]float64 {
	t.Helper()
	f, err := expfile.Load([]string{filepath.Join("..", "experiments", "demo.yaml")}, "resolution=64", "epochs=60")
	if err != nil {
		t.Fatal(err)
	}
	exp := f.Experiment
	for i := range exp.Targets {
		exp.Targets[i].Features = []workbench.Feature{{Text: prompt, Weight: workbench.Constant(1)}}
	}
	run, err := workbench.NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	img, err := run.Image()
	if err != nil {
		t.Fatal(err)
	}
	var sum [3]float64
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			sum[c] += float64(img.Pix[i+c]) / 255
		}
	}
	n := float64(len(img.Pix) / 4)
	return [3]float64{sum[0] / n, sum[1] / n, sum[2] / n}
}
