package expfile

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"go.starlark.net/starlark"
)

// maxFactorial bounds factorial's argument: 500! has about 3800 bits, within maxPowerBits.
const maxFactorial = 500

// wholeNumberMath are Python's math functions of whole numbers (factorial, comb, perm, gcd, lcm,
// isqrt), computed exactly in whole numbers of up to maxPowerBits bits.
func wholeNumberMath() starlark.StringDict {
	return starlark.StringDict{
		"factorial": wholeBuiltin("factorial", 1, 1, func(a []*big.Int) (*big.Int, error) {
			if a[0].Sign() < 0 || a[0].Cmp(big.NewInt(maxFactorial)) > 0 {
				return nil, fmt.Errorf("factorial(%v): clipwork computes factorials of 0 to %d", a[0], maxFactorial)
			}
			return new(big.Int).MulRange(1, a[0].Int64()), nil
		}),
		"comb": wholeBuiltin("comb", 2, 2, func(a []*big.Int) (*big.Int, error) { return combinations(a[0], a[1], true) }),
		"perm": wholeBuiltin("perm", 1, 2, func(a []*big.Int) (*big.Int, error) {
			if len(a) == 1 { // perm(n) is perm(n, n)
				a = append(a, a[0])
			}
			return combinations(a[0], a[1], false)
		}),
		"gcd": wholeBuiltin("gcd", 0, -1, func(a []*big.Int) (*big.Int, error) {
			g := new(big.Int)
			for _, n := range a {
				g.GCD(nil, nil, g, new(big.Int).Abs(n))
			}
			return g, nil
		}),
		"lcm": wholeBuiltin("lcm", 0, -1, func(a []*big.Int) (*big.Int, error) {
			l := big.NewInt(1)
			for _, n := range a {
				if n.Sign() == 0 {
					return new(big.Int), nil
				}
				g := new(big.Int).GCD(nil, nil, l, new(big.Int).Abs(n))
				l.Mul(l, new(big.Int).Abs(n)).Quo(l, g)
			}
			return l, nil
		}),
		"isqrt": wholeBuiltin("isqrt", 1, 1, func(a []*big.Int) (*big.Int, error) {
			if a[0].Sign() < 0 {
				return nil, errors.New("isqrt: a negative number")
			}
			return new(big.Int).Sqrt(a[0]), nil
		}),
	}
}

// wholeBuiltin is a built-in of from least to most (-1: any number of) whole-number arguments,
// giving a whole number of at most maxPowerBits bits. Python's math refuses floats here, as it
// does.
func wholeBuiltin(name string, least, most int, fn func([]*big.Int) (*big.Int, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(kwargs) > 0 || len(args) < least || most >= 0 && len(args) > most {
			return nil, fmt.Errorf("%s: %d arguments, no keywords", name, len(args))
		}
		numbers := make([]*big.Int, len(args))
		for i, a := range args {
			n, ok := a.(starlark.Int)
			if !ok {
				return nil, fmt.Errorf("%s: argument %d is %s, not a whole number", name, i+1, a.Type())
			}
			numbers[i] = n.BigInt()
		}
		r, err := fn(numbers)
		if err != nil {
			return nil, err
		}
		if r.BitLen() > maxPowerBits {
			return nil, fmt.Errorf("%s: a whole number of more than %d bits", name, maxPowerBits)
		}
		return starlark.MakeBigInt(r), nil
	})
}

