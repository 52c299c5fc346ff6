package expfile

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Python's expressions beyond Starlark: the names of `from math import *` Starlark's math module
// lacks, and the power operator **, rewritten to pow() before compiling.

// pythonMath are the names of Python's math module that Starlark's math module lacks.
func pythonMath() starlark.StringDict {
	d := starlark.StringDict{
		"inf": starlark.Float(math.Inf(1)), "nan": starlark.Float(math.NaN()), "tau": starlark.Float(2 * math.Pi),
		"fmod":  floatFunc2("fmod", math.Mod),
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
	d["isclose"] = isclose
	d["prod"] = iterableBuiltin("prod", starlark.MakeInt(1), func(a, b starlark.Value) (starlark.Value, error) {
		return starlark.Binary(syntax.STAR, a, b)
	})
	for name, fn := range wholeNumberMath() {
		d[name] = fn
	}
	for name, fn := range floatMath() {
		d[name] = fn
	}
	return d
}

// withMathErrors is a math function that fails where Python's does (CPython's rule): a NaN from
// arguments none of which is NaN is a domain error (sqrt(-1), acos(2), sin(inf)), and an infinity
// from finite arguments a domain error where the function has a pole there (log(0), atanh(1),
// 0 ** -1) and a range error where it overflows (exp(1000), 10.0 ** 400; not degrees and
// radians, which Python lets overflow to infinity). Go's math functions
// return those NaNs and infinities, which would otherwise surface only as a NaN value at a step.
func withMathErrors(fn *starlark.Builtin) *starlark.Builtin {
	name := strings.TrimPrefix(fn.Name(), "__")
	return starlark.NewBuiltin(fn.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		result, err := fn.CallInternal(thread, args, kwargs)
		f, isFloat := result.(starlark.Float)
		if err != nil || !isFloat {
			return result, err
		}
		anyNaN, allFinite := false, true
		for _, a := range args {
			x, ok := starlark.AsFloat(a)
			if !ok { // a list (fsum, dist): the function judges its own values
				return result, nil
			}
			if _, err := pythonFloat(a); err != nil { // a float of a huge whole number
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			anyNaN = anyNaN || math.IsNaN(x)
			allFinite = allFinite && !math.IsNaN(x) && !math.IsInf(x, 0)
		}
		switch {
		case name == "log" && len(args) == 2 && !anyNaN && !(f64(args[1]) > 0 && f64(args[0]) > 0):
			return nil, errors.New("log: math domain error") // Go divides by log(base) <= 0 into -0 or NaN
		case name == "log" && len(args) == 2 && f64(args[1]) == 1:
			return nil, errors.New("log: division by zero (a base of 1)")
		case math.IsNaN(float64(f)) && !anyNaN:
			return nil, fmt.Errorf("%s: math domain error", name)
		case math.IsInf(float64(f), 0) && allFinite && hasPole(fn.Name(), args):
			return nil, fmt.Errorf("%s: math domain error (a pole)", name)
		case math.IsInf(float64(f), 0) && allFinite && name != "degrees" && name != "radians": // Python's overflow to inf
			return nil, fmt.Errorf("%s: math range error (overflow)", name)
		}
		return result, nil
	})
}

// f64 is a number argument as a float (0 for anything else).
func f64(v starlark.Value) float64 {
	f, _ := starlark.AsFloat(v)
	return f
}

// pythonFloat is a number as Python's float() takes it: a whole number too large for a float
// is an error (Python's OverflowError), not an infinity.
func pythonFloat(v starlark.Value) (float64, error) {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s is not a number", v.Type())
	}
	if _, whole := v.(starlark.Int); whole && math.IsInf(f, 0) {
		return 0, errors.New("int too large to convert to float")
	}
	return f, nil
}

