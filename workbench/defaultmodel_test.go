package workbench_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	_ "github.com/clipwork/clipwork/clipmodel/defaultmodel"
	"github.com/clipwork/clipwork/workbench"
)

// TestSelectBestFollowsTheImage starts from a red image that barely changes: windows choosing
// between colour words must mostly choose "red".
func TestSelectBestFollowsTheImage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "red.png")
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 220, 30, 30, 255
	}
	f, _ := os.Create(path)
	png.Encode(f, img)
	f.Close()
	m, err := clipmodel.Load("")
	if err != nil {
		t.Fatal(err)
	}
	exp := workbench.Experiment{Seed: 2, Steps: 5, Width: 64, Height: 64, Learnrate: workbench.Constant(0.01),
		Init: workbench.Init{Image: path},
		Targets: []workbench.Target{{Name: "colours", BatchSize: 4, Select: workbench.SelectBest,
			Features: []workbench.Feature{{Text: "a red square"}, {Text: "a blue square"}, {Text: "a green square"},
				{Text: "a yellow square"}}}}}
	run, err := workbench.NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats := run.Stats().Target("colours")
	if red := stats.Features[0]; red.Share < 0.75 {
		t.Errorf("on a red image, %q won %.0f%% of the windows", red.Label, 100*red.Share)
	}
}