// combinations is comb(n, k) (choose) or perm(n, k): n * (n-1) * ... over k factors, divided by
// k! when choosing; 0 where k > n.
func combinations(n, k *big.Int, choose bool) (*big.Int, error) {
	if n.Sign() < 0 || k.Sign() < 0 {
		return nil, fmt.Errorf("comb and perm take numbers of 0 or more, got %v and %v", n, k)
	}
	if k.Cmp(n) > 0 {
		return new(big.Int), nil
	}
	if !n.IsInt64() || n.Int64() > 1<<20 {
		return nil, fmt.Errorf("comb or perm of %v: too large", n)
	}
	nn, kk := n.Int64(), k.Int64()
	if bits := resultBits(nn, kk, choose); bits > maxPowerBits {
		return nil, fmt.Errorf("comb or perm of %d and %d: a whole number of about %.0f bits, more than %d", nn, kk, bits, maxPowerBits)
	}
	if choose {
		return new(big.Int).Binomial(nn, kk), nil
	}
	return new(big.Int).MulRange(nn-kk+1, nn), nil
}

// resultBits estimates the bits of perm(n, k), or comb(n, k) where choose, from the logarithm
// of the gamma function, before computing them.
func resultBits(n, k int64, choose bool) float64 {
	lg := func(x int64) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	ln := lg(n) - lg(n-k)
	if choose {
		ln -= lg(k)
	}
	return ln / math.Ln2
}

// floatMath are Python's math functions of floats that Starlark's math module lacks or computes
// otherwise: fsum, frexp, modf, dist, hypot (of any number of coordinates), nextafter, ulp,
// ldexp.
func floatMath() starlark.StringDict {
	return starlark.StringDict{
		"fsum": starlark.NewBuiltin("fsum", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			values, err := floatsOf(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			return exactSum(values)
		}),
		"frexp": floatBuiltin("frexp", 1, func(a []float64) starlark.Value {
			m, e := math.Frexp(a[0])
			return starlark.Tuple{starlark.Float(m), starlark.MakeInt(e)}
		}),
		"modf": floatBuiltin("modf", 1, func(a []float64) starlark.Value {
			whole, frac := math.Modf(a[0])
			if math.IsInf(a[0], 0) { // Python: (0.0, inf) with the sign of x
				frac = math.Copysign(0, a[0])
			}
			return starlark.Tuple{starlark.Float(frac), starlark.Float(whole)}
		}),
		"nextafter": floatFunc2("nextafter", math.Nextafter),
		"ulp":       floatFunc1("ulp", ulp),
		"hypot": starlark.NewBuiltin("hypot", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			values, err := floatsFrom(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			return starlark.Float(norm(values)), nil
		}),
		"dist": starlark.NewBuiltin("dist", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			var p, q starlark.Iterable
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &p, &q); err != nil {
				return nil, err
			}
			ps, errP := floatsOf(b.Name(), starlark.Tuple{p}, nil)
			qs, errQ := floatsOf(b.Name(), starlark.Tuple{q}, nil)
			if err := errors.Join(errP, errQ); err != nil {
				return nil, err
			}
			if len(ps) != len(qs) {
				return nil, errors.New("dist: both points must have the same number of dimensions")
			}
			for i := range ps {
				ps[i] -= qs[i]
			}
			return starlark.Float(norm(ps)), nil
		}),
		"ldexp": starlark.NewBuiltin("ldexp", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			var i int
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &i); err != nil {
				return nil, err
			}
			f, ok := starlark.AsFloat(x)
			if !ok {
				return nil, fmt.Errorf("ldexp: %s is not a number", x.Type())
			}
			return starlark.Float(math.Ldexp(f, i)), nil
		}),
	}
}

// isclose is Python's isclose(a, b, *, rel_tol=1e-09, abs_tol=0.0), its bool as a number.
var isclose = starlark.NewBuiltin("isclose", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
	kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	var rel, abs starlark.Value = starlark.Float(1e-9), starlark.Float(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "rel_tol?", &rel, "abs_tol?", &abs); err != nil {
		return nil, err
	}
	values, err := floatsFrom(b.Name(), starlark.Tuple{x, y, rel, abs}, nil)
	if err != nil {
		return nil, err
	}
	a, c, relTol, absTol := values[0], values[1], values[2], values[3]
	if relTol < 0 || absTol < 0 {
		return nil, errors.New("isclose: tolerances must be non-negative")
	}
	if a == c {
		return boolNumber(true), nil
	}
	if math.IsInf(a, 0) || math.IsInf(c, 0) {
		return boolNumber(false), nil
	}
	d := math.Abs(a - c)
	return boolNumber(d <= relTol*math.Abs(c) || d <= relTol*math.Abs(a) || d <= absTol), nil
})

