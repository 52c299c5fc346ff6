package expfile

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"go.starlark.net/starlark"
)

// Python's expressions beyond Starlark: the names of `from math import *` Starlark's math module
// lacks, and the power operator **, rewritten to pow() before compiling.

// pythonMath are the names of Python's math module that Starlark's math module lacks.
func pythonMath() starlark.StringDict {
	d := starlark.StringDict{
		"inf": starlark.Float(math.Inf(1)), "nan": starlark.Float(math.NaN()), "tau": starlark.Float(2 * math.Pi),
		"fmod": floatFunc2("fmod", math.Mod), "ldexp": floatFunc2("ldexp", func(x, i float64) float64 { return math.Ldexp(x, int(i)) }),
		"log1p": floatFunc1("log1p", math.Log1p), "expm1": floatFunc1("expm1", math.Expm1),
		"erf": floatFunc1("erf", math.Erf), "erfc": floatFunc1("erfc", math.Erfc), "cbrt": floatFunc1("cbrt", math.Cbrt),
		"exp2":   floatFunc1("exp2", math.Exp2),
		"lgamma": floatFunc1("lgamma", func(x float64) float64 { v, _ := math.Lgamma(x); return v }),
		"isnan":  floatPredicate("isnan", math.IsNaN),
		"isinf":  floatPredicate("isinf", func(x float64) bool { return math.IsInf(x, 0) }),
		"isfinite": floatPredicate("isfinite", func(x float64) bool {
			return !math.IsNaN(x) && !math.IsInf(x, 0)
		}),
	}
	d["factorial"] = intBuiltin("factorial", 1, func(a []int64) (int64, error) {
		if a[0] < 0 || a[0] > 20 {
			return 0, fmt.Errorf("factorial(%d): clipwork computes factorials of 0 to 20", a[0])
		}
		r := int64(1)
		for i := int64(2); i <= a[0]; i++ {
			r *= i
		}
		return r, nil
	})
	d["gcd"] = intBuiltin("gcd", 2, func(a []int64) (int64, error) {
		x, y := max(a[0], -a[0]), max(a[1], -a[1])
		for y != 0 {
			x, y = y, x%y
		}
		return x, nil
	})
	d["isqrt"] = intBuiltin("isqrt", 1, func(a []int64) (int64, error) {
		if a[0] < 0 {
			return 0, fmt.Errorf("isqrt of a negative number")
		}
		r := int64(math.Sqrt(float64(a[0])))
		for r*r > a[0] {
			r--
		}
		for (r+1)*(r+1) <= a[0] {
			r++
		}
		return r, nil
	})
	return d
}

func floatPredicate(name string, fn func(float64) bool) *starlark.Builtin {
	return floatBuiltin(name, 1, func(a []float64) starlark.Value { return starlark.Bool(fn(a[0])) })
}

// intBuiltin is a built-in of count whole-number arguments giving a whole number.
func intBuiltin(name string, count int, fn func([]int64) (int64, error)) *starlark.Builtin {
	return numberBuiltin(name, count, func(a starlark.Value) (int64, error) {
		n, err := starlark.AsInt32(a)
		return int64(n), err
	}, func(values []int64) (starlark.Value, error) {
		r, err := fn(values)
		if err != nil {
			return nil, err
		}
		return starlark.MakeInt64(r), nil
	})
}

// powerName is the built-in that rewritePower calls for **.
const powerName = "__power"

// maxPowerBits bounds the whole-number results of **: Python's 10**9 is the int 1000000000, but
// a result of thousands of digits could only overflow where the value is used.
const maxPowerBits = 4096

// power is Python's ** operator: a whole number to a whole, non-negative power stays whole (2**3
// is 8, not 8.0, so range(10**3) works); anything else is a float, as math's pow gives.
var power = starlark.NewBuiltin(powerName, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
	kwargs []starlark.Tuple) (starlark.Value, error) {
	var base, exponent starlark.Value
	if err := starlark.UnpackPositionalArgs("**", args, kwargs, 2, &base, &exponent); err != nil {
		return nil, err
	}
	x, xWhole := base.(starlark.Int)
	n, nWhole := exponent.(starlark.Int)
	if xWhole && nWhole && n.Sign() >= 0 {
		base := x.BigInt()
		if base.CmpAbs(big.NewInt(1)) <= 0 { // 0, 1 and -1: the power's parity is all that counts
			same := int64(2) // an even power
			switch {
			case n.Sign() == 0:
				same = 0
			case n.BigInt().Bit(0) == 1:
				same = 1
			}
			return starlark.MakeBigInt(new(big.Int).Exp(base, big.NewInt(same), nil)), nil
		}
		e, ok := n.Int64()
		if !ok || e > maxPowerBits/int64(base.BitLen()) {
			return nil, fmt.Errorf("%v ** %v is too large a whole number", x, n)
		}
		return starlark.MakeBigInt(new(big.Int).Exp(base, big.NewInt(e), nil)), nil
	}
	fx, okX := starlark.AsFloat(base)
	fn, okN := starlark.AsFloat(exponent)
	if !okX || !okN {
		return nil, fmt.Errorf("unsupported operands for **: %s and %s", base.Type(), exponent.Type())
	}
	return starlark.Float(math.Pow(fx, fn)), nil
})

