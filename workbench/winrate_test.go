package workbench

import (
	"context"
	"testing"
)

// TestWinRatesOfNegativeFeatures: a negative-weight feature and anti-text are marked negative;
// the feature has a win rate, anti-text none; each step records the windows drawn, and the
// steps' wins add up to the run's.
func TestWinRatesOfNegativeFeatures(t *testing.T) {
	exp := Experiment{Seed: 3, Steps: 4, Width: 40, Height: 40,
		Targets: []Target{{Name: "best", BatchSize: 3, Select: SelectBest, Transforms: noisy,
			Features: []Feature{{Text: "sword"}, {Text: "rust", Weight: Constant(-1)}},
			AntiText: &AntiText{Prompts: DefaultAntiTextPrompts, Weight: Constant(0.5)}}}}
	r, err := NewRun(exp, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := r.Stats().Target("best")
	for j, want := range []bool{false, true, true} {
		if ts.Features[j].Negative != want {
			t.Errorf("feature %s: negative %v, want %v", ts.Features[j].Label, ts.Features[j].Negative, want)
		}
		if _, ok := ts.WinRate(j); ok != (j < 2) {
			t.Errorf("feature %s: has a win rate: %v", ts.Features[j].Label, ok)
		}
	}
	won, windows := 0, 0
	for _, rec := range r.Stats().History {
		w, n, ok := ts.WonAt(rec, 0)
		if !ok || n != 3 {
			t.Fatalf("step %d: %d windows (%v), want 3", rec.Step, n, ok)
		}
		won, windows = won+w, windows+n
	}
	if rate, _ := ts.WinRate(0); windows != ts.Windows || float64(won)/float64(windows) != rate {
		t.Errorf("steps: %d of %d windows won; run: %v of %d", won, windows, rate, ts.Windows)
	}
}
