package workbench

import (
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
)

// BenchmarkStep times one optimisation step on a 512x512 image with 8 windows through a
// randomly initialised ViT-B/32 (rotation, perspective, noise and blur on every window).
//
//	GOEXPERIMENT=simd go test ./workbench -run '^$' -bench Step -benchtime 3x
func BenchmarkStep(b *testing.B) {
	m, err := clipmodel.Load("random:ViT-B/32")
	if err != nil {
		b.Fatal(err)
	}
	exp := Experiment{Seed: 1, Steps: b.N + 1, Width: 512, Height: 512,
		Targets: []Target{{BatchSize: 8, Features: []Feature{{Text: "malazan"}},
			Window: Window{Rotate: [2]float64{-30, 30}, Perspective: 0.1, Scale: [2]float64{0.8, 2}},
			Transforms: []Transform{{Kind: TransformNoise, Range: [2]Value{Constant(0), Constant(0.05)}},
				{Kind: TransformBlur, Range: [2]Value{Constant(0), Constant(1)}}}}}}
	r, err := NewRun(exp, m)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Advance(); err != nil { // compiles the step
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := r.Advance(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "windows/s")
}