// hasPole tells whether a math function's infinite result at finite arguments is a pole (log(0),
// atanh(1), gamma(0), 0 ** -1) rather than an overflow.
func hasPole(name string, args starlark.Tuple) bool {
	first, _ := starlark.AsFloat(args[0])
	switch name {
	case "log", "log2", "log10", "log1p", "atanh":
		return true
	case "gamma", "lgamma":
		return first <= 0 && first == math.Trunc(first)
	case "pow", powerName:
		return first == 0
	}
	return false
}

// floatPredicate is a test of a number giving Python's bool as a number, 1 or 0, since Starlark's
// bools do no arithmetic.
func floatPredicate(name string, fn func(float64) bool) *starlark.Builtin {
	return floatBuiltin(name, 1, func(a []float64) starlark.Value { return boolNumber(fn(a[0])) })
}

// boolNumber is Python's True or False as the number it is, 1 or 0.
func boolNumber(b bool) starlark.Value {
	if b {
		return starlark.MakeInt(1)
	}
	return starlark.MakeInt(0)
}

// operator is the built-in name that the rewritten sources call for a binary operator (symbol
// in messages), computed by fn.
func operator(name, symbol string, fn func(x, y starlark.Value) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y starlark.Value
		if err := starlark.UnpackPositionalArgs(symbol, args, kwargs, 2, &x, &y); err != nil {
			return nil, err
		}
		return fn(x, y)
	})
}

// powerName is the built-in that rewritePower calls for **.
const powerName = "__power"

// maxPowerBits bounds the whole-number results of **: Python's 10**9 is the int 1000000000, but
// a result of thousands of digits could only overflow where the value is used.
const maxPowerBits = 4096

// power is Python's ** operator: a whole number to a whole, non-negative power stays whole (2**3
// is 8, not 8.0, so range(10**3) works); anything else is a float, as math's pow gives.
var power = operator(powerName, "**", func(base, exponent starlark.Value) (starlark.Value, error) {
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
	if fx < 0 && fn != math.Trunc(fn) && !math.IsInf(fn, 0) {
		return nil, fmt.Errorf("%v ** %v is a complex number (Python's), which expressions here do not compute", base, exponent)
	}
	return starlark.Float(math.Pow(fx, fn)), nil
})

// rewritePower rewrites Python's power operator, which Starlark lacks, to __power(): a ** b binds
// tighter than a unary minus on its left (-2**2 is -4), takes a unary expression on its right
// (2**-1) and groups to the right (2**3**2 is 2**9). Sources without ** are returned unchanged.
func rewritePower(source string) string {
	tokens := pythonTokens(source)
	if !slices.Contains(tokens, "**") {
		return source
	}
	for {
		i := slices.Index(tokens, "**")
		if i < 0 {
			return strings.Join(tokens, " ")
		}
		start := primaryStart(tokens, i)
		end := unaryEnd(tokens, i+1)
		if start < 0 || end <= i+1 {
			return strings.Join(tokens, " ") // not an operator here: leave it to the compiler
		}
		rewritten := slices.Concat([]string{powerName, "("}, tokens[start:i], []string{","}, tokens[i+1:end], []string{")"})
		tokens = slices.Concat(tokens[:start], rewritten, tokens[end:])
	}
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

// twoCharOperators are Python's operators of two characters, each one token.
var twoCharOperators = []string{"**", "//", "==", "!=", "<=", ">=", "<<", ">>"}

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
			j = stringEnd(s, i)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.' ||
				(s[j] == '+' || s[j] == '-') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
		case isWordByte(c):
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
		case i+1 < len(s) && slices.Contains(twoCharOperators, s[i:i+2]):
			j = i + 2
		}
		tokens = append(tokens, s[i:j])
		i = j
	}
	return tokens
}

