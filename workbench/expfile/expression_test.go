package expfile

import (
	"math"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

// TestExpressionsSpeakPython evaluates CLIPig's expressions with every variable and alias of
// docs/expressions.md at step 5 of 11 (t = 0.5) on a 640x480 image.
func TestExpressionsSpeakPython(t *testing.T) {
	env := workbench.TimeAt(5, 11)
	env.Width, env.Height, env.LR, env.LRScale, env.Similarity = 640, 480, 0.02, 0.5, 30
	tests := []struct {
		source string
		want   float64
	}{
		{".5 if t < .4 else 1.", 1},
		{"1./5.", 0.2},
		{"7 / 2", 3.5},
		{"time + time2 + t3 + time4 + t5", 0.5 + 0.25 + 0.125 + 0.0625 + 0.03125},
		{"time_inverse * 10 + ti2 + time_inverse3 + ti4 + ti5", 5 + 0.25 + 0.125 + 0.0625 + 0.03125},
		{"1. - .95 * t5", 1 - 0.95*0.03125},
		{"epoch * 2 + epochs", 21},
		{"res[0] + resolution[1] + width + height", 640 + 480 + 640 + 480},
		{"learnrate + lr + learnrate_scale + lrs", 0.04 + 1},
		{"similarity + sim", 60},
		{"time_step(0, 1) + ts(0.5, 1) * 10 + time_step(1, 0.5) * 100", 0.5 + 0 + 100},
		{"pow(2, 3) + sqrt(16) + floor(2.7) + log10(100) + abs(-1) + max(1, 2)", 8 + 4 + 2 + 2 + 1 + 2},
		{"sin(pi / 2) + cos(0) + atan2(1, 1) * 4 / pi", 3},
		{"t > 0.2 and t < 0.8 or not True", 1},
		{"int(width / 3)", 213},
		{"(t > 0.2) * 2 + 2 * (t > .9) - (t > .2)", 1},
		{"True + 1 + abs(False) + max(t > .5, .25)", 2.25},
		{"0 < t < 1", 1},
		{"1 < 2 == 2 < 3 < 2", 0},
		{"[x for x in range(5) if x > 2][0] + (7 if 0 <= t <= 1 else 0)", 10},
		{"round(2.5) + round(0.5) + round(-2.5) + round(3.5)", 4},
		{"round(2.675, 2) + round(1234, -2)", 1202.67},
		{"sum([1, 2, 3]) + sum((0.5, 0.25), 1) + divmod(7, -2)[0] + divmod(-7, 2)[1]", 6 + 1.75 - 4 + 1},
		{"sum(map(lambda x: x * 2, [1, 2, 3])) + sum(map(pow, [2, 3], [2, 2, 9])) + max(map(abs, [-3, 2]))", 12 + 13 + 3},
		{"len(list(filter(None, [0, 1, 2]))) + sum(filter(lambda x: x > t, [0.2, 0.5, 0.9]))", 2 + 0.9},
		// Python's float floor division, not floor(a / b): python3 gives these.
		{"1 // 0.1", 9}, {"224 // 0.01", 22399}, {"divmod(1, 0.1)[0]", 9}, {"-7.5 // 2", -4}, {"7 // -2.0", -4},
		{"[1 // 0.1 for _ in [0]][0] + (lambda a: a // 0.2)(1.0) + 7 // 2", 9 + 4 + 3},
		{"-1 // inf", -1}, {"1e308 // 1e-308", math.Inf(1)},
		{"1 < 2 < 3 < 4", 1}, {"3 > 2 > 1 > 0 == 0", 1}, {"0 < 0 < 1 / 0", 0}, {"1 < (2 < 3 < 4) + 1 < 3", 1},
		{"sorted([1, 3, 2], reverse=True)[0] + bool(5) + any([0, 1]) + all([])", 3 + 3},
		{"sorted([1, 3, 2], reverse=t > .2)[0] + sorted([1, 3, 2], reverse=0)[0]", 3 + 1},
		// NaN compares as in Python: equal to nothing, neither above nor below (python3 gave these).
		{"(nan > 0) + (nan == nan) * 2 + (nan != nan) * 4 + (1 if inf - inf > 0 else 8)", 4 + 8},
		{"max(1, nan) + max([3, 1, 2]) + min(4, 2, key=lambda v: -v) + max([], default=5)", 1 + 3 + 4 + 5},
		{"isnan(max(nan, 1)) + isnan(min(nan, 1))", 2},
		{"sum(x for x in range(4)) + max(v * 2 for v in [1, 3]) + sum((y for y in [1, 2])) + any(c > 2 for c in [1, 3])", 6 + 6 + 3 + 1},
		{"sum(x * y for x in range(3) for y in range(2) if x > 0) + len([(a, b) for a, b in [(1, 2)]])", 3 + 1},
		{"len('1_0') + len(\"a'b\") + 1_000", 3 + 3 + 1000},
		{"int(' 1_000 ') + int('1_0', 0) + float('2_5.5') + int('ff', 16) + int('1_0_0')", 1000 + 10 + 25.5 + 255 + 100},
		{"prod([2, 3, 4]) + fsum([0.5, 0.5]) + comb(5, 2) + perm(5, 2) + lcm(4, 6)", 24 + 1 + 10 + 20 + 12},
		{"lcm(-4, 6) + lcm(0, 5) + gcd(-12, 18) + gcd(0, -7)", 12 + 0 + 6 + 7},
		{"isclose(0.1 + 0.2, 0.3) + 2**63 / 2**62", 3},
		{"(not t > 2) * 2 + (not not 0) + (3 if not t else 4)", 2 + 0 + 4},
		{"(2 in [1, 2]) * 3 + (5 not in [1]) + (not 1 in [1]) * 10", 4},
		{"[x for x in range(5) if x in (1, 3)][1] + sum([b for a, b in [(1, 2), (3, 4)] if a not in [1]])", 7},
		{"(epoch in [5, 6]) * 0.5 + len([c for c in [1, 2, 3] if c in [2, 3]]) + ('b' in 'abc')", 3.5},
	}
	for _, test := range tests {
		x, err := compileExpression(test.source)
		if err != nil {
			t.Errorf("%s: %v", test.source, err)
			continue
		}
		if got, err := x.eval(env); err != nil || got != test.want && !(math.Abs(got-test.want) <= 1e-9) { // NaN fails too
			t.Errorf("%s = %g (%v), want %g", test.source, got, err, test.want)
		}
	}
}

// TestRandomExpressionsFollowTheSeed checks that random draws repeat for the same seed and step
// and change with either.
func TestRandomExpressionsFollowTheSeed(t *testing.T) {
	x, err := compileExpression("uniform(0, 1) + random() + gauss(0, 1) + randint(1, 6) + choice([1, 2]) + " +
		"randrange(3) + randrange(1, 9, 2) + triangular(0, 1) + expovariate(2) + lognormvariate(0, 1) + " +
		"betavariate(2, 3) + gammavariate(0.5, 1) + paretovariate(3) + weibullvariate(1, 2) + " +
		"sum(choices([1, 2], k=3)) + sum(sample([1, 2, 3], 2))")
	if err != nil {
		t.Fatal(err)
	}
	at := func(seed uint64, step int) float64 {
		e := workbench.TimeAt(step, 10)
		e.Seed = seed
		return x.value().At(e)
	}
	if at(1, 3) != at(1, 3) || at(1, 3) == at(2, 3) || at(1, 3) == at(1, 4) || math.IsNaN(at(1, 3)) {
		t.Errorf("draws: seed 1 step 3 %g (twice %g), seed 2 %g, step 4 %g", at(1, 3), at(1, 3), at(2, 3), at(1, 4))
	}
}

// TestListsAsCLIPigWritesThem reads lists in every written form.
func TestListsAsCLIPigWritesThem(t *testing.T) {
	for source, want := range map[string][2]int{
		"resolution: 640, 480":                        {640, 480},
		"resolution: 640 480":                         {640, 480},
		"resolution: [640, 480]":                      {640, 480},
		"resolution:\n  - 224 * 3\n  - pow(224, 1.2)": {672, 661},
		"resolution: 224*3":                           {672, 672},
		"resolution: 512":                             {512, 512},
	} {
		f, err := Parse("l.yaml", []byte(source+"\ntargets: [{features: [x]}]\n"))
		if err != nil {
			t.Errorf("%q: %v", source, err)
			continue
		}
		if got := [2]int{f.Experiment.Width, f.Experiment.Height}; got != want {
			t.Errorf("%q: %v, want %v", source, got, want)
		}
	}
}

// TestResolutionChangesWithTime reads a resolution expression of t.
func TestResolutionChangesWithTime(t *testing.T) {
	f, err := Parse("r.yaml", []byte("epochs: 11\nresolution:\n- 224 if t < .2 else 448\ntargets: [{features: [x]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Experiment.Resolution
	if f.Experiment.Width != 224 || r[0].At(workbench.TimeAt(1, 11)) != 224 || r[1].At(workbench.TimeAt(2, 11)) != 448 {
		t.Errorf("width %d, at t=0.1 %g, at t=0.2 %g", f.Experiment.Width, r[0].At(workbench.TimeAt(1, 11)),
			r[1].At(workbench.TimeAt(2, 11)))
	}
}

// TestRandomDrawsFollowThePlace draws the same expression apart at two places, alike at one.
func TestRandomDrawsFollowThePlace(t *testing.T) {
	x, err := compileExpression("random()")
	if err != nil {
		t.Fatal(err)
	}
	env := workbench.TimeAt(2, 10)
	a, b := x.value().At(env.In("target", "weight", 0)), x.value().At(env.In("target", "weight", 1))
	if a == b || a != x.value().At(env.In("target", "weight", 0)) {
		t.Errorf("random() at two places %g and %g, and again at the first %g", a, b, x.value().At(env.In("target", "weight", 0)))
	}
}

// TestComparisonsMissingAnOperand are syntax errors when the file is read, not failures (or
// crashes) when the expression runs.
func TestComparisonsMissingAnOperand(t *testing.T) {
	for _, source := range []string{"1 <", "1 < 2 <", "1 < < 2", "1 == < 2", "< 1"} {
		if _, err := compileExpression(source); err == nil || !strings.Contains(err.Error(), "not a number or a valid expression") {
			t.Errorf("%q: got %v, want it refused as no valid expression", source, err)
		}
	}
}

// TestOneExpressionOnly refuses a source that closes the expression's brackets to add
// statements, which would escape the checks of the expression's tree.
func TestOneExpressionOnly(t *testing.T) {
	for _, source := range []string{"1)\nx = [0] * 50\n_ = (1", "1); x = (2", "1)\n_ = (2"} {
		if _, err := compileExpression(source); err == nil || !strings.Contains(err.Error(), "not a number or a valid expression") {
			t.Errorf("%q: got %v, want it refused as no valid expression", source, err)
		}
	}
}

// TestDrawingIsKnownAtCompile tells expressions that call a random function from the rest, whose
// values every window of a step shares.
func TestDrawingIsKnownAtCompile(t *testing.T) {
	for source, draws := range map[string]bool{"random()": true, "0.1 * t + uniform(0, lr)": true,
		"sin(t) * 2": false, "[randint(0, 3) for _ in range(2)][0]": true, "t": false} {
		x, err := compileExpression(source)
		if err != nil {
			t.Fatal(err)
		}
		if x.value().Draws() != draws {
			t.Errorf("%s: Draws() = %v, want %v", source, !draws, draws)
		}
	}
}

// TestValueTellsWhyItIsNoNumber: an expression that fails at a step is NaN there, and its Value
// gives the expression's error as the reason; at other steps there is none.
func TestValueTellsWhyItIsNoNumber(t *testing.T) {
	x, err := compileExpression("1 / (epoch - 3)")
	if err != nil {
		t.Fatal(err)
	}
	v := x.value()
	if at, why := v.At(workbench.TimeAt(3, 10)), v.Why(workbench.TimeAt(3, 10)); !math.IsNaN(at) ||
		why == nil || !strings.Contains(why.Error(), "division by zero") {
		t.Errorf("at step 3: %g, why %v", at, why)
	}
	if why := v.Why(workbench.TimeAt(2, 10)); why != nil {
		t.Errorf("at step 2 the value is a number, but why says %v", why)
	}
}

// TestMathErrorsAsPython: the math functions fail where Python 3's do (each error below is what
// python3 raised for the same source), and give Python's number where it gives one.
func TestMathErrorsAsPython(t *testing.T) {
	expectErrors(t, map[string]string{
		"sqrt(-1)": "math domain error", "log(0)": "math domain error", "acos(2)": "math domain error",
		"sin(inf)": "math domain error", "atanh(1)": "math domain error", "gamma(0)": "math domain error",
		"lgamma(-1)": "math domain error", "fmod(1, 0)": "math domain error", "remainder(1, 0)": "math domain error",
		"pow(-8, 1/3)": "math domain error", "0.0 ** -1": "math domain error", "exp(1000)": "math range error",
		"ldexp(1, 2000)": "math range error", "gamma(200)": "math range error", "exp2(2000)": "math range error",
		"10.0 ** 400": "math range error", "trunc(nan)": "cannot convert float NaN to integer",
		"floor(inf)": "cannot convert float infinity to integer", "5 // 0.0": "float floor division by zero",
		"1/0 < sqrt(-1) < 3": "division by zero", "fsum([1e308, 1e308])": "intermediate overflow",
		"perm(1000000)": "more than 4096", "comb(1000000, 500000)": "more than 4096",
		"1.5 // 10 ** 400": "int too large to convert to float", "sqrt(factorial(200))": "int too large to convert to float",
		"atan(10 ** 400)": "int too large to convert to float", "fsum([10 ** 400])": "int too large to convert to float",
		"log(8, 0)": "math domain error", "log(8, -2)": "math domain error", "log(8, 1)": "division by zero",
		"(-1.0) ** 0.5": "a complex number", "max(1, 2, default=0)": "a default only with one iterable",
		"__compare(1, 2, 3)": "for parameter 1", "__compare('x', 1, 2)": "no comparison",
	})
	for source, want := range map[string]float64{"sqrt(inf)": math.Inf(1), "degrees(1e308)": math.Inf(1),
		"exp(-1000)": 0, "hypot(1e308, 1e308)": math.Sqrt2 * 1e308, "trunc(-2.7)": -2, "pow(inf, -1)": 0,
		"fsum([inf, 1])": math.Inf(1), "isnan(fsum([nan, 1]))": 1, "log(8, 2)": 3, "(-8) ** 2.0": 64} {
		x, err := compileExpression(source)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := x.eval(workbench.TimeAt(0, 10)); err != nil || got != want {
			t.Errorf("%s = %g (%v), want %g", source, got, err, want)
		}
	}
}

// TestRandomFunctionsTakePythonsArguments: keywords and defaults as Python 3.11's random module
// names them, its degenerate cases (a triangle of no width, zero weights), its refusals, and
// draws within each function's range over many steps.
func TestRandomFunctionsTakePythonsArguments(t *testing.T) {
	within := map[string][2]float64{
		"gauss(sigma=0, mu=2)": {2, 2}, "normalvariate()": {-10, 10}, "uniform(b=1, a=1)": {1, 1},
		"expovariate()": {0, 50}, "triangular(3, 3)": {3, 3}, "randint(2.0, 4)": {2, 4},
		"vonmisesvariate(1, 4)": {0, 2 * math.Pi}, "vonmisesvariate(0, 0)": {0, 2 * math.Pi},
		"getrandbits(3)": {0, 7}, "choices([1, 2, 3], weights=[0, 0, 1])[0]": {3, 3},
		"choices([1, 2, 3], cum_weights=[1, 1, 1], k=2)[1]": {1, 1}, "sum(choices([0, 1], [1, 1], k=50))": {1, 49},
	}
	for source, bounds := range within {
		x, err := compileExpression(source)
		if err != nil {
			t.Errorf("%s: %v", source, err)
			continue
		}
		for step := range 200 {
			if v, err := x.eval(workbench.TimeAt(step, 200)); err != nil || v < bounds[0] || v > bounds[1] {
				t.Errorf("%s at step %d = %g (%v), want from %g to %g", source, step, v, err, bounds[0], bounds[1])
				break
			}
		}
	}
	expectErrors(t, map[string]string{"randint(5, 1)": "empty range", "randint(1.5, 3)": "not a whole number",
		"choices([1, 2], weights=[1])": "not 2 numbers", "choices([1], [0])": "not above zero",
		"choices([1], [1], cum_weights=[1])": "both given", "gammavariate(1, 0)": "must be > 0.0",
		"betavariate(0, 1)": "must be > 0.0", "expovariate(0)": "division by zero", "paretovariate(0)": "division by zero",
		"weibullvariate(1, 0)": "division by zero"})
}

// TestMathAsPythonComputesIt: whole-number functions exact beyond 64 bits and with any number of
// arguments, fsum exact, and the float functions Starlark lacks; each value is what python3 gave.
func TestMathAsPythonComputesIt(t *testing.T) {
	for source, want := range map[string]float64{
		"factorial(25) / factorial(23)": 600, "comb(100, 50) % 1000007": 858342, "perm(30, 20) % 1000": 0,
		"perm(5)": 120, "gcd(2**40, 2**35)": 34359738368, "isqrt(10**10)": 100000, "gcd(12, 18, 8)": 2,
		"lcm(4, 6, 10)": 60, "gcd()": 0, "lcm()": 1, "hypot(3, 4, 12)": 13,
		"fsum([1e100, 1, -1e100])": 1, "fsum([0.1 for i in range(10)])": 1,
		"frexp(12.0)[0] + frexp(12.0)[1]": 4.75, "modf(-3.25)[0]": -0.25, "modf(-3.25)[1]": -3,
		"dist([0, 0], [3, 4])": 5, "nextafter(1, 2) - 1": 2.220446049250313e-16, "ulp(1.0)": 2.220446049250313e-16,
		"isclose(1, 1.1, rel_tol=0.2)": 1, "isclose(1, 1.1)": 0, "isclose(0, 1e-10, abs_tol=1e-9)": 1,
		"prod([2, 3], start=2)": 12, "sum([1, 2], start=3)": 6, "ldexp(1, 3)": 8,
	} {
		x, err := compileExpression(source)
		if err != nil {
			t.Errorf("%s: %v", source, err)
			continue
		}
		if got, err := x.eval(workbench.TimeAt(0, 10)); err != nil || got != want {
			t.Errorf("%s = %g (%v), want %g", source, got, err, want)
		}
	}
	expectErrors(t, map[string]string{"factorial(2.0)": "not a whole number", "ldexp(1, 2.5)": "for parameter 2",
		"factorial(501)": "factorials of 0 to 500", "fsum([inf, -inf])": "-inf + inf", "isqrt(-1)": "negative"})
}

// TestChainsEvaluateTheirMiddleOnce: a random middle operand of a chained comparison is drawn
// once, as Python evaluates it once, so a chain no draw can satisfy is never true.
func TestChainsEvaluateTheirMiddleOnce(t *testing.T) {
	for _, source := range []string{"1 < choice([0, 2]) < 1.5", "t < random() < t", "0 < uniform(0, 1) < 0.5 < random() < 0.5"} {
		x, err := compileExpression(source)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 100 {
			if v, err := x.eval(workbench.TimeAt(step, 100)); err != nil || v != 0 {
				t.Errorf("%s at step %d = %g (%v), want 0", source, step, v, err)
				break
			}
		}
	}
}

// TestRandintOfTheWidestRange draws randint over the widest range it takes without overflowing.
func TestRandintOfTheWidestRange(t *testing.T) {
	x, err := compileExpression("randint(-2**62, 2**62)")
	if err != nil {
		t.Fatal(err)
	}
	for step := range 50 {
		if v, err := x.eval(workbench.TimeAt(step, 50)); err != nil || math.Abs(v) > 1<<62 {
			t.Fatalf("step %d: %g, %v", step, v, err)
		}
	}
}

// expectErrors checks that each expression fails, when compiled or evaluated at the first
// step, with an error holding its text.
func expectErrors(t *testing.T, wants map[string]string) {
	t.Helper()
	for source, want := range wants {
		x, err := compileExpression(source)
		if err == nil {
			_, err = x.eval(workbench.TimeAt(0, 10))
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", source, err, want)
		}
	}
}

// TestSequencesRepeatAsInPython: a list, string or res repeated (either side of *) is Python's,
// up to a million values; more is refused when evaluated, naming the sizes. Each value is what
// python3 gave.
func TestSequencesRepeatAsInPython(t *testing.T) {
	for source, want := range map[string]float64{
		"fsum([.1] * 10)": 1, "len('ab' * 3)": 6, "len(3 * [1, 2])": 6, "len([0] * -2)": 0, "sum(res * 2)": 60,
		"len(([1] * 2) * 3)": 6, "len([0] * 1000000)": 1000000, "2 * 3": 6, "len([] * 10**30)": 0, "0.5 * t * 2.0": 0,
	} {
		x, err := compileExpression(source)
		if err != nil {
			t.Errorf("%s: %v", source, err)
			continue
		}
		env := workbench.TimeAt(0, 10)
		env.Width, env.Height = 10, 20
		if got, err := x.eval(env); err != nil || got != want {
			t.Errorf("%s = %g (%v), want %g", source, got, err, want)
		}
	}
	expectErrors(t, map[string]string{"len([0, 1] * 500001)": "repeating a sequence of 2 values 500001 times makes more than 1000000",
		"len(res * 10**30)": "makes more than", "len(([0] + [0]) * 5000000)": "makes more than",
		"len(res[:] * 5000000)": "makes more than", "len((res if t >= 0 else 0) * 5000000)": "makes more than",
		"len('x' * 500000000)": "makes more than", "len(str(res) * 50000000)": "makes more than"})
}

// BenchmarkEvaluation times one evaluation of expressions of the kinds a step evaluates: of
// time, with multiplications, and with a random draw.
func BenchmarkEvaluation(b *testing.B) {
	for _, source := range []string{"1 - .95 * t5", "0.5*t*t*3*2 + t*4*0.25*(1-t)*7", "uniform(0, 1) * t"} {
		x, err := compileExpression(source)
		if err != nil {
			b.Fatal(err)
		}
		env := workbench.TimeAt(3, 10)
		b.Run(source, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x.at(env)
			}
		})
	}
}
