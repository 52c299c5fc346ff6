package expfile

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/clipwork/clipwork/workbench"
	starmath "go.starlark.net/lib/math"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Expressions are CLIPig's, in Python syntax: Starlark, a Python dialect made for embedding,
// compiles each one once, and each step evaluates it on the host with the variables of
// docs/expressions.md and the functions of Python's math and random modules (random draws come
// from the run's seed, the step and the expression, so runs reproduce).

// timeVariables are CLIPig's expression variables and their aliases.
var timeVariables = [][2]string{
	{"time", "t"}, {"time2", "t2"}, {"time3", "t3"}, {"time4", "t4"}, {"time5", "t5"},
	{"time_inverse", "ti"}, {"time_inverse2", "ti2"}, {"time_inverse3", "ti3"}, {"time_inverse4", "ti4"},
	{"time_inverse5", "ti5"},
}

// The variable groups of CLIPig's settings (docs/reference.md names each setting's): the time
// variables, for resolution; with the resolution's, for learnrate and learnrate_scale; with the
// learning rate's, for targets' transforms and postproc; with similarity, for features' and
// constraints' values and a target's weight. Other settings take expressions without variables.
var (
	timeGroup = func() []string {
		names := []string{"epoch", "epochs", "time_step", "ts"}
		for _, v := range timeVariables {
			names = append(names, v[0], v[1])
		}
		return names
	}()
	learnrateGroup  = slices.Concat(timeGroup, []string{"resolution", "res", "width", "height"})
	targetGroup     = slices.Concat(learnrateGroup, []string{"learnrate", "lr", "learnrate_scale", "lrs"})
	similarityGroup = slices.Concat(targetGroup, []string{"similarity", "sim"})
)

// variableNames are every name an expression can use besides the functions.
var variableNames = similarityGroup

// functions are Python's math module (from math import *) and a few Python built-ins Starlark lacks.
var functions = func() starlark.StringDict {
	d := starlark.StringDict{}
	for name, v := range starmath.Module.Members {
		d[name] = v
	}
	d["atan2"] = floatFunc2("atan2", math.Atan2)
	d["log2"] = floatFunc1("log2", math.Log2)
	d["log10"] = floatFunc1("log10", math.Log10)
	d["trunc"] = starlark.NewBuiltin("trunc", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		var x starlark.Value
		if err := starlark.UnpackPositionalArgs("trunc", args, kwargs, 1, &x); err != nil {
			return nil, err
		}
		return starlark.NumberToInt(x) // Python's trunc: a whole number, NaN and infinities refused
	})
	d["range"] = boundedRange
	d[powerName] = power
	for name, v := range pythonMath() {
		d[name] = v
	}
	for name, v := range d {
		if fn, ok := v.(*starlark.Builtin); ok {
			d[name] = withMathErrors(fn)
		}
	}
	d[numberName], d[floorDivName], d[compareName], d[multiplyName] = number, floorDiv, compare, multiply
	for name, v := range pythonBuiltins() {
		d[name] = v
	}
	return d
}()

// maxExpressionSteps bounds the work of one evaluation of an expression (Starlark's execution
// steps, and the length of a range, whose iteration by built-ins such as max counts no steps):
// an expression such as "max(range(2000000000))" would otherwise hang check and run.
const maxExpressionSteps = 1_000_000

// boundedRange is Starlark's range, refusing ranges longer than maxExpressionSteps.
var boundedRange = starlark.NewBuiltin("range", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
	kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := starlark.Call(thread, starlark.Universe["range"], args, kwargs)
	if err != nil {
		return nil, err
	}
	if n := r.(starlark.Sequence).Len(); n > maxExpressionSteps {
		return nil, fmt.Errorf("range of %d values: more than the limit of %d per evaluation", n, maxExpressionSteps)
	}
	return r, nil
})

// randomNames are the functions of Python's random module an expression can call.
var randomNames = func() []string {
	var names []string
	for name := range randomFunctions(nil) {
		names = append(names, name)
	}
	return names
}()