// stringEnd is the index just past the string literal that opens at s[i] (a quote), backslash
// escapes skipped; len(s) where it does not close.
func stringEnd(s string, i int) int {
	j := i + 1
	for j < len(s) && s[j] != s[i] {
		if s[j] == '\\' {
			j++
		}
		j++
	}
	return min(j+1, len(s))
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// numberName is the built-in that rewriteComparisons wraps comparisons in.
const numberName = "__number"

// number turns a comparison's bool into Python's 1 or 0, so that `(t > .5) * 2` computes.
var number = starlark.NewBuiltin(numberName, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
	kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	if bit, ok := v.(starlark.Bool); ok {
		return boolNumber(bool(bit)), nil
	}
	return v, nil
})

// comparisonOperators are Python's comparisons that compute numbers.
var comparisonOperators = map[string]bool{"<": true, ">": true, "<=": true, ">=": true, "==": true, "!=": true,
	"in": true, "not in": true}

// comparisonBoundaries end the operands of a comparison at their bracket depth.
var comparisonBoundaries = map[string]bool{",": true, ":": true, "=": true, "and": true, "or": true, "not": true,
	"if": true, "else": true, "lambda": true, "for": true, "in": true}

// toStarlark rewrites what Python computes and Starlark refuses: comparisons are whole numbers
// (`(t > .5) * 2`, True + 1) and chain (`0 < t < 1`), and ** is a power.
func toStarlark(source string) string {
	return rewritePower(rewriteComparisons(rewriteGenerators(source)))
}

// rewriteGenerators turns Python's generator expressions, which Starlark lacks, into list
// comprehensions: parentheses holding a for at their own level and no comma, sum(x for x in y)
// or (x for x in y), get brackets inside them, which every consumer of a generator (sum, max,
// any, list, ...) takes alike. Sources without for are returned unchanged.
func rewriteGenerators(source string) string {
	tokens := pythonTokens(source)
	if !slices.Contains(tokens, "for") {
		return source
	}
	var out []string
	for i := 0; i < len(tokens); i++ {
		end := -1
		if tokens[i] == "(" {
			end = matchingClose(tokens, i)
		}
		if end < 0 || !generatorInside(tokens[i+1:end]) {
			out = append(out, tokens[i])
			continue
		}
		inner := strings.Join(tokens[i+1:end], " ")
		out = append(out, "(", "[", rewriteGenerators(inner), "]", ")")
		i = end
	}
	return strings.Join(out, " ")
}

// generatorInside tells whether tokens (inside parentheses) hold a for at their own bracket
// depth and no comma there: a generator expression.
func generatorInside(tokens []string) bool {
	hasFor, hasComma := false, false
	atTopLevel(tokens, func(_ int, t string) {
		hasFor, hasComma = hasFor || t == "for", hasComma || t == ","
	})
	return hasFor && !hasComma
}

// atTopLevel calls visit with each token of tokens outside the brackets they hold, and its index.
func atTopLevel(tokens []string, visit func(i int, t string)) {
	depth := 0
	for i, t := range tokens {
		switch {
		case t == "(" || t == "[" || t == "{":
			depth++
		case t == ")" || t == "]" || t == "}":
			depth--
		case depth == 0:
			visit(i, t)
		}
	}
}

// rewriteComparisons wraps each comparison in __number(), as Python's bools are the numbers 1
// and 0, turns a chain a < b < c into (a < b) and (b < c) (see chain), and True and False into
// 1 and 0 but for keyword arguments.
// Sources without comparisons or booleans are returned unchanged.
func rewriteComparisons(source string) string {
	tokens := pythonTokens(source)
	if !slices.ContainsFunc(tokens, func(t string) bool {
		return comparisonOperators[t] || t == "True" || t == "False" || t == "not"
	}) {
		return source
	}
	for i, t := range tokens {
		if i > 0 && tokens[i-1] == "=" { // a keyword argument, sorted(x, reverse=True), stays a bool
			continue
		}
		switch t {
		case "True":
			tokens[i] = "1"
		case "False":
			tokens[i] = "0"
		}
	}
	return strings.Join(wrapComparisons(tokens), " ")
}