// rewritePower rewrites Python's power operator, which Starlark lacks, to __power(): a ** b binds
// tighter than a unary minus on its left (-2**2 is -4), takes a unary expression on its right
// (2**-1) and groups to the right (2**3**2 is 2**9). Sources without ** are returned unchanged.
func rewritePower(source string) string {
	tokens := pythonTokens(source)
	if !containsToken(tokens, "**") {
		return source
	}
	for {
		i := indexToken(tokens, "**")
		if i < 0 {
			return strings.Join(tokens, " ")
		}
		start := primaryStart(tokens, i)
		end := unaryEnd(tokens, i+1)
		if start < 0 || end <= i+1 {
			return strings.Join(tokens, " ") // not an operator here: leave it to the compiler
		}
		rewritten := slicesConcat([]string{powerName, "("}, tokens[start:i], []string{","}, tokens[i+1:end], []string{")"})
		tokens = slicesConcat(tokens[:start], rewritten, tokens[end:])
	}
}

func slicesConcat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func containsToken(tokens []string, t string) bool { return indexToken(tokens, t) >= 0 }

func indexToken(tokens []string, t string) int {
	for i, x := range tokens {
		if x == t {
			return i
		}
	}
	return -1
}

// isOperand tells whether a token is a name, number or string.
func isOperand(t string) bool {
	c := t[0]
	return c == '_' || c == '.' && len(t) > 1 || c == '"' || c == '\'' || c >= '0' && c <= '9' ||
		c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "if": true, "else": true, "in": true,
	"for": true, "lambda": true, "is": true}

// primaryStart is where the primary (an atom with its calls, indexing and attributes) that ends
// before tokens[end] starts, or -1.
func primaryStart(tokens []string, end int) int {
	i := end - 1
	for i >= 0 {
		switch t := tokens[i]; {
		case t == ")" || t == "]" || t == "}":
			i = matchingOpen(tokens, i)
			if i < 0 {
				return -1
			}
			// a call or an index continues the primary before it
			if i > 0 && (isOperand(tokens[i-1]) && !keywords[tokens[i-1]] || tokens[i-1] == ")" || tokens[i-1] == "]") {
				i--
				continue
			}
			return i
		case isOperand(t) && !keywords[t]:
			if i > 0 && tokens[i-1] == "." {
				i -= 2
				continue
			}
			return i
		default:
			return -1
		}
	}
	return -1
}

// unaryEnd is where the unary expression (unary signs, a primary, and a power of it) that starts
// at tokens[start] ends, or start when there is none.
func unaryEnd(tokens []string, start int) int {
	i := start
	for i < len(tokens) && (tokens[i] == "-" || tokens[i] == "+" || tokens[i] == "~") {
		i++
	}
	if i >= len(tokens) {
		return start
	}
	switch t := tokens[i]; {
	case t == "(" || t == "[" || t == "{":
		i = matchingClose(tokens, i)
	case isOperand(t) && !keywords[t]:
	default:
		return start
	}
	if i < 0 {
		return start
	}
	i++
	for i < len(tokens) { // trailers: calls, indexing, attributes
		switch tokens[i] {
		case "(", "[":
			if i = matchingClose(tokens, i); i < 0 {
				return start
			}
			i++
		case ".":
			i += 2
		default:
			if tokens[i] == "**" {
				if end := unaryEnd(tokens, i+1); end > i+1 {
					return end
				}
			}
			return i
		}
	}
	return min(i, len(tokens))
}

func matchingOpen(tokens []string, close int) int { return matching(tokens, close, -1) }

func matchingClose(tokens []string, open int) int { return matching(tokens, open, 1) }

// matching is the index of the bracket matching tokens[from], looking in direction step.
func matching(tokens []string, from, step int) int {
	depth := 0
	for i := from; i >= 0 && i < len(tokens); i += step {
		switch tokens[i] {
		case "(", "[", "{":
			depth += step
		case ")", "]", "}":
			depth -= step
		}
		if depth == 0 {
			return i
		}
	}
	return -1
}

// pythonTokens splits an expression into Python's tokens: names, numbers (1.5e-3), strings,
// and operators (** and the other two-character ones as one token).
func pythonTokens(s string) []string {
	var tokens []string
	for i := 0; i < len(s); {
		c := s[i]
		j := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '"' || c == '\'':
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.' ||
				(s[j] == '+' || s[j] == '-') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
		case isWordByte(c):
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
		case i+1 < len(s) && strings.Contains("** // == != <= >= << >>", s[i:i+2]):
			j = i + 2
		}
		tokens = append(tokens, s[i:j])
		i = j
	}
	return tokens
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
