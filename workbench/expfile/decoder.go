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

	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// Error is one problem in an experiment file, at a line and column, or in a setting.
type Error struct {
	// File is the file's name, or the setting (--set key=value) or flag (--learnrate abc), which
	// has no lines (Line 0).
	File         string
	Line, Column int
	Message      string
	// setup marks a problem CLIPig finds only when it sets a target up (see decoder.setup).
	setup bool
}

func (e *Error) Error() string {
	return position(e.File, e.Line, fmt.Sprintf("%d:%d", e.Line, e.Column)) + ": " + e.Message
}

// position is a value's place for messages: FILE:at, or, for a value of line 0, the setting
// that gave it (see markSetting).
func position(source string, line int, at string) string {
	if line == 0 {
		return source
	}
	return source + ":" + at
}

// decoder turns YAML nodes into workbench values, collecting every error with its position.
type decoder struct {
	// files names the file each node came from (files merge, so nodes mix).
	files map[*yaml.Node]string
	errs  []error
	notes []error
	// width and height are the experiment's resolution, steps its epochs, for expressions fixed
	// when the file is read (`center_crop: width / 2`); sizeChanges tells that the resolution
	// changes during the run.
	width, height, steps int
	sizeChanges          bool
	// seed is the experiment's seed, for the random draws of expressions without variables,
	// which are drawn once, when the file is read; drawn counts those draws, in the order read.
	seed, drawn uint64
	// variables are those the expressions of the settings being read may use (nil: none).
	variables []string
	// texts are the features' text nodes.
	texts []*yaml.Node
}

// within reads settings with fn whose expressions may use variables.
func (d *decoder) within(variables []string, fn func()) {
	outer := d.variables
	d.variables = variables
	fn()
	d.variables = outer
}

// fromFile tells whether n was read from a file, rather than given by a setting, which has no
// file to resolve relative paths against.
func (d *decoder) fromFile(n *yaml.Node) bool {
	return d.files[n] != "" && n.Line > 0
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.files[n], Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...)})
}

// mapping calls fn for every key of a mapping node, reporting keys outside allowed with the
// nearest allowed one.
func (d *decoder) mapping(n *yaml.Node, what string, allowed []string, fn func(key string, value *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of keys to values, got %s", what, describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, key.Value) {
			d.errorf(key, "unknown key %q in %s%s", key.Value, what, suggestion(key.Value, allowed))
			continue
		}
		fn(key.Value, value)
	}
}

// nearest is the candidate nearest to word, in letters of either case, closer than limit edits,
// or "".
func nearest(word string, candidates []string, limit int) string {
	best := ""
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), strings.ToLower(c)); d < limit {
			best, limit = c, d
		}
	}
	return best
}

