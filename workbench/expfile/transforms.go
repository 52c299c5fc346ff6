package expfile

import (
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// windowKinds are clipwork's own window geometry, an addition to CLIPig's transforms.
var windowKinds = []string{"window", "perspective", "random_perspective"}

// transform reads one item of a target's transforms into t; its pixel transforms but the last
// leave the pixels unclamped for the next (see workbench.Transform.Unclamped).
func (d *decoder) transform(n *yaml.Node, t *workbench.Target) {
	allowed := slices.Concat(workbench.TransformKeys(), workbench.GeometricKeys(), windowKinds)
	first := len(t.Transforms)
	defer func() { joinItem(t.Transforms[first:]) }()
	d.keyedItem(n, "transform", allowed, func(kind string, v *yaml.Node) {
		switch {
		case kind == "window":
			d.window(v, &t.Window)
		case kind == "perspective" || kind == "random_perspective":
			t.Window.Perspective = d.number(v, kind)
		case slices.Contains(workbench.GeometricKeys(), kind):
			t.Geometry = append(t.Geometry, d.geometric(kind, v))
		default:
			tr := d.pixelTransform(kind, v)
			tr.After = len(t.Geometry)
			t.Transforms = append(t.Transforms, tr)
		}
	})
}

// geometric reads one of CLIPig's geometric transforms: `random_shift: -.1 .1`,
// `center_crop: width / 2` or `random_rotate: {degree: [-10, 10], center: [.4, .6]}`.
func (d *decoder) geometric(key string, n *yaml.Node) workbench.Geometric {
	kind, _ := workbench.LookupGeometric(key)
	g := workbench.Geometric{Kind: key, Values: make([][]workbench.Value, len(kind.Params))}
	var names []string
	for _, p := range kind.Params {
		names = append(names, p.Name)
	}
	if n.Kind != yaml.MappingNode {
		g.Values[0] = d.geometricValues(n, key, kind.Params[0])
	} else {
		if key == "pad" {
			names = append(names, "mode")
		}
		d.mapping(n, key, names, func(k string, v *yaml.Node) {
			if k == "mode" {
				g.Pad = workbench.PadFillModes[d.choice(v, k, []string{"fill", "edge", "wrap"})]
				return
			}
			i := slices.Index(names, k)
			g.Values[i] = d.geometricValues(v, key, kind.Params[i])
		})
	}
	for i, p := range kind.Params {
		if g.Values[i] != nil {
			continue
		}
		if p.Default == nil {
			d.errorf(n, "%s needs its %s", key, p.Name)
			continue
		}
		for _, x := range p.Default {
			g.Values[i] = append(g.Values[i], workbench.Constant(x))
		}
	}
	if key == "pad" && len(g.Values[1]) == 3 && g.Values[1][0].Expr+g.Values[1][1].Expr+g.Values[1][2].Expr != "000" {
		d.note(n, "pad.color")
	}
	return g
}

// geometricValues reads a parameter's values (see paramValues), each changing over the run.
func (d *decoder) geometricValues(n *yaml.Node, key string, p workbench.Param) []workbench.Value {
	return d.paramValues(n, key, p, d.value)
}

// extraValues reads a transform's or constraint's further parameter i (see paramValues): fixed
// for the run where it shapes the step (i below fixed), else a value of time, as CLIPig
// evaluates them at every step. A kernel_size or sigma given below the least CLIPig takes is
// that least (max(1, k) and max(0.0001, sigma)): no blur, where 0 would leave it to the
// default. The edge transform's sigma, which CLIPig gives torchvision as it is, must be above 0
// (see positive), and a border's size 0 or more, where CLIPig fails.
func (d *decoder) extraValues(n *yaml.Node, key string, params []workbench.Param, i, fixed int) []workbench.Value {
	p, read := params[i], d.value
	if i < fixed {
		read = d.fixed
	}
	values := d.paramValues(n, key, p, read)
	least := map[string]float64{"kernel_size": 1, "sigma": 0.0001}[p.Name]
	negative := func(v workbench.Value) bool { return v.At(d.start()) < 0 }
	if key == workbench.TransformBorder && p.Name == "size" && slices.ContainsFunc(values, negative) {
		d.errorf(n, "border size must be 0 or more (CLIPig fails on a negative one)")
	}
	if key == workbench.TransformEdge && p.Name == "sigma" {
		return d.positive(n, values, "edge sigma must be above 0 (CLIPig's edge gives it to torchvision's gaussian_blur, which refuses it)")
	}
	for i, v := range values {
		switch number, err := strconv.ParseFloat(v.Expr, 64); {
		case least == 0 || !v.IsSet():
		case err == nil && number < least: // written as the least, since a 0 would read back as not given
			values[i] = workbench.Constant(least)
			values[i].Where = v.Where
		default:
			values[i] = v.AtLeast(least)
		}
	}
	return values
}

// positive refuses the numbers of values that are not above 0 with problem, at n, and makes
// the others refused at the steps where they are not (see Value.AboveZero).
func (d *decoder) positive(n *yaml.Node, values []workbench.Value, problem string) []workbench.Value {
	for i, v := range values {
		if x, err := strconv.ParseFloat(v.Expr, 64); err == nil && !(x > 0) {
			d.errorf(n, "%s", problem)
			return values
		}
		values[i] = v.AboveZero(problem)
	}
	return values
}

// paramValues reads a parameter's values, each by read: as many as it takes, or one filling them; two
// for random_shift's four give the same range to x and y.
func (d *decoder) paramValues(n *yaml.Node, key string, p workbench.Param,
	read func(*yaml.Node, string) workbench.Value) []workbench.Value {
	what := key + " " + p.Name
	if p.Name == "xywh" {
		what += " (x, y, width, height)"
	}
	items := d.items(n, what)
	if len(items) == 1 {
		values := d.copies(items[0], what, p.Size, read)
		return slices.Repeat(values, p.Size/len(values))
	}
	var values []workbench.Value
	for _, item := range items {
		values = append(values, read(item, what))
	}
	pairs := key == "random_shift" // CLIPig's length [2, 4]; crop's four take 1 or 4
	switch {
	case len(values) == 2 && pairs:
		return slices.Concat(values, values)
	case len(values) != p.Size:
		counts := []int{1, p.Size}
		if pairs {
			counts = append(counts, 2)
		}
		d.errorf(n, "%s takes %s, got %d", what, valueCounts(counts), len(values))
	}
	return values
}

// valueCounts words the numbers of values a parameter takes: "1 or 3 values".
func valueCounts(counts []int) string {
	slices.Sort(counts)
	counts = slices.Compact(counts)
	words := make([]string, len(counts))
	for i, c := range counts {
		words[i] = strconv.Itoa(c)
	}
	if len(words) == 1 {
		return words[0] + map[bool]string{true: " value", false: " values"}[counts[0] == 1]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1] + " values"
}

func (d *decoder) window(n *yaml.Node, w *workbench.Window) {
	keys := []string{"size", "full_frame", "scale", "rotate", "center_x", "center_y", "perspective", "pad"}
	d.mapping(n, "window", keys, func(key string, v *yaml.Node) {
		switch key {
		case "size":
			w.Size = d.number(v, key)
		case "full_frame":
			w.FullFrame = d.boolean(v, key)
		case "scale":
			w.Scale = d.numberRange(v, key)
		case "rotate":
			w.Rotate = d.numberRange(v, key)
		case "center_x":
			w.CenterX = d.numberRange(v, key)
		case "center_y":
			w.CenterY = d.numberRange(v, key)
		case "perspective":
			w.Perspective = d.number(v, key)
		case "pad":
			w.Pad = d.choice(v, key, workbench.PadModes)
		}
	})
}

// pixelTransform reads a transform of TransformKinds as `blur: 1`, `blur: [0.5, 2]` or
// `blur: {sigma: [0.5, 2], kernel_size: 5, start: 10%}`.
func (d *decoder) pixelTransform(key string, n *yaml.Node) workbench.Transform {
	kind, _ := workbench.LookupTransform(key)
	tr := workbench.Transform{Kind: key, Extra: make([][]workbench.Value, len(kind.Extra))}
	if n.Kind != yaml.MappingNode {
		tr.Values = d.transformValues(n, kind)
		return tr
	}
	names := []string{kind.Param, "start", "end"}
	for _, p := range kind.Extra {
		names = append(names, p.Name)
	}
	d.mapping(n, key, names, func(k string, v *yaml.Node) {
		if d.periodKey(k, v, &tr.Period) || k == "sigma" && isNull(v) { // a null sigma is the default
			return
		}
		switch i := slices.Index(names, k); {
		case k == kind.Param:
			tr.Values = d.transformValues(v, kind)
		default:
			tr.Extra[i-3] = d.extraValues(v, key, kind.Extra, i-3, kind.Fixed)
		}
	})
	if len(tr.Values) == 0 && key == workbench.TransformBlur { // torchvision's sigma of the kernel, 3 by default
		k := 3.0
		if tr.Extra[0] != nil {
			k = max(tr.Extra[0][0].At(d.start()), tr.Extra[0][1].At(d.start()))
		}
		tr.Values = []workbench.Value{workbench.Constant(workbench.KernelSigma(k))}
	}
	if len(tr.Values) == 0 && kind.Default == nil {
		d.errorf(n, "%s needs its %s", key, kind.Param)
	}
	for i, p := range kind.Extra {
		if tr.Extra[i] == nil && p.Default == nil {
			d.errorf(n, "%s needs its %s", key, p.Name)
		}
	}
	return tr
}

// transformValues reads a pixel transform's parameter: one value, as many as it takes, or two
// for a range where the kind draws from one.
func (d *decoder) transformValues(n *yaml.Node, kind *workbench.TransformKind) []workbench.Value {
	what := kind.Key + " " + kind.Param
	if kind.Param == kind.Key {
		what = kind.Key
	}
	items := d.items(n, what)
	if c := len(items); c != 1 && c != kind.Values && (c != 2 || !kind.Range) {
		counts := []int{1, kind.Values}
		if kind.Range {
			counts = append(counts, 2)
		}
		d.errorf(n, "%s takes %s, got %d", what, valueCounts(counts), c)
		return nil
	}
	if len(items) == 1 {
		return d.copies(items[0], what, kind.Values, d.value)
	}
	var values []workbench.Value
	for _, item := range items {
		values = append(values, d.value(item, what))
	}
	return values
}

// copies reads one value given for count channels: once, or, where it is an expression without
// variables that draws random numbers, once for each channel, as CLIPig makes an expression of
// each copy and evaluates each when it reads the file.
func (d *decoder) copies(n *yaml.Node, what string, count int, read func(*yaml.Node, string) workbench.Value) []workbench.Value {
	values := []workbench.Value{read(n, what)}
	if x, err := compileWith(n.Value, d.variables); err == nil && x.draws && len(x.uses) == 0 {
		for len(values) < count {
			values = append(values, read(n, what))
		}
	}
	return values
}

// constraints reads a constraints item, `- saturation: {below: 0.4, weight: 2}` or
// `- noise: {std: 0.1}`, which may hold several.
func (d *decoder) constraints(n *yaml.Node) []workbench.Constraint {
	var out []workbench.Constraint
	d.keyedItem(n, "constraint", workbench.ConstraintKeys(), func(key string, v *yaml.Node) {
		out = append(out, d.constraint(key, v))
	})
	return out
}

// constraint reads one constraint's settings.
func (d *decoder) constraint(key string, v *yaml.Node) workbench.Constraint {
	c := workbench.Constraint{Kind: key}
	kind, _ := workbench.LookupConstraint(key)
	c.Extra = make([][]workbench.Value, len(kind.Extra))
	keys := []string{"weight", "start", "end", "above", "below", "target", "loss", "on"}
	for _, p := range kind.Extra {
		keys = append(keys, p.Name)
	}
	d.mapping(v, "constraint "+key, keys, func(k string, v *yaml.Node) {
		if d.periodKey(k, v, &c.Period) || k == "sigma" && isNull(v) { // a null sigma is the default
			return
		}
		switch i := slices.Index(keys, k); k {
		case "weight":
			c.Weight = d.value(v, k)
		case "above":
			c.Above = d.bound(v, k)
		case "below":
			c.Below = d.bound(v, k)
		case "target":
			c.Target = d.value(v, k)
		case "loss":
			c.Loss = d.foldedChoice(v, k, workbench.ConstraintLosses)
		case "on":
			c.OnImage = d.choice(v, k, []string{"windows", "image"}) == "image"
		default:
			c.Extra[i-8] = d.extraValues(v, key, kind.Extra, i-8, kind.Fixed)
		}
	})
	for i, p := range kind.Extra {
		if c.Extra[i] == nil && p.Default == nil {
			d.errorf(v, "constraint %s needs its %s", key, p.Name)
		}
	}
	if slices.Contains(boundedConstraints, key) && c.Above == nil && c.Below == nil && !c.Target.IsSet() {
		d.errorf(v, "constraint %s needs above or below (or clipwork's target), as in CLIPig, e.g. `%s: {above: 0.4}`", key, key)
	}
	return c
}

// boundedConstraints are CLIPig's constraints of an above or below bound, which it refuses
// without one.
var boundedConstraints = []string{"mean", "std", "saturation", "edge_mean", "contrast"}

// bound reads a constraint's above or below: one value or three (R G B).
func (d *decoder) bound(n *yaml.Node, what string) []workbench.Value {
	items := d.items(n, what)
	if len(items) == 1 {
		return d.copies(items[0], what, 3, d.value)
	}
	var values []workbench.Value
	for _, item := range items {
		values = append(values, d.value(item, what))
	}
	if len(values) != 1 && len(values) != 3 {
		d.errorf(n, "%s takes one value or three (R G B), got %d", what, len(values))
	}
	return values
}

// joinItem marks which pixel transforms of one item clamp, as in CLIPig: contrast and
// saturation, wherever they stand (torchvision's adjustments clamp), and the last, since
// CLIPig's defaults, contrast and saturation 1, end every item that does not name both of them
// itself; the others leave their pixels unclamped for the next, and geometric transforms clamp
// nothing.
func joinItem(item []workbench.Transform) {
	adjusts := func(tr workbench.Transform) bool {
		return tr.Kind == workbench.TransformContrast || tr.Kind == workbench.TransformSaturation
	}
	namesBoth := slices.ContainsFunc(item, func(tr workbench.Transform) bool { return tr.Kind == workbench.TransformContrast }) &&
		slices.ContainsFunc(item, func(tr workbench.Transform) bool { return tr.Kind == workbench.TransformSaturation })
	for i := range item {
		item[i].Unclamped = !adjusts(item[i]) && (i+1 < len(item) || namesBoth)
	}
}
