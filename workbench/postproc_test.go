package workbench

import (
	"math"
	"testing"
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
		exp := Experiment{Seed: 7, Steps: 2, Width: 32, Height: 32,
			Targets:  []Target{{BatchSize: 1, Features: []Feature{{Text: "red"}}}},
			Postproc: []Postproc{{Transform: Transform{Kind: TransformMean, Period: c.period, Values: consts(0.33)}}}}
		r, err := NewRun(exp, tinyModel(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Advance(); err != nil {
			t.Fatal(err)
		}
		pixels, err := r.renderPixels()
		if err != nil {
			t.Fatal(err)
		}
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
