package expfile

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// randomFunctions are Python's random functions drawing from rng, with Python's parameter names
// and defaults (gauss(sigma=2), expovariate()).
func randomFunctions(rng *rand.Rand) map[string]starlark.Value {
	gauss := func(a []float64) float64 { return a[0] + a[1]*rng.NormFloat64() }
	return map[string]starlark.Value{
		"random":         floatBuiltin("random", 0, func([]float64) starlark.Value { return starlark.Float(rng.Float64()) }),
		"uniform":        keywordFloats("uniform", "a b", func(a []float64) float64 { return a[0] + (a[1]-a[0])*rng.Float64() }),
		"randint":        randint(rng),
		"randrange":      randrange(rng),
		"getrandbits":    getrandbits(rng),
		"gauss":          keywordFloats("gauss", "mu=0 sigma=1", gauss),
		"normalvariate":  keywordFloats("normalvariate", "mu=0 sigma=1", gauss),
		"lognormvariate": keywordFloats("lognormvariate", "mu sigma", func(a []float64) float64 { return math.Exp(a[0] + a[1]*rng.NormFloat64()) }),
		"expovariate":    keywordFloats("expovariate", "lambd=1", func(a []float64) float64 { return rng.ExpFloat64() / a[0] }),
		"paretovariate":  keywordFloats("paretovariate", "alpha", func(a []float64) float64 { return math.Pow(1-rng.Float64(), -1/a[0]) }),
		"weibullvariate": keywordFloats("weibullvariate", "alpha beta", func(a []float64) float64 {
			return a[0] * math.Pow(-math.Log(1-rng.Float64()), 1/a[1])
		}),
		"gammavariate": keywordFloats("gammavariate", "alpha beta", func(a []float64) float64 { return gamma(rng, a[0]) * a[1] }),
		"betavariate": keywordFloats("betavariate", "alpha beta", func(a []float64) float64 {
			x := gamma(rng, a[0])
			return x / (x + gamma(rng, a[1]))
		}),
		"vonmisesvariate": keywordFloats("vonmisesvariate", "mu kappa", func(a []float64) float64 { return vonMises(rng, a[0], a[1]) }),
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
			if high == low { // Python's c would divide by zero: it returns low
				return starlark.Float(low), nil
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
		"choices": choices(rng),
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

// keywordFloats is a random function of number parameters named as Python names them, each
// "name" or "name=default" in params (space-separated), taken by position or by keyword.
func keywordFloats(name, params string, fn func([]float64) float64) *starlark.Builtin {
	var names []string
	var defaults []float64
	for _, p := range strings.Fields(params) {
		n, def, hasDefault := strings.Cut(p, "=")
		d := math.NaN()
		if hasDefault {
			var err error
			if d, err = strconv.ParseFloat(def, 64); err != nil {
				panic(fmt.Sprintf("%s's parameters %q: %v", name, params, err)) // a mistake in this file
			}
			n += "?"
		}
		names, defaults = append(names, n), append(defaults, d)
	}
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		values := make([]starlark.Value, len(names))
		pairs := make([]any, 0, 2*len(names))
		for i := range names {
			pairs = append(pairs, names[i], &values[i])
		}
		if err := starlark.UnpackArgs(name, args, kwargs, pairs...); err != nil {
			return nil, err
		}
		numbers := make([]float64, len(values))
		for i, v := range values {
			if v == nil {
				numbers[i] = defaults[i]
				continue
			}
			f, ok := starlark.AsFloat(v)
			if !ok {
				return nil, fmt.Errorf("%s: %s is %s, not a number", name, strings.TrimSuffix(names[i], "?"), v.Type())
			}
			numbers[i] = f
		}
		if check, ok := randomArgumentChecks[name]; ok {
			if err := check(numbers); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return starlark.Float(fn(numbers)), nil
	})
}

// randomArgumentChecks refuse the arguments Python's random functions refuse (ValueError or a
// division by zero) where Go's formulas would give a number.
var randomArgumentChecks = map[string]func(a []float64) error{
	"expovariate":    nonZero(0),
	"paretovariate":  nonZero(0),
	"weibullvariate": nonZero(1),
	"gammavariate":   positive,
	"betavariate":    positive,
}

// nonZero refuses a zero at argument i, which Python divides by.
func nonZero(i int) func(a []float64) error {
	return func(a []float64) error {
		if a[i] == 0 {
			return errors.New("float division by zero")
		}
		return nil
	}
}

// positive refuses arguments that are not above zero, as gammavariate and betavariate do.
func positive(a []float64) error {
	for _, v := range a {
		if !(v > 0) {
			return errors.New("alpha and beta must be > 0.0")
		}
	}
	return nil
}

// randint is Python's randint(a, b): a whole number from a to b, both included; a and b whole
// numbers with a <= b.
func randint(rng *rand.Rand) *starlark.Builtin {
	return starlark.NewBuiltin("randint", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var low, high starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &low, "b", &high); err != nil {
			return nil, err
		}
		a, errA := wholeNumber(low)
		z, errB := wholeNumber(high)
		if err := errors.Join(errA, errB); err != nil {
			return nil, fmt.Errorf("randint: %w", err)
		}
		if z < a {
			return nil, fmt.Errorf("randint(%d, %d): an empty range", a, z)
		}
		return starlark.MakeInt64(a + int64(rng.Uint64N(uint64(z-a)+1))), nil // z-a < 2^63: no overflow
	})
}

