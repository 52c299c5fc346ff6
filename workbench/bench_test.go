package workbench

import (
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
)

// BenchmarkStep times one step of BenchExperiment on a 512x512 image with 8 windows through a
// randomly initialised ViT-B/32.
//
//	GOEXPERIMENT=simd go test ./workbench -run '^$' -bench Step -benchtime 3x
func BenchmarkStep(b *testing.B) {
	m, err := clipmodel.Load("random:ViT-B/32")
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRun(BenchExperiment(512, 8, b.N+1), m)
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