// suggestion names the allowed word nearest to a misspelling, or lists them all.
func suggestion(word string, allowed []string) string {
	best := nearest(word, allowed, len(word)/2+2)
	for _, a := range allowed { // a key's start written alone (kernel for kernel_size) wins
		if len(word) >= 3 && strings.HasPrefix(a, word) && (best == "" || !strings.HasPrefix(best, word) || len(a) < len(best)) {
			best = a
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (allowed: %s)", strings.Join(allowed, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a single value, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// numeric reads a scalar that holds a number or an expression, a plain one as PyYAML reads it
// (see yaml11Number: every underscore of a number dropped, 1__0 is 10), a number's underscores
// dropped as Python reads them (1_000), and a number beyond a float's range as Python's float
// takes it (1e400 is inf).
func (d *decoder) numeric(n *yaml.Node, what string) (string, bool) {
	s, ok := d.scalar(n, what)
	switch {
	case !ok:
		return s, ok
	case isNull(n):
		written := map[bool]string{true: "left empty (null)", false: "null"}[n.Value == ""]
		d.errorf(n, "%s is %s: give a number or an expression (CLIPig refuses null here too)", what, written)
		return "", false
	case quoted(n) && strings.TrimSpace(s) == "":
		d.errorf(n, "%s is empty: give a number or an expression", what)
		return "", false
	case !quoted(n):
		s = yaml11Number(s)
	}
	s = withoutUnderscores(s)
	if f, err := strconv.ParseFloat(s, 64); errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
		s = strconv.FormatFloat(f, 'g', -1, 64) // +Inf or -Inf, which the checks then refuse by name
	}
	return s, ok
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

// choice reads one of allowed, naming the nearest when the value is none of them.
func (d *decoder) choice(n *yaml.Node, what string, allowed []string) string {
	s, ok := d.scalar(n, what)
	if ok && !slices.Contains(allowed, s) {
		d.errorf(n, "%s %q is not one of %s%s", what, s, strings.Join(allowed, ", "), suggestion(s, allowed))
	}
	return s
}

// foldedChoice reads one of allowed in any case (CLIPig lowercases loss names), as lower case.
func (d *decoder) foldedChoice(n *yaml.Node, what string, allowed []string) string {
	written := n.Value
	n.Value = strings.ToLower(written)
	defer func() { n.Value = written }()
	return d.choice(n, what, allowed)
}

// boolean reads a boolean as CLIPig's YAML 1.1 reader does: true/false, yes/no, on/off in any
// case (and Go's 1/0, t/f).
func (d *decoder) boolean(n *yaml.Node, what string) bool {
	s, ok := d.scalar(n, what)
	if !ok {
		return false
	}
	if quoted(n) { // a string, which Python's bool takes for true unless empty
		return s != ""
	}
	switch strings.ToLower(s) {
	case "yes", "on", "true":
		return true
	case "no", "off", "false":
		return false
	}
	f, err := strconv.ParseFloat(yaml11Number(s), 64)
	if err != nil {
		d.errorf(n, "%s must be true or false (or yes, no, on, off), got %q", what, s)
	}
	return f != 0
}

// active reads CLIPig's active, which CLIPig takes as Python's bool() of what PyYAML reads: its
// bools (yes/no/on/off/true/false in three cases each), null and numbers as Python takes them,
// a list true unless empty ({} false, other mappings refused, as CLIPig refuses their keys as
// unknown parameters), and any other text true (`oFF`, `0e0` and `t > 0.5` are
// strings to PyYAML, and true; clipwork says so where it is not a bool word).
func (d *decoder) active(n *yaml.Node, what string) bool {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode && len(n.Content) == 0 {
		return len(n.Content) > 0
	}
	s, ok := d.scalar(n, what)
	switch {
	case !ok:
		return false
	case quoted(n):
		if f, err := strconv.ParseFloat(yaml11Number(s), 64); s != "" && (err == nil && f == 0 || pyyamlNull.MatchString(s)) {
			d.notef(n, "%s: %q is quoted, text to CLIPig's YAML reader, which Python takes for true; write it without quotes", what, s)
		}
		return s != ""
	case pyyamlBool.MatchString(s) || pyyamlInt.MatchString(s) || pyyamlFloat.MatchString(s):
		f, _ := strconv.ParseFloat(yaml11Number(s), 64)
		return f != 0
	case pyyamlNull.MatchString(s):
		return false
	}
	d.notef(n, "%s: %q is text to CLIPig's YAML reader, which Python takes for true; write true or false", what, s)
	return true
}

// PyYAML's (YAML 1.1) forms of plain scalars: bools, whole numbers, floats and null.
var (
	pyyamlBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	pyyamlInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	pyyamlFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	pyyamlNull  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
)

// quoted tells whether a scalar was written in quotes, which makes it a string to PyYAML.
func quoted(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
}

// sexagesimal is a YAML 1.1 base-60 number, 1:30 (90) or 1:30.5.
var sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$`)

// yaml11Number is a plain scalar that PyYAML (YAML 1.1) reads as a number or a bool written as
// Go reads numbers: octal 020 as 16, binary 0b101 as 5, hex 0x1F as 31, base 60 1:30 as 90, .inf and .nan, and
// yes/no/on/off/true/false (in PyYAML's cases: no, No, NO) as 1 and 0 (Python's bools are
// numbers); anything else unchanged.
func yaml11Number(s string) string {
	plain := strings.ReplaceAll(s, "_", "") // PyYAML drops every underscore of a number (1__0 is 10)
	switch {
	case pyyamlBool.MatchString(s) && slices.Contains([]string{"yes", "on", "true"}, strings.ToLower(s)):
		return "1"
	case pyyamlBool.MatchString(s):
		return "0"
	case (pyyamlInt.MatchString(s) || pyyamlFloat.MatchString(s)) && sexagesimal.MatchString(s):
		digits := strings.TrimLeft(plain, "+-")
		value := 0.0
		for _, part := range strings.Split(digits, ":") {
			f, _ := strconv.ParseFloat(part, 64)
			value = value*60 + f
		}
		return plain[:len(plain)-len(digits)] + strconv.FormatFloat(value, 'g', -1, 64)
	case pyyamlInt.MatchString(s): // decimal, octal 020, binary 0b101, hex 0x1F: exact at any size
		if v, ok := new(big.Int).SetString(plain, 0); ok {
			return v.String()
		}
	case pyyamlFloat.MatchString(s):
		if lower := strings.ToLower(plain); strings.Contains(lower, ".inf") || strings.Contains(lower, ".nan") {
			return strings.Replace(lower, ".", "", 1)
		}
		return plain
	}
	return s
}

// integer reads a whole number of at least minimum, or an expression of one fixed at the
// start of the run (converted to int, as CLIPig does).
func (d *decoder) integer(n *yaml.Node, what string, minimum int) int {
	s, ok := d.numeric(n, what)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		f, ok := d.evaluate(n, s, what)
		if !ok {
			return 0
		}
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			d.errorf(n, "%s must be a whole number, got %v", what, f)
			return 0
		case math.Abs(f) >= 1<<62:
			d.errorf(n, "%s %v is far too large for clipwork", what, f)
			return 0
		}
		v = int(f)
	}
	if v < minimum {
		d.errorf(n, "%s must be at least %d, got %d", what, minimum, v)
	}
	return v
}

// number reads a number, or an expression of one fixed at the start of the run.
func (d *decoder) number(n *yaml.Node, what string) float64 {
	s, ok := d.numeric(n, what)
	if !ok {
		return 0
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v
	}
	v, _ := d.evaluate(n, s, what)
	return v
}

// evaluate computes an expression at the start of the run, as a value fixed for the run.
func (d *decoder) evaluate(n *yaml.Node, source, what string) (float64, bool) {
	x, err := compileWith(source, d.variables)
	if err == nil {
		var v float64
		if v, err = x.eval(d.readingEnv(x)); err == nil {
			return v, true
		}
	}
	d.errorf(n, "%s must be a number: %v", what, errorMessage(err))
	return 0, false
}

// start is the Env at the run's first step, for expressions evaluated when the file is read.
func (d *decoder) start() workbench.Env {
	return workbench.Env{Steps: max(d.steps, 2), Width: d.width, Height: d.height, LR: 1, LRScale: 1}
}

// readingEnv is the Env x is evaluated at when the file is read: start, with a seed of its own
// where x draws random numbers, from the experiment's seed and how many such expressions were
// read before it, so that each draws its own and the same file and seed draw the same
// (wherever the file lies, whatever its comments).
func (d *decoder) readingEnv(x *expression) workbench.Env {
	e := d.start()
	if x.draws {
		d.drawn++
		e.Seed = d.seed ^ (d.drawn * 0x9e3779b97f4a7c15)
	}
	return e
}

// value reads a number or an expression of time (see compileExpression), and evaluates it to
// report errors such as an unknown name or a result that is no number (see failsThroughout).
func (d *decoder) value(n *yaml.Node, what string) workbench.Value {
	return d.checkedValue(n, what, nil)
}

// fixed reads a value fixed for the run: a number, or an expression of what stays fixed (see
// changes) without random draws, evaluated once. CLIPig evaluates such settings (kernel sizes,
// border sizes, rnoise's resolution) at every step; clipwork's step graph is built from them.
func (d *decoder) fixed(n *yaml.Node, what string) workbench.Value {
	v := d.checkedValue(n, what, func(x *expression) error {
		if x.draws && len(x.uses) > 0 || slices.ContainsFunc(x.uses, d.changes) {
			return fmt.Errorf("clipwork fixes it for the run (the step is built from it): give a number or an "+
				"expression of what stays fixed (epochs, and the resolution where it does not change), without "+
				"random draws, not %q", abbreviate(x.source))
		}
		return nil
	})
	if v.IsSet() {
		fixed := workbench.Constant(v.At(d.start()))
		fixed.Where = v.Where
		return fixed
	}
	return v
}

// checkedValue is value, an expression refused where check (if any) says why.
func (d *decoder) checkedValue(n *yaml.Node, what string, check func(*expression) error) workbench.Value {
	s, ok := d.numeric(n, what)
	if !ok {
		return workbench.Value{}
	}
	where := position(d.files[n], n.Line, fmt.Sprintf("%d:%d", n.Line, n.Column))
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		c := workbench.Constant(v)
		c.Where = where
		return c
	}
	x, err := compileWith(s, d.variables)
	if err == nil && x.draws && len(x.uses) == 0 {
		// CLIPig evaluates an expression without variables once, when it reads the file: its
		// random draws hold for the whole run
		var v float64
		if v, err = x.eval(d.readingEnv(x)); err == nil {
			c := workbench.Constant(v)
			c.Where = where
			return c
		}
	}
	if err == nil && check != nil {
		err = check(x)
	}
	if err == nil {
		err = d.failsThroughout(x)
	}
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return workbench.Value{}
	}
	v := x.value()
	v.Where = where
	return v
}

// failsThroughout is x's error at the start of the run where it fails there and at every step
// of eleven through the run; nil where it evaluates at one. A value that fails at some steps
// only is refused by the checks before the run, or stops the run, where it is active at one of
// them: CLIPig evaluates a setting with a period (a constraint from `start: 60%`) only there.
func (d *decoder) failsThroughout(x *expression) error {
	_, err := x.eval(d.start())
	if err == nil || len(x.uses) == 0 {
		return err
	}
	for i := range 11 {
		e := d.start()
		at := workbench.TimeAt(i*(e.Steps-1)/10, e.Steps)
		e.Step, e.T = at.Step, at.T
		if _, later := x.eval(e); later == nil {
			return nil
		}
	}
	return err
}

// changes tells whether a variable changes during the run: all but epochs, and the resolution's
// where the resolution does not change.
func (d *decoder) changes(variable string) bool {
	switch variable {
	case "epochs":
		return false
	case "resolution", "res", "width", "height":
		return d.sizeChanges
	}
	return true
}

// periodKey reads key into p when it is start or end, and tells whether it was.
func (d *decoder) periodKey(key string, v *yaml.Node, p *workbench.Period) bool {
	switch key {
	case "start":
		p.Start = d.moment(v, key)
	case "end":
		p.End = d.moment(v, key)
	default:
		return false
	}
	return true
}

// moment reads a start or end as CLIPig does: a whole number is a step, a number with a point
// a fraction of the run, "N%" a percentage; any other text an expression of numbers giving a
// fraction (`1/2`, `10*5%`). Values outside the run are kept, as CLIPig keeps them, with a
// note.
func (d *decoder) moment(n *yaml.Node, what string) workbench.Moment {
	s, ok := d.numeric(n, what)
	if !ok {
		return workbench.Moment{}
	}
	m, err := workbench.ParseMoment(s)
	if err != nil {
		source, percent := strings.CutSuffix(strings.TrimSpace(s), "%")
		var f float64
		d.within(nil, func() { f, ok = d.evaluate(n, source, what) })
		if !ok {
			return workbench.Moment{}
		}
		if percent {
			f *= 1. / 100
		}
		if m = workbench.AtFraction(f); math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, "%s is %v", what, f)
		}
	}
	if what == "end" && strings.TrimSpace(s) == "1" {
		d.notef(n, "end 1 is step 1 (a whole number is a step, as in CLIPig); the run's end is 1.0 or 100%%")
	}
	if outside := m.Outside(); outside != "" {
		d.notef(n, "%s %s is %s (a number with a point is a fraction of the run, as in CLIPig; "+
			"a step is a whole number)", what, s, outside)
	}
	return m
}

// items reads a list as CLIPig writes it: a YAML list, "640, 480" or "640 480" (see
// splitList); any other single value is a list of one (so "0.1 * ti" stays one expression and
// "metal armour" one text).
func (d *decoder) items(n *yaml.Node, what string) []*yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Content
	case yaml.ScalarNode:
		parts := splitList(n.Value)
		if len(parts) == 1 {
			return []*yaml.Node{n}
		}
		var out []*yaml.Node
		for _, p := range parts {
			item := &yaml.Node{Kind: yaml.ScalarNode, Value: p, Line: n.Line, Column: n.Column}
			d.files[item] = d.files[n]
			out = append(out, item)
		}
		return out
	}
	d.errorf(n, "%s must be a list, got %s", what, describe(n))
	return nil
}

// entries reads a list of entries (targets, features, transforms, ...): a YAML list, or one
// entry written alone, never split as items splits written lists of numbers.
func (d *decoder) entries(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	if isNull(n) {
		d.errorf(n, "%s is empty (null): give its entries as a list, or remove the key (CLIPig refuses it too)", what)
		return nil
	}
	if n.Kind == yaml.ScalarNode || n.Kind == yaml.MappingNode {
		return []*yaml.Node{n}
	}
	d.errorf(n, "%s must be a list, got %s", what, describe(n))
	return nil
}

// numbers reads a list of count numbers (or one number, repeated).
func (d *decoder) numbers(n *yaml.Node, what string, count int) []float64 {
	items := d.items(n, what)
	if len(items) == 1 && count > 1 { // one value for all: read, and reported, once
		return slices.Repeat([]float64{d.number(items[0], what)}, count)
	}
	if len(items) != count {
		d.errorf(n, "%s needs %d numbers, got %d", what, count, len(items))
		return make([]float64, count)
	}
	out := make([]float64, count)
	for i, item := range items {
		out[i] = d.number(item, what)
	}
	return out
}

// valueRange reads [low, high] values (one value means low = high).
func (d *decoder) valueRange(n *yaml.Node, what string) [2]workbench.Value {
	items := d.items(n, what)
	switch len(items) {
	case 1:
		v := d.value(items[0], what)
		return [2]workbench.Value{v, v}
	case 2:
		return [2]workbench.Value{d.value(items[0], what), d.value(items[1], what)}
	}
	d.errorf(n, "%s needs [low, high] or one value, got %d values", what, len(items))
	return [2]workbench.Value{}
}

func (d *decoder) numberRange(n *yaml.Node, what string) [2]float64 {
	v := d.numbers(n, what, 2)
	if v[1] < v[0] {
		d.errorf(n, "%s [%g, %g]: low is above high", what, v[0], v[1])
	}
	return [2]float64{v[0], v[1]}
}

// keyedItem reads a list item of CLIPig's transforms or constraints, such as
// `- blur: {sigma: 1}`, calling fn for each of its keys in order: an item may hold several, and
// one without a value (`- blur:`) is skipped, as CLIPig skips it.
func (d *decoder) keyedItem(n *yaml.Node, what string, allowed []string, fn func(key string, value *yaml.Node)) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		d.errorf(n, "each %s is a key and its settings, such as `- %s: ...`, got %s", what, allowed[0], describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, key.Value):
			d.errorf(key, "unknown %s %q%s", what, key.Value, suggestion(key.Value, allowed))
		case isNull(value):
			d.noSettings(key, what, key.Value)
		default:
			fn(key.Value, value)
		}
	}
}

// noSettings refuses a transform, constraint or postproc key given no settings (null), at n,
// as CLIPig's parameter conversion refuses it.
func (d *decoder) noSettings(n *yaml.Node, what, key string) {
	d.errorf(n, "%s %q has no settings: give them (`%s: ...`) or remove it (CLIPig refuses it too)", what, key, key)
}

// isNull says whether n is YAML's null (null, ~ or nothing), what CLIPig's nullable settings
// (a feature's text and image, init's image, blur's sigma) take as not given.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// pythonText is a scalar as CLIPig's str() of what PyYAML reads it as: a plain bool as True or
// False, a whole number in decimal (010 is 8, 0x10 16, 1:30 90, 1_000 1000), a float as Python
// writes it (1.50 is 1.5, .inf inf); quoted scalars and other text as written.
func pythonText(n *yaml.Node) string {
	s := n.Value
	if quoted(n) || n.Kind != yaml.ScalarNode {
		return s
	}
	switch {
	case pyyamlBool.MatchString(s):
		return map[string]string{"1": "True", "0": "False"}[yaml11Number(s)]
	case pyyamlInt.MatchString(s):
		return yaml11Number(s)
	case pyyamlFloat.MatchString(s):
		f, err := strconv.ParseFloat(yaml11Number(s), 64)
		if err == nil {
			return pythonFloatText(f)
		}
	}
	return s
}

// pythonFloatText is f as Python's str() writes it: the shortest digits that read back as f,
// in exponent form below 1e-4 and from 1e16 on (1e-05, 1e+16), else with a decimal point
// (1.0, 0.0001).
func pythonFloatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	mantissa, exponent, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	e, _ := strconv.Atoi(exponent)
	if e < -4 || e >= 16 {
		sign := "+"
		if e < 0 {
			sign, e = "-", -e
		}
		return fmt.Sprintf("%se%s%02d", mantissa, sign, e)
	}
	text := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(text, ".") {
		text += ".0"
	}
	return text
}