// expression is one compiled expression.
type expression struct {
	source  string
	program *starlark.Program
	// salt tells expressions apart in the random draws.
	salt uint64
	// draws tells whether the expression calls a random function.
	draws bool
	// uses are the variables it uses; names every name it refers to.
	uses, names []string
	// random are the random functions it calls, drawing from seeded, which each evaluation
	// seeds for its step and place (under mu: evaluations of one expression take turns).
	random map[string]starlark.Value
	seeded *rand.PCG
	mu     sync.Mutex
}

// compileExpression compiles a number-valued expression, e.g. "1 - .95 * t5" or
// ".5 if t < .4 else 1.".
func compileExpression(source string) (*expression, error) {
	return compileWith(source, variableNames)
}

// compileWith is compileExpression for a setting whose expressions may use only the variables
// named (nil: none), as CLIPig's expression groups allow. It parses the source once, as the
// one statement "_ = (source)", checks its syntax tree and compiles it.
func compileWith(source string, variables []string) (*expression, error) {
	source = outsideStrings(source, func(code string) string {
		return underscoredLiteral.ReplaceAllStringFunc(code, withoutUnderscores)
	})
	file, err := (&syntax.FileOptions{}).Parse("", "_ = ("+toStarlark(source)+"\n)", 0)
	if err == nil && len(file.Stmts) != 1 {
		err = errors.New("one expression, not statements")
	}
	if err != nil {
		return nil, notAnExpression(err, source)
	}
	assign := file.Stmts[0].(*syntax.AssignStmt)
	assign.RHS = rewriteOperators(assign.RHS)
	tree := assign.RHS
	known := func(name string) bool {
		return slices.Contains(variableNames, name) || functions.Has(name) || slices.Contains(randomNames, name)
	}
	program, err := starlark.FileProgram(file, known)
	if err != nil {
		return nil, notAnExpression(err, source)
	}
	names := identifiers(tree)
	uses := slices.DeleteFunc(slices.Clone(names), func(name string) bool { return !slices.Contains(variableNames, name) })
	if i := slices.IndexFunc(uses, func(name string) bool { return !slices.Contains(variables, name) }); i >= 0 {
		allowed := "no variables (a number, or an expression of numbers)"
		if len(variables) > 0 {
			allowed = "only " + strings.Join(variables, ", ")
		}
		return nil, fmt.Errorf("%s is not available here: this setting's expressions take %s: %q", uses[i], allowed, abbreviate(source))
	}
	h := fnv.New64a()
	h.Write([]byte(source))
	x := &expression{source: source, program: program, salt: h.Sum64(), uses: uses, names: names}
	if x.draws = slices.ContainsFunc(names, func(name string) bool { return slices.Contains(randomNames, name) }); x.draws {
		x.seeded = rand.NewPCG(0, 0)
		x.random = randomFunctions(rand.New(x.seeded)) // built once: only its source's seed changes
		maps.DeleteFunc(x.random, func(name string, _ starlark.Value) bool { return !slices.Contains(names, name) })
	}
	return x, nil
}

// notAnExpression is the error of a source that does not compile.
func notAnExpression(err error, source string) error {
	return fmt.Errorf("not a number or a valid expression: %s (Python syntax, with t, epoch, width, "+
		"height, lr, ... and the math and random functions; see the README's CLIPig section): %q", errorMessage(err), abbreviate(source))
}

// identifiers are the names an expression's tree uses, each once, in order.
func identifiers(tree syntax.Expr) []string {
	var names []string
	syntax.Walk(tree, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
		return true
	})
	return names
}

// abbreviate shortens a long source for an error message to its start and end.
func abbreviate(source string) string {
	const head, tail = 60, 20
	if r := []rune(source); len(r) > head+tail+10 {
		return fmt.Sprintf("%s ... %s (%d characters)", string(r[:head]), string(r[len(r)-tail:]), len(r))
	}
	return source
}

