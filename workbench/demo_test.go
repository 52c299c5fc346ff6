package workbench_test

import (
	"context"
	"image"
	"path/filepath"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	_ "github.com/clipwork/clipwork/clipmodel/defaultmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// TestDemoAnswersThePromptInPixels renders experiments/demo.yaml for 60 steps on the embedded
// default model with its prompts swapped for others, and checks the images by plain pixel
// statistics, not by the model: "a red circle" has more red pixels than "a blue circle", which
// has more blue ones, and "green grass" more green pixels than either. A pixel is red when its
// red exceeds its green and its blue by 0.1, and so on. The embedded model at step 12000 gives
// red 0.061 against 0.002, blue 0.083 against 0.056, and green 0.031 against 0.009 and 0.010.
// Every training caption names a background, most often a blue one (sky, water, night), so a
// red circle comes with blue around it and blue's margin is the smaller; the Fourier images are
// pastel, so few pixels of any colour stand out by 0.1, and green's margin is smaller still.
func TestDemoAnswersThePromptInPixels(t *testing.T) {
	if testing.Short() {
		t.Skip("renders three images")
	}
	m, err := clipmodel.Load("")
	if err != nil {
		t.Fatal(err)
	}
	const red, green, blue = 0, 1, 2
	share := map[string][3]float64{}
	for _, prompt := range []string{"a red circle", "a blue circle", "green grass"} {
		share[prompt] = dominantShares(render(t, m, prompt))
		t.Logf("%-14q red, green, blue pixels: %.3f", prompt, share[prompt])
	}
	for _, c := range []struct {
		channel        int
		prompt, others string
		margin         float64
	}{
		{red, "a red circle", "a blue circle", 0.03},
		{blue, "a blue circle", "a red circle", 0.02},
		{green, "green grass", "a red circle", 0.015},
		{green, "green grass", "a blue circle", 0.015},
	} {
		if got, other := share[c.prompt][c.channel], share[c.others][c.channel]; got < other+c.margin {
			t.Errorf("%q: %.3f of the pixels are %s, %q: %.3f", c.prompt, got,
				[]string{"red", "green", "blue"}[c.channel], c.others, other)
		}
	}
}

// render renders the demo with every target's prompt replaced.
func render(t *testing.T, m *clipmodel.Model, prompt string) *image.NRGBA {
	t.Helper()
	f, err := expfile.Load([]string{filepath.Join("..", "experiments", "demo.yaml")}, "epochs=60")
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
	return img
}

// dominantShares is, per channel, the share of pixels whose value in that channel exceeds
// the other two by 0.1.
func dominantShares(img *image.NRGBA) [3]float64 {
	var counts [3]float64
	for i := 0; i < len(img.Pix); i += 4 {
		p := img.Pix[i : i+3]
		for c := range 3 {
			if float64(p[c])-float64(max(p[(c+1)%3], p[(c+2)%3])) > 0.1*255 {
				counts[c]++
			}
		}
	}
	n := float64(len(img.Pix) / 4)
	return [3]float64{counts[0] / n, counts[1] / n, counts[2] / n}
}