// wrapComparisons rewrites the comparisons of tokens, inside brackets first, and makes a unary
// not's bool a number too.
func wrapComparisons(tokens []string) []string {
	var out, segment []string
	nots := 0       // unary nots waiting for their operand's end
	inLoop := false // a for waits for its in, which is no membership test
	flush := func() {
		out = append(out, comparisonSegment(segment)...)
		out = append(out, slices.Repeat([]string{")"}, nots)...)
		segment, nots = nil, 0
	}
	for i := 0; i < len(tokens); i++ {
		switch t := tokens[i]; {
		case t == "(" || t == "[" || t == "{":
			end := matchingClose(tokens, i)
			if end < 0 {
				return tokens // unbalanced: leave it to the compiler
			}
			segment = slices.Concat(segment, []string{t}, wrapComparisons(tokens[i+1:end]), []string{tokens[end]})
			i = end
		case t == "not" && len(segment) == 0: // unary, not "not in"
			out = append(out, numberName, "(", "not")
			nots++
		case t == "not" && i+1 < len(tokens) && tokens[i+1] == "in":
			segment = append(segment, "not in")
			i++
		case t == "in" && !inLoop:
			segment = append(segment, t)
		case comparisonBoundaries[t]:
			inLoop = t == "for" || inLoop && t != "in"
			flush()
			out = append(out, t)
		default:
			segment = append(segment, t)
		}
	}
	flush()
	return out
}

// comparisonSegment wraps a segment that compares (operands joined by comparisons, no boundary
// between them) in __number(), a chain as the conjunction of its pairs.
func comparisonSegment(segment []string) []string {
	var operands [][]string
	var operators []string
	start := 0
	atTopLevel(segment, func(i int, t string) {
		if comparisonOperators[t] {
			operands, operators = append(operands, segment[start:i]), append(operators, t)
			start = i + 1
		}
	})
	operands = append(operands, segment[start:])
	if operators == nil || slices.ContainsFunc(operands, func(o []string) bool { return len(o) == 0 }) {
		return segment // no comparison, or one missing an operand: the compiler says so
	}
	return slices.Concat([]string{numberName, "("}, chain(operands, operators, 1), []string{")"})
}

// chain is a comparison chain, a < b < c as (a < b) and (b < c), each middle operand evaluated
// once and in order, as in Python, by a lambda taking the first two operands as its parameters:
// (lambda __m0, __m1: (__m0 < __m1) and ((__m1 < c)))(a, b). A later operand is evaluated only
// where the comparisons before it hold; n numbers the parameters of the chain's nested lambdas.
func chain(operands [][]string, operators []string, n int) []string {
	if len(operators) == 1 {
		return compared(operands[0], operators[0], operands[1])
	}
	first, middle := fmt.Sprintf("__m%d", n), fmt.Sprintf("__m%d", n+1)
	rest := append([][]string{{middle}}, operands[2:]...)
	return slices.Concat([]string{"(", "lambda", first, ",", middle, ":"}, compared([]string{first}, operators[0], []string{middle}),
		[]string{"and", "("}, chain(rest, operators[1:], n+2), []string{")", ")", "("}, operands[0], []string{","}, operands[1], []string{")"})
}

// compared is one comparison: (a in b) as Starlark has it, and an order or equality through
// __compare, which compares as Python does where Starlark does not (NaN).
func compared(a []string, op string, b []string) []string {
	if op == "in" || op == "not in" {
		return slices.Concat([]string{"("}, a, []string{op}, b, []string{")"})
	}
	return slices.Concat([]string{compareName, "(", strconv.Quote(op), ","}, a, []string{","}, b, []string{")"})
}

// compareName is the built-in that compared calls.
const compareName = "__compare"