// value is the expression as a Value of the step.
func (x *expression) value() workbench.Value {
	why := func(e workbench.Env) error { _, err := x.eval(e); return err }
	if x.draws {
		return workbench.Drawn(x.source, x.at).Explained(why)
	}
	return workbench.Func(x.source, x.at).Explained(why)
}

// at evaluates the expression at a step; an error or a value that is no number gives NaN,
// which the run reports as a non-finite loss term or value naming the step.
func (x *expression) at(e workbench.Env) float64 {
	v, err := x.eval(e)
	if err != nil {
		return math.NaN()
	}
	return v
}

func (x *expression) eval(e workbench.Env) (float64, error) {
	if x.draws {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.seeded.Seed(e.Seed^x.salt^e.Place, uint64(e.Step))
	}
	thread := &starlark.Thread{Name: x.source}
	thread.SetMaxExecutionSteps(maxExpressionSteps)
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		thread.Cancel(fmt.Sprintf("the expression takes more than %d steps, the limit per evaluation", maxExpressionSteps))
	}
	globals, err := x.program.Init(thread, x.predeclared(e))
	if err != nil {
		return 0, fmt.Errorf("expression %q: %s", abbreviate(x.source), errorMessage(err))
	}
	return toFloat(globals["_"])
}

func toFloat(v starlark.Value) (float64, error) {
	switch v := v.(type) {
	case starlark.Float:
		return float64(v), nil
	case starlark.Int:
		f, _ := starlark.AsFloat(v) // beyond float64's range: ±Inf
		return f, nil
	case starlark.Bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("the expression gives %s %s, not a number", v.Type(), v)
}

// predeclared are the names the expression refers to (x.names: the program looks up no others)
// at e: functions, random functions, and variables.
func (x *expression) predeclared(e workbench.Env) starlark.StringDict {
	d := make(starlark.StringDict, len(x.names))
	for _, name := range x.names {
		if fn, ok := functions[name]; ok {
			d[name] = fn
		} else if fn, ok := x.random[name]; ok {
			d[name] = fn
		} else if v := variable(name, e); v != nil {
			d[name] = v
		}
	}
	return d
}

// variable is the value of an expression variable (or alias) at e, or nil for another name.
func variable(name string, e workbench.Env) starlark.Value {
	for i, v := range timeVariables {
		if name != v[0] && name != v[1] {
			continue
		}
		switch {
		case i >= 5: // time_inverse, ..., time_inverse5: powers of 1 - t
			return starlark.Float(math.Pow(1-e.T, float64(i-4)))
		case i == 0:
			return starlark.Float(e.T)
		case i == 1:
			return starlark.Float(e.T * e.T)
		}
		return starlark.Float(math.Pow(e.T, float64(i+1)))
	}
	switch name {
	case "epoch":
		return starlark.MakeInt(e.Step)
	case "epochs":
		return starlark.MakeInt(e.Steps)
	case "time_step", "ts":
		return timeStep(e.T)
	case "resolution", "res":
		return starlark.NewList([]starlark.Value{starlark.MakeInt(e.Width), starlark.MakeInt(e.Height)})
	case "width":
		return starlark.MakeInt(e.Width)
	case "height":
		return starlark.MakeInt(e.Height)
	case "learnrate", "lr":
		return starlark.Float(e.LR)
	case "learnrate_scale", "lrs":
		return starlark.Float(e.LRScale)
	case "similarity", "sim":
		return starlark.Float(e.Similarity)
	}
	return nil
}

// timeStep is CLIPig's time_step(a, b): 0 before t = a, 1 after t = b, linear in between; with
// b < a it falls from 1 to 0 instead.
func timeStep(t float64) starlark.Value {
	return floatBuiltin("time_step", 2, func(a []float64) starlark.Value {
		lo, hi := a[0], a[1]
		inverse := hi < lo
		if inverse {
			lo, hi = hi, lo
		}
		s := 1.0
		switch {
		case t < lo:
			s = 0
		case t <= hi && lo != hi:
			s = (t - lo) / (hi - lo)
		}
		if inverse {
			s = 1 - s
		}
		return starlark.Float(s)
	})
}

// floatBuiltin is a built-in of count number arguments.
func floatBuiltin(name string, count int, fn func([]float64) starlark.Value) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple,
		kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != count || len(kwargs) > 0 {
			return nil, fmt.Errorf("%s takes %d numbers, got %d", name, count, len(args))
		}
		values := make([]float64, count)
		for i, a := range args {
			f, ok := starlark.AsFloat(a)
			if !ok {
				return nil, fmt.Errorf("%s: argument %d is %s, not a number", name, i+1, a.Type())
			}
			values[i] = f
		}
		return fn(values), nil
	})
}

