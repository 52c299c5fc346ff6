package workbench

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestPeriodComparesFractionsWithTime checks CLIPig's rule: a fraction or percentage is compared
// with t = step / (steps - 1), a whole number with the step.
func TestPeriodComparesFractionsWithTime(t *testing.T) {
	tests := []struct {
		period Period
		step   int
		want   bool
	}{
		{Period{End: AtFraction(0.3)}, 5, true},    // t = 5/19 = 0.263
		{Period{End: AtFraction(0.3)}, 6, false},   // t = 6/19 = 0.316
		{Period{Start: AtFraction(0.3)}, 5, false}, // before
		{Period{Start: AtFraction(0.3)}, 6, true},
		{Period{Start: AtStep(6), End: AtStep(6)}, 6, true},
		{Period{Start: AtStep(6), End: AtStep(6)}, 7, false},
		{Period{}, 19, true},
	}
	for _, test := range tests {
		if got := test.period.Active(test.step, 20); got != test.want {
			t.Errorf("%+v at step %d of 20: %v, want %v", test.period, test.step, got, test.want)
		}
	}
}

// TestPercentagesAsCLIPig reads a percentage as CLIPig computes it, x * (1/100): 35% of a run of
// 21 steps starts at step 8, where x / 100 would start it at 7.
func TestPercentagesAsCLIPig(t *testing.T) {
	m, err := ParseMoment("35%")
	if err != nil {
		t.Fatal(err)
	}
	p := Period{Start: m}
	if p.Active(7, 21) || !p.Active(8, 21) {
		t.Errorf("35%% of 21 steps: active at 7 %v, at 8 %v; want from 8", p.Active(7, 21), p.Active(8, 21))
	}
}

// TestSizesReachTheRunsEnd: a resolution that grows only at the last step of a long run is
// checked against the limit, a NaN resolution is held at 8, and a moment far past the run
// resolves just past its last step.
func TestSizesReachTheRunsEnd(t *testing.T) {
	exp := BenchExperiment(64, 1, 2000)
	grows := func(e Env) float64 {
		if e.T >= 1 {
			return 100064
		}
		return 64
	}
	exp.Resolution = [2]Value{Func("grows at the end", grows), Func("grows at the end", grows)}
	if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("a resolution beyond the limit at the last step: %v", err)
	}
	nan := Func("nan", func(Env) float64 { return math.NaN() })
	exp.Resolution = [2]Value{nan, nan}
	if w, h := exp.SizeAt(3); w != 8 || h != 8 {
		t.Errorf("a NaN resolution is %dx%d, want 8x8", w, h)
	}
	if step := AtFraction(1e20).Step(100); step != 100 {
		t.Errorf("a moment at 1e20 of a 100-step run is step %d, want 100", step)
	}
}

// TestAtLeast reads a value as Python's max(least, v): below least or a NaN number is least, a
// value that fails (NaN with a reason) stays NaN, so that checks and runs report it.
func TestAtLeast(t *testing.T) {
	nan := Func("nan", func(Env) float64 { return math.NaN() })
	failing := nan.Explained(func(Env) error { return errors.New("division by zero") })
	for _, c := range []struct {
		v    Value
		want float64
	}{{Constant(-3), 0.5}, {Constant(2), 2}, {nan, 0.5}, {Constant(math.Inf(1)), math.Inf(1)}, {failing, math.NaN()}} {
		got := c.v.AtLeast(0.5)
		if x := got.At(Env{}); x != c.want && !(math.IsNaN(x) && math.IsNaN(c.want)) {
			t.Errorf("%s at least 0.5: %g, want %g", c.v.Expr, x, c.want)
		}
		if got.Expr != c.v.Expr {
			t.Errorf("%s at least 0.5 reads %q", c.v.Expr, got.Expr)
		}
	}
}