// compare is Python's a OP b for <, >, <=, >=, == and !=: Starlark's, but for a NaN, which
// Python finds equal to nothing and neither less nor greater than anything (Starlark orders NaN
// above every number and equal to itself).
var compare = starlark.NewBuiltin(compareName, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
	_ []starlark.Tuple) (starlark.Value, error) {
	var op string
	var a, b starlark.Value
	if err := starlark.UnpackPositionalArgs(compareName, args, nil, 3, &op, &a, &b); err != nil {
		return nil, err
	}
	if _, ok := comparisonTokens[op]; !ok {
		return nil, fmt.Errorf("%s: no comparison %q", compareName, op)
	}
	if isNaN(a) || isNaN(b) {
		return starlark.Bool(op == "!="), nil
	}
	return compareValues(op, a, b)
})

// compareValues is Starlark's comparison of a and b by the operator's text.
func compareValues(op string, a, b starlark.Value) (starlark.Value, error) {
	result, err := starlark.Compare(comparisonTokens[op], a, b)
	return starlark.Bool(result), err
}

// comparisonTokens are the order and equality comparisons by their text.
var comparisonTokens = map[string]syntax.Token{"<": syntax.LT, ">": syntax.GT, "<=": syntax.LE, ">=": syntax.GE,
	"==": syntax.EQL, "!=": syntax.NEQ}

// isNaN tells whether v is a float NaN.
func isNaN(v starlark.Value) bool {
	f, ok := v.(starlark.Float)
	return ok && math.IsNaN(float64(f))
}

// pythonBuiltins are Python built-ins Starlark lacks or computes otherwise: round to even (and
// to ndigits), sum, divmod, map and filter (as lists), and bool, any and all giving Python's
// bools as the numbers they are.
func pythonBuiltins() starlark.StringDict {
	return starlark.StringDict{
		"map": starlark.NewBuiltin("map", mapBuiltin), "filter": starlark.NewBuiltin("filter", filterBuiltin),
		"bool": numbered("bool"), "any": numbered("any"), "all": numbered("all"), "sorted": sorted,
		"max": extreme("max", ">"), "min": extreme("min", "<"), "int": numberOfText("int"), "float": numberOfText("float"),
		"round": starlark.NewBuiltin("round", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			var ndigits starlark.Value = starlark.None
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x, &ndigits); err != nil {
				return nil, err
			}
			f, ok := starlark.AsFloat(x)
			if !ok {
				return nil, fmt.Errorf("round: %s is not a number", x.Type())
			}
			if ndigits == starlark.None {
				return starlark.NumberToInt(starlark.Float(math.RoundToEven(f)))
			}
			n, err := starlark.AsInt32(ndigits)
			if err != nil {
				return nil, fmt.Errorf("round: ndigits %v", err)
			}
			return starlark.Float(roundDigits(f, n)), nil
		}),
		"sum": iterableBuiltin("sum", starlark.MakeInt(0), plus),
		"divmod": starlark.NewBuiltin("divmod", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			var x, y starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
				return nil, err
			}
			q, err := floorDivide(x, y)
			if err != nil {
				return nil, err
			}
			r, err := starlark.Binary(syntax.PERCENT, x, y)
			if err != nil {
				return nil, err
			}
			return starlark.Tuple{q, r}, nil
		}),
	}
}

