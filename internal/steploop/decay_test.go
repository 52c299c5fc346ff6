package steploop

import (
	"math"
	"testing"
)

func TestDecayFallsOverTheLastSteps(t *testing.T) {
	d := Decay{Rate: 1e-3, End: 100, Steps: 20}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 1e-3}, {79, 1e-3}, {80, 1e-3}, {90, 5.5e-4}, {100, 1e-4}, {150, 1e-4}} {
		if got := d.At(c.step); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("step %d: learning rate %g, want %g", c.step, got, c.want)
		}
	}
	for step := 80; step < 100; step++ {
		if d.At(step+1) > d.At(step) {
			t.Errorf("the learning rate rises at step %d", step)
		}
	}
	if got, want := d.Note(), " (decaying from step 80)"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
}

func TestNoDecayHoldsTheRate(t *testing.T) {
	d := Decay{Rate: 2e-4, End: 100}
	for _, step := range []int{0, 99, 100} {
		if got := d.At(step); got != 2e-4 {
			t.Errorf("step %d: learning rate %g, want 2e-4", step, got)
		}
	}
	if d.Note() != "" {
		t.Errorf("note %q for no decay", d.Note())
	}
}
