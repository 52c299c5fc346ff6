package expfile

import (
	"fmt"
	"math"
	"math/rand/v2"

	"go.starlark.net/starlark"
)

// randomFunctions are Python's random functions drawing from rng.
func randomFunctions(rng *rand.Rand) map[string]starlark.Value {
	gauss := func(a []float64) starlark.Value { return starlark.Float(a[0] + a[1]*rng.NormFloat64()) }
	return map[string]starlark.Value{
		"random":  floatBuiltin("random", 0, func([]float64) starlark.Value { return starlark.Float(rng.Float64()) }),
		"uniform": floatFunc2("uniform", func(a, b float64) float64 { return a + (b-a)*rng.Float64() }),
		"randint": floatBuiltin("randint", 2, func(a []float64) starlark.Value {
			return starlark.MakeInt64(int64(a[0]) + rng.Int64N(max(int64(a[1])-int64(a[0])+1, 1)))
		}),
		"randrange":      randrange(rng),
		"gauss":          floatBuiltin("gauss", 2, gauss),
		"normalvariate":  floatBuiltin("normalvariate", 2, gauss),
		"lognormvariate": floatFunc2("lognormvariate", func(mu, sigma float64) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }),
		"expovariate":    floatFunc1("expovariate", func(lambda float64) float64 { return rng.ExpFloat64() / lambda }),
		"paretovariate":  floatFunc1("paretovariate", func(alpha float64) float64 { return math.Pow(1-rng.Float64(), -1/alpha) }),
		"weibullvariate": floatFunc2("weibullvariate", func(alpha, beta float64) float64 {
			return alpha * math.Pow(-math.Log(1-rng.Float64()), 1/beta)
		}),
		"gammavariate": floatFunc2("gammavariate", func(alpha, beta float64) float64 { return gamma(rng, alpha) * beta }),
		"betavariate": floatFunc2("betavariate", func(a, b float64) float64 {
			x := gamma(rng, a)
			return x / (x + gamma(rng, b))
		}),
		"triangular": starlark.NewBuiltin("triangular", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			var lowArg, highArg, modeArg starlark.Value = starlark.Float(0), starlark.Float(1), starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "low?", &lowArg, "high?", &highArg, "mode?", &modeArg); err != nil {
				return nil, err
			}
			low, okLow := starlark.AsFloat(lowArg)
			high, okHigh := starlark.AsFloat(highArg)
			mode, okMode := starlark.AsFloat(modeArg)
			if !okMode && modeArg == starlark.None {
				mode, okMode = (low+high)/2, true
			}
			if !okLow || !okHigh || !okMode {
				return nil, fmt.Errorf("triangular takes numbers")
			}
			u, c := rng.Float64(), (mode-low)/(high-low)
			if u > c {
				return starlark.Float(high + (low-high)*math.Sqrt((1-u)*(1-c))), nil
			}
			return starlark.Float(low + (high-low)*math.Sqrt(u*c)), nil
		}),
		"choice": sequenceBuiltin("choice", func(seq starlark.Indexable, _ int) (starlark.Value, error) {
			return seq.Index(rng.IntN(seq.Len())), nil
		}),
		"choices": sequenceBuiltin("choices", func(seq starlark.Indexable, k int) (starlark.Value, error) {
			out := make([]starlark.Value, k)
			for i := range out {
				out[i] = seq.Index(rng.IntN(seq.Len()))
			}
			return starlark.NewList(out), nil
		}),
		"sample": sequenceBuiltin("sample", func(seq starlark.Indexable, k int) (starlark.Value, error) {
			if k > seq.Len() {
				return nil, fmt.Errorf("sample larger than the sequence (%d of %d)", k, seq.Len())
			}
			out := make([]starlark.Value, k)
			for i, j := range rng.Perm(seq.Len())[:k] {
				out[i] = seq.Index(j)
			}
			return starlark.NewList(out), nil
		}),
	}
}

// randrange is Python's randrange(stop), randrange(start, stop) or randrange(start, stop, step).
func randrange(rng *rand.Rand) *starlark.Builtin {
	return starlark.NewBuiltin("randrange", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var start, stop, step int = 0, 0, 1
		var err error
		switch len(args) {
		case 1:
			err = starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &stop)
		default:
			err = starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &start, &stop, &step)
		}
		if err != nil {
			return nil, err
		}
		if step == 0 {
			return nil, fmt.Errorf("randrange: a step of 0")
		}
		n := (stop - start + step - sign(step)) / step
		if n <= 0 {
			return nil, fmt.Errorf("randrange(%d, %d, %d) is empty", start, stop, step)
		}
		return starlark.MakeInt(start + step*rng.IntN(n)), nil
	})
}

func sign(x int) int {
	if x < 0 {
		return -1
	}
	return 1
}

// sequenceBuiltin is a built-in of a non-empty sequence and, for choices and sample, a count k
// (choices' k defaults to 1).
func sequenceBuiltin(name string, fn func(seq starlark.Indexable, k int) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var seq starlark.Indexable
		k := 1
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "seq", &seq, "k?", &k); err != nil {
			return nil, err
		}
		if seq.Len() == 0 {
			return nil, fmt.Errorf("%s from an empty sequence", name)
		}
		if k < 0 || k > maxExpressionSteps {
			return nil, fmt.Errorf("%s: k %d is not from 0 to %d", name, k, maxExpressionSteps)
		}
		return fn(seq, k)
	})
}

// gamma draws from the gamma distribution of shape alpha and scale 1 (Marsaglia and Tsang's
// method; shapes below 1 boosted by a uniform's power).
func gamma(rng *rand.Rand, alpha float64) float64 {
	if alpha <= 0 || math.IsNaN(alpha) {
		return math.NaN()
	}
	if alpha < 1 {
		return gamma(rng, alpha+1) * math.Pow(rng.Float64(), 1/alpha)
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := rng.Float64(); math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