// roundDigits is Python's round(x, n): to n decimal digits as the shortest decimal of x
// rounds (round(2.675, 2) is 2.67), tens to the left for a negative n.
func roundDigits(x float64, n int) float64 {
	if n < 0 {
		scale := math.Pow(10, float64(-n))
		return math.RoundToEven(x/scale) * scale
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// foldNumbers combines the items of an iterable with add, from start (sum's and prod's loop).
func foldNumbers(items starlark.Iterable, start starlark.Value, add func(a, b starlark.Value) (starlark.Value, error)) (starlark.Value, error) {
	iter := items.Iterate()
	defer iter.Done()
	total := start
	var item starlark.Value
	for iter.Next(&item) {
		var err error
		if total, err = add(total, item); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// iterableBuiltin is a built-in folding an iterable's items with add from start, or from its
// start argument where given (sum, prod).
func iterableBuiltin(name string, start starlark.Value, add func(a, b starlark.Value) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var items starlark.Iterable
		from := start
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "iterable", &items, "start?", &from); err != nil {
			return nil, err
		}
		return foldNumbers(items, from, add)
	})
}

// plus is Python's +, for sum.
func plus(a, b starlark.Value) (starlark.Value, error) { return starlark.Binary(syntax.PLUS, a, b) }

// floorDivName is the built-in that rewriteOperators calls for //.
const floorDivName = "__floordiv"

// floorDiv is Python's a // b, which Starlark computes for floats as floor(a / b): 1 // 0.1 is 9
// in Python (0.1 is a little more than a tenth) and 10 in Starlark.
var floorDiv = operator(floorDivName, "//", floorDivide)

// floorDivide is Python's x // y: exact for whole numbers, and for floats the quotient that
// Python's float divmod computes from fmod.
func floorDivide(x, y starlark.Value) (starlark.Value, error) {
	_, xWhole := x.(starlark.Int)
	_, yWhole := y.(starlark.Int)
	if xWhole && yWhole {
		return starlark.Binary(syntax.SLASHSLASH, x, y)
	}
	fx, errX := pythonFloat(x)
	fy, errY := pythonFloat(y)
	if err := errors.Join(errX, errY); err != nil {
		return nil, fmt.Errorf("//: %w", err)
	}
	if fy == 0 {
		return nil, errors.New("float floor division by zero")
	}
	mod := math.Mod(fx, fy)
	div := (fx - mod) / fy
	if mod != 0 && (fy < 0) != (mod < 0) {
		div--
	}
	if div == 0 {
		return starlark.Float(math.Copysign(0, fx/fy)), nil
	}
	floor := math.Floor(div)
	if div-floor > 0.5 {
		floor++
	}
	return starlark.Float(floor), nil
}

// multiplyName is the built-in that rewriteOperators calls for *.
const multiplyName = "__multiply"

// maxRepeatedLength bounds the sequence a repetition makes ([0.1] * 10): the step limit does
// not count the one step that allocates it, which could take gigabytes.
const maxRepeatedLength = 1_000_000

// multiply is Python's x * y, a sequence's repetition refused beyond maxRepeatedLength.
var multiply = operator(multiplyName, "*", func(x, y starlark.Value) (starlark.Value, error) {
	sequence, count := x, y
	if _, ok := x.(starlark.Int); ok {
		sequence, count = y, x
	}
	s, isSequence := sequence.(interface{ Len() int }) // lists, tuples, and strings and bytes, which are no starlark.Sequence
	n, isInt := count.(starlark.Int)
	if isSequence && isInt && s.Len() > 0 {
		if times, ok := n.Int64(); !ok || times > 0 && int64(s.Len())*min(times, maxRepeatedLength+1) > maxRepeatedLength {
			return nil, fmt.Errorf("repeating a sequence of %d values %s times makes more than %d values", s.Len(), n, maxRepeatedLength)
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
})

// rewriteOperators replaces every a // b in e by __floordiv(a, b), and every a * b by
// __multiply(a, b), which bounds a sequence's repetition, returning the new e.
func rewriteOperators(e syntax.Expr) syntax.Expr {
	r := rewriteOperators
	switch n := e.(type) {
	case *syntax.BinaryExpr:
		n.X, n.Y = r(n.X), r(n.Y)
		switch {
		case n.Op == syntax.SLASHSLASH:
			return operatorCall(floorDivName, n)
		case n.Op == syntax.STAR && !isFloatLiteral(n.X) && !isFloatLiteral(n.Y): // any other may be a sequence (res[:] * n)
			return operatorCall(multiplyName, n)
		}
	case *syntax.UnaryExpr:
		n.X = r(n.X)
	case *syntax.ParenExpr:
		n.X = r(n.X)
	case *syntax.DotExpr:
		n.X = r(n.X)
	case *syntax.CallExpr:
		n.Fn = r(n.Fn)
		rewriteEach(n.Args)
	case *syntax.IndexExpr:
		n.X, n.Y = r(n.X), r(n.Y)
	case *syntax.SliceExpr:
		n.X, n.Lo, n.Hi, n.Step = r(n.X), r(n.Lo), r(n.Hi), r(n.Step)
	case *syntax.CondExpr:
		n.Cond, n.True, n.False = r(n.Cond), r(n.True), r(n.False)
	case *syntax.ListExpr:
		rewriteEach(n.List)
	case *syntax.TupleExpr:
		rewriteEach(n.List)
	case *syntax.DictExpr:
		rewriteEach(n.List)
	case *syntax.DictEntry:
		n.Key, n.Value = r(n.Key), r(n.Value)
	case *syntax.LambdaExpr:
		rewriteEach(n.Params)
		n.Body = r(n.Body)
	case *syntax.Comprehension:
		n.Body = r(n.Body)
		for _, clause := range n.Clauses {
			switch c := clause.(type) {
			case *syntax.ForClause:
				c.X = r(c.X)
			case *syntax.IfClause:
				c.Cond = r(c.Cond)
			}
		}
	}
	return e
}

// rewriteEach is rewriteOperators of each expression of a list, in place.
func rewriteEach(list []syntax.Expr) {
	for i, e := range list {
		list[i] = rewriteOperators(e)
	}
}

// isFloatLiteral says whether x is a float literal, which no sequence is repeated by.
func isFloatLiteral(x syntax.Expr) bool {
	l, ok := x.(*syntax.Literal)
	return ok && l.Token == syntax.FLOAT
}

// operatorCall is the call of the built-in name with a binary expression's operands.
func operatorCall(name string, n *syntax.BinaryExpr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: n.OpPos, Name: name}, Lparen: n.OpPos,
		Args: []syntax.Expr{n.X, n.Y}, Rparen: n.OpPos}
}

// numbered is Starlark's built-in of that name with its bool result as a number, 1 or 0, as
// Python's bools do arithmetic (any(...) + 1).
func numbered(name string) *starlark.Builtin {
	builtin := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := builtin.CallInternal(thread, args, kwargs)
		if b, ok := v.(starlark.Bool); ok && err == nil {
			return boolNumber(bool(b)), nil
		}
		return v, err
	})
}

