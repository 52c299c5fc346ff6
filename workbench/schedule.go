package workbench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Env is what a time-dependent Value can depend on at one step.
type Env struct {
	// T runs from 0 at the first step to 1 at the last: step / (steps - 1).
	T float64
	// Step is the 0-based step; Steps the run's length.
	Step, Steps int
	// Width and Height are the image's current size.
	Width, Height int
	// LR is the optimiser's current rate, CLIPig's learnrate variable: its base rate for the
	// parameterisation times learnrate times learnrate_scale; LRScale is learnrate_scale.
	LR, LRScale float64
	// Similarity is CLIPig's similarity variable (100 times a cosine similarity): in a feature's
	// weight the feature's mean similarity at the previous step times its scales, in the
	// target's weight and constraints the mean of its features'.
	Similarity float64
	// Seed is the run's seed, for expressions that draw random numbers.
	Seed uint64
	// Place tells apart where a value is used (which target, feature, transform, window), so
	// that the same expression in two places draws its own random numbers (see In).
	Place uint64
}

// In is e for a value used at the place that parts name (a target's name and a setting, strings,
// and indices, ints), within e's own place. It hashes bytes, not formatted text: the step's
// inputs call it for every target, feature, transform and window.
func (e Env) In(parts ...any) Env {
	b := binary.LittleEndian.AppendUint64(nil, e.Place)
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b = append(append(b, p...), 0)
		case int:
			b = binary.LittleEndian.AppendUint64(append(b, 1), uint64(p))
		}
	}
	h := fnv.New64a()
	h.Write(b)
	e.Place = h.Sum64()
	return e
}

// moments are eleven Envs spread over a run of steps, its first and last step among them: where
// Resolve samples values that change over time.
func moments(steps int) []Env {
	out := make([]Env, 11)
	for i := range out {
		out[i] = TimeAt(i*max(steps-1, 0)/10, steps)
	}
	return out
}

// TimeAt is the Env of a step in a run of steps, with T as in CLIPig.
func TimeAt(step, steps int) Env {
	t := 0.0
	if steps > 1 {
		t = float64(step) / float64(steps-1)
	}
	return Env{T: t, Step: step, Steps: steps}
}

// Value is a number that may change during a run. The zero Value is unset, and the owner's
// default applies.
type Value struct {
	// Expr is the source text the value came from, kept for reports and resolved configs.
	Expr string
	// Where, if set, is where Expr was written (file:line:column), for messages.
	Where string
	fn    func(Env) float64
	// drawn: the value draws random numbers, so each place (Env.Place) has its own.
	drawn bool
	// why, where set, tells why the value is no number at an Env (see Explained).
	why func(Env) error
}

// Constant is a Value that never changes.
func Constant(v float64) Value {
	return Value{Expr: strconv.FormatFloat(v, 'g', -1, 64), fn: func(Env) float64 { return v }}
}

// Func is a Value computed from the Env; expr describes it in reports.
func Func(expr string, fn func(Env) float64) Value {
	return Value{Expr: expr, fn: fn}
}

// Drawn is a Func that draws random numbers: it differs with the Env's Place, so each place
// that uses it (each window of a transform, say) evaluates it anew.
func Drawn(expr string, fn func(Env) float64) Value {
	return Value{Expr: expr, fn: fn, drawn: true}
}

// Explained is v with a function that tells why v is NaN at an Env (an expression's error, say,
// which v's own function can only give as NaN).
func (v Value) Explained(why func(Env) error) Value {
	v.why = why
	return v
}

// Why is the error that made v NaN at e, where v was Explained; nil otherwise.
func (v Value) Why(e Env) error {
	if v.why == nil {
		return nil
	}
	return v.why(e)
}

// negated is -v, drawing and explained where v is.
func (v Value) negated() Value {
	return Value{Expr: "-(" + v.Expr + ")", Where: v.Where, fn: func(e Env) float64 { return -v.At(e) }, drawn: v.drawn, why: v.why}
}

// AtLeast is v, but least wherever v is below it or a NaN number, as Python's max(least, v)
// (NaN where v fails, see Why); its Expr stays v's, as the setting was written, since reading
// it again gives the same.
func (v Value) AtLeast(least float64) Value {
	at, why := v.fn, v.why
	v.fn = func(e Env) float64 {
		x := at(e)
		switch {
		case x > least:
			return x
		case math.IsNaN(x) && why != nil && why(e) != nil:
			return x
		}
		return least
	}
	return v
}