func floatFunc1(name string, fn func(float64) float64) *starlark.Builtin {
	return floatBuiltin(name, 1, func(a []float64) starlark.Value { return starlark.Float(fn(a[0])) })
}

func floatFunc2(name string, fn func(float64, float64) float64) *starlark.Builtin {
	return floatBuiltin(name, 2, func(a []float64) starlark.Value { return starlark.Float(fn(a[0], a[1])) })
}

// splitList splits CLIPig's written lists: at commas outside brackets ("640, 480",
// "pow(2, 3), 5"), else at spaces, as CLIPig does, when every part is an expression by itself
// ("640 480", "-5*lrs 5*lrs"); anything else is one item ("t * 10", which CLIPig would split
// into three).
func splitList(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if parts != nil {
		return append(parts, strings.TrimSpace(s[start:]))
	}
	fields := strings.Fields(s)
	for _, f := range fields {
		if isNumber(f) {
			continue
		}
		if _, err := compileExpression(f); err != nil {
			return []string{s}
		}
	}
	return fields
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(withoutUnderscores(s), 64)
	return err == nil
}

// errorMessage is a Starlark error without its position in the wrapped source.
func errorMessage(err error) string {
	var list resolve.ErrorList
	var syntaxErr syntax.Error
	switch {
	case errors.As(err, &list) && len(list) > 0:
		return list[0].Msg
	case errors.As(err, &syntaxErr):
		return syntaxErr.Msg
	}
	return err.Error()
}

// underscoredNumber is a decimal number with underscores between its digits, as Python and
// PyYAML (YAML 1.1) read it: 1_000, 0.000_1.
var underscoredNumber = regexp.MustCompile(`^[-+]?[0-9]+(_[0-9]+)*(\.[0-9]+(_[0-9]+)*)?([eE][-+]?[0-9]+)?$`)

// underscoredLiteral is a number literal with underscores inside an expression (1_000 * t).
var underscoredLiteral = regexp.MustCompile(`\b[0-9][0-9_]*(\.[0-9_]+)?\b`)

// withoutUnderscores is s without the underscores of an underscoredNumber (else s).
func withoutUnderscores(s string) string {
	if !strings.Contains(s, "_") || !underscoredNumber.MatchString(s) {
		return s
	}
	return strings.ReplaceAll(s, "_", "")
}

// outsideStrings is source with fn applied to its parts outside string literals ('1_0' stays).
func outsideStrings(source string, fn func(string) string) string {
	var b strings.Builder
	for _, t := range stringSplit(source) {
		if t.literal {
			b.WriteString(t.text)
		} else {
			b.WriteString(fn(t.text))
		}
	}
	return b.String()
}

// sourcePart is a run of an expression's source, a string literal or not.
type sourcePart struct {
	text    string
	literal bool
}

// stringSplit cuts source into string literals (quoted with ' or ", backslash escapes kept) and
// the code between them.
func stringSplit(source string) []sourcePart {
	var parts []sourcePart
	start := 0
	for i := 0; i < len(source); i++ {
		if source[i] != '"' && source[i] != '\'' {
			continue
		}
		parts = append(parts, sourcePart{text: source[start:i]})
		j := stringEnd(source, i)
		parts = append(parts, sourcePart{text: source[i:j], literal: true})
		start, i = j, j-1
	}
	return append(parts, sourcePart{text: source[start:]})
}