// floatsFrom are a built-in's positional arguments as numbers.
func floatsFrom(name string, args starlark.Tuple, kwargs []starlark.Tuple) ([]float64, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s takes no keywords", name)
	}
	values := make([]float64, len(args))
	for i, a := range args {
		f, err := pythonFloat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: argument %d: %w", name, i+1, err)
		}
		values[i] = f
	}
	return values, nil
}

// floatsOf are the numbers of a built-in's one iterable argument.
func floatsOf(name string, args starlark.Tuple, kwargs []starlark.Tuple) ([]float64, error) {
	var items starlark.Iterable
	if err := starlark.UnpackPositionalArgs(name, args, kwargs, 1, &items); err != nil {
		return nil, err
	}
	var values []float64
	iter := items.Iterate()
	defer iter.Done()
	var item starlark.Value
	for iter.Next(&item) {
		f, err := pythonFloat(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if values = append(values, f); len(values) > maxExpressionSteps {
			return nil, fmt.Errorf("%s: more than %d numbers", name, maxExpressionSteps)
		}
	}
	return values, nil
}

// exactSum is Python's fsum: the sum of values correctly rounded, kept in partial sums that do
// not overlap (Shewchuk's algorithm, as CPython's math module computes it).
func exactSum(values []float64) (starlark.Value, error) {
	var partials []float64
	special, infinities := 0.0, 0.0 // the sums of the non-finite values, and of the infinities
	for _, x := range values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			special += x
			if math.IsInf(x, 0) {
				infinities += x
			}
			continue
		}
		i := 0
		for _, y := range partials {
			if math.Abs(x) < math.Abs(y) {
				x, y = y, x
			}
			hi := x + y
			if math.IsInf(hi, 0) {
				return nil, errors.New("fsum: intermediate overflow")
			}
			if lo := y - (hi - x); lo != 0 {
				partials[i] = lo
				i++
			}
			x = hi
		}
		partials = append(partials[:i], x)
	}
	if special != 0 || math.IsNaN(special) {
		if math.IsNaN(infinities) {
			return nil, errors.New("fsum: -inf + inf")
		}
		return starlark.Float(special), nil
	}
	hi, lo, n := 0.0, 0.0, len(partials)
	if n > 0 {
		n--
		hi = partials[n]
		for n > 0 {
			x := hi
			n--
			y := partials[n]
			hi = x + y
			if lo = y - (hi - x); lo != 0 {
				break
			}
		}
		if n > 0 && (lo < 0 && partials[n-1] < 0 || lo > 0 && partials[n-1] > 0) { // round half to even
			y := lo * 2
			if x := hi + y; y == x-hi {
				hi = x
			}
		}
	}
	return starlark.Float(hi), nil
}

// norm is the Euclidean length of a vector, scaled by its largest coordinate against overflow;
// infinite where a coordinate is, NaN where one is and none is infinite, as Python's hypot.
func norm(v []float64) float64 {
	largest, nan := 0.0, false
	for _, x := range v {
		if math.IsInf(x, 0) {
			return math.Inf(1)
		}
		nan = nan || math.IsNaN(x)
		largest = max(largest, math.Abs(x))
	}
	if nan {
		return math.NaN()
	}
	if largest == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range v {
		sum += (x / largest) * (x / largest)
	}
	return largest * math.Sqrt(sum)
}

// ulp is Python's ulp(x): the value of the least significant bit of x.
func ulp(x float64) float64 {
	x = math.Abs(x)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	if next := math.Nextafter(x, math.Inf(1)); !math.IsInf(next, 0) {
		return next - x
	}
	return x - math.Nextafter(x, math.Inf(-1))
}