// mapBuiltin is Python's map(f, iterable, ...): f of the iterables' items in step, up to the
// shortest, as a list (Python's iterator, which expressions read whole).
func mapBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 || len(args) < 2 {
		return nil, fmt.Errorf("map: takes a function and at least one iterable")
	}
	var columns [][]starlark.Value
	for _, iterable := range args[1:] {
		items, err := listOf(b.Name(), iterable)
		if err != nil {
			return nil, err
		}
		columns = append(columns, items)
	}
	var out []starlark.Value
	for i := 0; !slices.ContainsFunc(columns, func(c []starlark.Value) bool { return i >= len(c) }); i++ {
		call := make(starlark.Tuple, len(columns))
		for j, c := range columns {
			call[j] = c[i]
		}
		v, err := starlark.Call(thread, args[0], call, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return starlark.NewList(out), nil
}

// filterBuiltin is Python's filter(f, iterable): the items f takes for true (None: the true
// items), as a list.
func filterBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f, iterable starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &f, &iterable); err != nil {
		return nil, err
	}
	items, err := listOf(b.Name(), iterable)
	if err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, item := range items {
		keep := item
		if f != starlark.None {
			if keep, err = starlark.Call(thread, f, starlark.Tuple{item}, nil); err != nil {
				return nil, err
			}
		}
		if keep.Truth() {
			out = append(out, item)
		}
	}
	return starlark.NewList(out), nil
}