// AboveZero is v where it is above 0, else NaN that Why explains with problem (a setting that
// must be positive), so that the checks before a run, or the run, refuse it at that step.
func (v Value) AboveZero(problem string) Value {
	at, why := v.fn, v.why
	v.fn = func(e Env) float64 {
		if x := at(e); x > 0 {
			return x
		}
		return math.NaN()
	}
	v.why = func(e Env) error {
		if why != nil {
			if err := why(e); err != nil {
				return err
			}
		}
		if at(e) > 0 {
			return nil
		}
		return errors.New(problem)
	}
	return v
}

// Draws tells whether the value draws random numbers (see Drawn).
func (v Value) Draws() bool { return v.drawn }

// IsSet tells whether the value was given.
func (v Value) IsSet() bool { return v.fn != nil }

// At evaluates the value; an unset Value is 0.
func (v Value) At(e Env) float64 {
	if v.fn == nil {
		return 0
	}
	return v.fn(e)
}

// Or returns v if set, else the default.
func (v Value) Or(def float64) Value {
	if v.IsSet() {
		return v
	}
	return Constant(def)
}

// String is the value's expression.
func (v Value) String() string { return v.Expr }

// Moment is a point of a run given as a step number, a fraction of the run (0.3) or a
// percentage ("30%").
type Moment struct {
	step     int
	fraction float64
	byStep   bool
	set      bool
}

// AtStep is the moment of a step number.
func AtStep(step int) Moment { return Moment{step: step, byStep: true, set: true} }

// AtFraction is the moment at a fraction of the run (0 first step, 1 last).
func AtFraction(f float64) Moment { return Moment{fraction: f, set: true} }

// ParseMoment reads "120" (a step), "0.3" (a fraction) or "30%". As in CLIPig, a moment may lie
// outside the run (a negative step, a fraction above 1: see Outside).
func ParseMoment(s string) (Moment, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Moment{}, fmt.Errorf("%q is not a percentage (\"30%%\")", s)
		}
		return AtFraction(f * (1. / 100)), nil // as CLIPig computes it, to the last bit
	}
	if n, err := strconv.Atoi(s); err == nil {
		return AtStep(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Moment{}, fmt.Errorf("%q is not a step (integer), a fraction from 0 to 1, or a percentage (\"30%%\")", s)
	}
	return AtFraction(f), nil
}

// Outside says where a moment lies outside every run ("before the first step", "after the last
// step"), or "" where it does not.
func (m Moment) Outside() string {
	switch {
	case m.byStep && m.step < 0 || !m.byStep && m.fraction < 0:
		return "before the first step"
	case !m.byStep && m.fraction > 1:
		return "after the last step"
	}
	return ""
}

// IsSet tells whether the moment was given.
func (m Moment) IsSet() bool { return m.set }

// Step resolves the moment in a run of steps.
func (m Moment) Step(steps int) int {
	if m.byStep {
		return m.step
	}
	at := math.Round(m.fraction * float64(max(steps-1, 0)))
	return int(min(max(at, -1), float64(steps))) // a moment outside the run: just outside it
}

// String writes the moment as ParseMoment reads it.
func (m Moment) String() string {
	if m.byStep {
		return strconv.Itoa(m.step)
	}
	return strconv.FormatFloat(m.fraction*100, 'g', -1, 64) + "%"
}

// allActive tells whether every one of periods is active at env's step.
func allActive(periods []Period, env Env) bool {
	return !slices.ContainsFunc(periods, func(p Period) bool { return !p.Active(env.Step, env.Steps) })
}

// Period is when something is active: from Start to End, both included. Unset ends are open.
type Period struct {
	Start, End Moment
}

// Active tells whether the period includes a step of a run of steps. As in CLIPig, a moment
// given as a step is compared with the step, and a fraction or percentage with the time
// t = step / (steps - 1) itself, not rounded to a step.
func (p Period) Active(step, steps int) bool {
	t := TimeAt(step, steps).T
	return !p.Start.after(step, t) && !p.End.before(step, t)
}

// after tells whether a set moment lies after a step at time t.
func (m Moment) after(step int, t float64) bool {
	if m.byStep {
		return m.set && m.step > step
	}
	return m.set && m.fraction > t
}

// before tells whether a set moment lies before a step at time t.
func (m Moment) before(step int, t float64) bool {
	if m.byStep {
		return m.set && m.step < step
	}
	return m.set && m.fraction < t
}
