package steploop

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
)

func TestRateDecaysOverTheLastSteps(t *testing.T) {
	l := Loop{LearningRate: 1e-3, Steps: 100, DecaySteps: 20}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 1e-3}, {79, 1e-3}, {80, 1e-3}, {90, 5.5e-4}, {100, 1e-4}, {150, 1e-4}} {
		if got := l.Rate(c.step); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("step %d: learning rate %g, want %g", c.step, got, c.want)
		}
	}
	for step := 80; step < 100; step++ {
		if l.Rate(step+1) > l.Rate(step) {
			t.Errorf("the learning rate rises at step %d", step)
		}
	}
	if got, want := l.DecayNote(), " (decaying from step 80)"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
}

func TestNoDecayHoldsTheRate(t *testing.T) {
	l := Loop{LearningRate: 2e-4, Steps: 100}
	for _, step := range []int{0, 99, 100} {
		if got := l.Rate(step); got != 2e-4 {
			t.Errorf("step %d: learning rate %g, want 2e-4", step, got)
		}
	}
	if l.DecayNote() != "" {
		t.Errorf("note %q for no decay", l.DecayNote())
	}
}

// TestRunSetsEachChangedRate runs steps 2..5 of 6 with the rate decaying over the last two:
// SetRate hears the held rate once and each decayed one, and progress lines say the rate.
func TestRunSetsEachChangedRate(t *testing.T) {
	var rates []float64
	var out bytes.Buffer
	l := Loop{Steps: 6, CheckpointEvery: 10, Progress: &out, Save: func() error { return nil },
		LearningRate: 1e-3, DecaySteps: 2, SetRate: func(rate float64) error { rates = append(rates, rate); return nil }}
	if err := l.Run(context.Background(), 2, func(int) (string, error) { return "loss 1", nil }); err != nil {
		t.Fatal(err)
	}
	if want := []float64{1e-3, 5.5e-4}; len(rates) != len(want) || rates[0] != want[0] || math.Abs(rates[1]-want[1]) > 1e-12 {
		t.Errorf("SetRate heard %v, want %v", rates, want)
	}
	if !strings.Contains(out.String(), "loss 1  lr 0.00055") {
		t.Errorf("the last progress line does not say the rate: %q", out.String())
	}
}