// listOf is an iterable's items.
func listOf(name string, iterable starlark.Value) ([]starlark.Value, error) {
	it, ok := iterable.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: %s is not iterable", name, iterable.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var items []starlark.Value
	var x starlark.Value
	for iter.Next(&x) {
		items = append(items, x)
	}
	return items, nil
}

// sorted is Starlark's sorted taking reverse as Python does, any value by its truth (the
// comparisons here are numbers: sorted(x, reverse=t > .5)).
var sorted = starlark.NewBuiltin("sorted", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
	kwargs []starlark.Tuple) (starlark.Value, error) {
	kw := make([]starlark.Tuple, len(kwargs))
	for i, pair := range kwargs {
		kw[i] = pair
		if pair[0] == starlark.String("reverse") {
			kw[i] = starlark.Tuple{pair[0], pair[1].Truth()}
		}
	}
	return starlark.Call(thread, starlark.Universe["sorted"], args, kw)
})

// extreme is Python's max (op ">") or min ("<"): of its arguments, or of one iterable, by key
// where given, default where the iterable is empty; an item replaces the one kept only where it
// compares op to it, so a NaN neither replaces nor is replaced (max(1, nan) is 1, max(nan, 1) nan).
func extreme(name, op string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var key, fallback starlark.Value
		if err := starlark.UnpackArgs(name, nil, kwargs, "key?", &key, "default?", &fallback); err != nil {
			return nil, err
		}
		if fallback != nil && len(args) > 1 {
			return nil, fmt.Errorf("%s: a default only with one iterable, as Python has it", name)
		}
		items := []starlark.Value(args)
		if len(args) == 1 {
			iterable, ok := args[0].(starlark.Iterable)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not iterable", name, args[0].Type())
			}
			items = nil
			iter := iterable.Iterate()
			defer iter.Done()
			var x starlark.Value
			for iter.Next(&x) {
				items = append(items, x)
			}
		}
		if len(items) == 0 {
			if fallback != nil {
				return fallback, nil
			}
			return nil, fmt.Errorf("%s() arg is an empty sequence", name)
		}
		keyOf := func(v starlark.Value) (starlark.Value, error) {
			if key == nil || key == starlark.None {
				return v, nil
			}
			return starlark.Call(thread, key, starlark.Tuple{v}, nil)
		}
		best := items[0]
		bestKey, err := keyOf(best)
		for _, item := range items[1:] {
			if err != nil {
				return nil, err
			}
			var k starlark.Value
			if k, err = keyOf(item); err != nil {
				return nil, err
			}
			if isNaN(k) || isNaN(bestKey) {
				continue
			}
			var better starlark.Value
			if better, err = compareValues(op, k, bestKey); err == nil && better == starlark.True {
				best, bestKey = item, k
			}
		}
		return best, err
	})
}

// numberOfText is Starlark's int or float taking text as Python's does: surrounding whitespace,
// and underscores between digits (int(' 1_000 ') is 1000).
func numberOfText(name string) *starlark.Builtin {
	builtin := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			if text, ok := args[0].(starlark.String); ok {
				args = append(starlark.Tuple{starlark.String(withoutDigitUnderscores(strings.TrimSpace(string(text))))}, args[1:]...)
			}
		}
		return builtin.CallInternal(thread, args, kwargs)
	})
}

// withoutDigitUnderscores is s without the underscores between two digits (or hex letters),
// as Python allows them in numbers (1_0_0).
func withoutDigitUnderscores(s string) string {
	for {
		next := digitUnderscores.ReplaceAllString(s, "$1$2")
		if next == s {
			return s
		}
		s = next
	}
}

// digitUnderscores matches an underscore between two digits or hex letters.
var digitUnderscores = regexp.MustCompile(`([0-9a-fA-F])_([0-9a-fA-F])`)
