package workbench

// BenchExperiment is the step that `clipwork bench`, BenchmarkStep and bench/torch_step.py time:
// one target of windows over a size x size image, each with random rotation, zoom and
// perspective and noise added, pulled towards one text, for steps steps.
func BenchExperiment(size, windows, steps int) Experiment {
	return Experiment{Seed: 1, Steps: steps, Width: size, Height: size,
		Targets: []Target{{BatchSize: windows, Features: []Feature{{Text: "malazan"}},
			Window:     Window{Rotate: [2]float64{-30, 30}, Perspective: 0.1, Scale: [2]float64{0.8, 2}},
			Transforms: []Transform{{Kind: TransformNoise, Values: []Value{Constant(0), Constant(0.05)}}}}}}
}