// wholeNumber is an int, or a float with no fraction (Python 3.11's random still takes 2.0).
func wholeNumber(v starlark.Value) (int64, error) {
	if f, ok := v.(starlark.Float); ok && f == starlark.Float(math.Trunc(float64(f))) && math.Abs(float64(f)) < 1<<62 {
		return int64(f), nil
	}
	n, ok := v.(starlark.Int)
	if !ok {
		return 0, fmt.Errorf("%s is not a whole number", v)
	}
	i, ok := n.Int64()
	if !ok || i > 1<<62 || i < -(1<<62) {
		return 0, fmt.Errorf("%s is too large", v)
	}
	return i, nil
}

// getrandbits is Python's getrandbits(k): a whole number of k random bits.
func getrandbits(rng *rand.Rand) *starlark.Builtin {
	return starlark.NewBuiltin("getrandbits", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var k int
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "k", &k); err != nil {
			return nil, err
		}
		if k < 0 || k > maxPowerBits {
			return nil, fmt.Errorf("getrandbits(%d): k is not from 0 to %d", k, maxPowerBits)
		}
		n := new(big.Int)
		for i := 0; i < k; i += 64 {
			word := new(big.Int).SetUint64(rng.Uint64())
			if rest := k - i; rest < 64 {
				word.Rsh(word, uint(64-rest))
			}
			n.Or(n, word.Lsh(word, uint(i)))
		}
		return starlark.MakeBigInt(n), nil
	})
}

// choices is Python's choices(population, weights=None, *, cum_weights=None, k=1): k draws with
// replacement, in proportion to the weights or the cumulative weights where given.
func choices(rng *rand.Rand) *starlark.Builtin {
	return starlark.NewBuiltin("choices", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var seq starlark.Indexable
		var weights, cumulative starlark.Value = starlark.None, starlark.None
		k := 1
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "population", &seq, "weights?", &weights,
			"cum_weights?", &cumulative, "k?", &k); err != nil {
			return nil, err
		}
		if seq.Len() == 0 || k < 0 || k > maxExpressionSteps {
			return nil, fmt.Errorf("choices: %d draws from %d values", k, seq.Len())
		}
		cum, err := cumulativeWeights(seq.Len(), weights, cumulative)
		if err != nil {
			return nil, fmt.Errorf("choices: %w", err)
		}
		out := make([]starlark.Value, k)
		for i := range out {
			if cum == nil {
				out[i] = seq.Index(rng.IntN(seq.Len()))
				continue
			}
			at := rng.Float64() * cum[len(cum)-1]
			out[i] = seq.Index(min(sort.Search(len(cum), func(j int) bool { return cum[j] > at }), len(cum)-1))
		}
		return starlark.NewList(out), nil
	})
}

// cumulativeWeights are choices' cumulative weights for n values, from weights or cumulative
// (at most one given); nil where neither is.
func cumulativeWeights(n int, weights, cumulative starlark.Value) ([]float64, error) {
	given, running := weights, true
	switch {
	case weights != starlark.None && cumulative != starlark.None:
		return nil, errors.New("weights and cum_weights both given")
	case weights == starlark.None && cumulative == starlark.None:
		return nil, nil
	case weights == starlark.None:
		given, running = cumulative, false
	}
	list, ok := given.(starlark.Indexable)
	if !ok || list.Len() != n {
		return nil, fmt.Errorf("the weights are not %d numbers", n)
	}
	cum := make([]float64, n)
	total := 0.0
	for i := range n {
		w, ok := starlark.AsFloat(list.Index(i))
		if !ok {
			return nil, fmt.Errorf("weight %d is no number", i+1)
		}
		if running {
			total += w
			w = total
		}
		cum[i] = w
	}
	if !(cum[n-1] > 0) || math.IsInf(cum[n-1], 0) {
		return nil, errors.New("the total of the weights is not above zero and finite")
	}
	return cum, nil
}

// vonMises draws from the von Mises distribution of mean angle mu and concentration kappa, by
// Python's algorithm (Best and Fisher), an angle in [0, 2pi).
func vonMises(rng *rand.Rand, mu, kappa float64) float64 {
	if kappa <= 1e-6 {
		return 2 * math.Pi * rng.Float64()
	}
	s := 0.5 / kappa
	r := s + math.Sqrt(1+s*s)
	var z float64
	for {
		z = math.Cos(math.Pi * rng.Float64())
		d := z / (r + z)
		u := rng.Float64()
		if u < 1-d*d || u <= (1-d)*math.Exp(d) {
			break
		}
	}
	q := 1 / r
	f := (q + z) / (1 + q*z)
	theta := mu - math.Acos(f)
	if rng.Float64() > 0.5 {
		theta = mu + math.Acos(f)
	}
	if theta = math.Mod(theta, 2*math.Pi); theta < 0 { // Python's % of a positive number
		theta += 2 * math.Pi
	}
	return theta
}
