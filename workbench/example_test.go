package workbench_test

import (
	"context"
	"fmt"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/workbench"
)

// The seed's composition + details recipe: a blurred full-frame target shapes the whole image
// and is switched off at 30%; detail windows with rotation and perspective choose the best of
// several features. (The tiny random model keeps the example fast; name a real CLIP instead.)
func ExampleNewRun() {
	model, err := clipmodel.Load("random:tiny")
	if err != nil {
		panic(err)
	}
	exp := workbench.Experiment{
		Seed: 1, Steps: 10, Width: 96, Height: 64,
		Targets: []workbench.Target{
			{
				Name:      "composition",
				Period:    workbench.Period{End: workbench.AtFraction(0.3)},
				BatchSize: 2,
				Features:  []workbench.Feature{{Text: "malazan landscape"}},
				Window:    workbench.Window{FullFrame: true},
				Transforms: []workbench.Transform{{Kind: workbench.TransformBlur,
					Values: []workbench.Value{workbench.Constant(1), workbench.Constant(2)}}},
			},
			{
				Name:      "details",
				BatchSize: 4,
				Select:    workbench.SelectBest,
				Features:  []workbench.Feature{{Text: "malazan"}, {Text: "sword"}, {Text: "cthulhu"}},
				Window:    workbench.Window{Rotate: [2]float64{-45, 45}, Perspective: 0.15},
				AntiText:  &workbench.AntiText{},
			},
		},
	}
	run, err := workbench.NewRun(exp, model)
	if err != nil {
		panic(err)
	}
	if err := run.Run(context.Background()); err != nil {
		panic(err)
	}
	// Every window applied exactly one of the features it chose between (anti-text applies to all).
	for _, t := range run.Stats().Targets {
		frames := 0
		for _, f := range t.Features {
			if f.Label != "anti-text" {
				frames += f.Frames
			}
		}
		fmt.Printf("%s: %d windows, %d frames\n", t.Name, t.Windows, frames)
	}
	// Output:
	// composition: 6 windows, 6 frames
	// details: 40 windows, 40 frames
}
