package expfile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// Marshal writes a File as YAML that Load reads back to the same experiment. Called after
// Experiment.Defaults, it is the fully resolved configuration of a run.
func Marshal(f *File) ([]byte, error) {
	return yaml.Marshal(encodeFile(f))
}

// value is a Value written as a number when it is one, else as its expression.
type value string

func (v value) MarshalYAML() (any, error) {
	if f, err := strconv.ParseFloat(string(v), 64); err == nil {
		return f, nil
	}
	return string(v), nil
}

// flow writes a short list on one line.
type flow []value

func (f flow) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range f {
		item := &yaml.Node{}
		if err := item.Encode(v); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, item)
	}
	return n, nil
}

func val(v workbench.Value) value { return value(v.Expr) }

func moment(m workbench.Moment) string {
	if !m.IsSet() {
		return ""
	}
	return m.String()
}

type (
	fileOut struct {
		Version          string      `yaml:"clipwork_version"`
		Name             string      `yaml:"name,omitempty"`
		Model            any         `yaml:"model,omitempty"`
		Seed             uint64      `yaml:"seed"`
		Epochs           int         `yaml:"epochs"`
		Resolution       flow        `yaml:"resolution"`
		Stages           []stageOut  `yaml:"resolution_stages,omitempty"`
		Learnrate        value       `yaml:"learnrate"`
		LearnrateScale   value       `yaml:"learnrate_scale"`
		Optimizer        string      `yaml:"optimizer"`
		Interpolation    string      `yaml:"interpolation"`
		Parameterization paramOut    `yaml:"parameterization"`
		Init             initOut     `yaml:"init"`
		SnapshotInterval any         `yaml:"snapshot_interval"`
		Verbose          int         `yaml:"verbose"`
		Device           string      `yaml:"device,omitempty"`
		Targets          []targetOut `yaml:"targets"`
		Postproc         []any       `yaml:"postproc,omitempty"`
	}
	stageOut struct {
		Until      string `yaml:"until"`
		Resolution []int  `yaml:"resolution,flow"`
	}
	paramOut struct {
		Type  string  `yaml:"type"`
		Decay float64 `yaml:"decay"`
	}
	initOut struct {
		Mean       []float64 `yaml:"mean,flow,omitempty"`
		Std        []float64 `yaml:"std,flow,omitempty"`
		Resolution []int     `yaml:"resolution,flow,omitempty"`
		Image      string    `yaml:"image,omitempty"`
	}
	targetOut struct {
		Name         string           `yaml:"name"`
		Active       bool             `yaml:"active"`
		Start        string           `yaml:"start,omitempty"`
		End          string           `yaml:"end,omitempty"`
		Weight       value            `yaml:"weight"`
		BatchSize    int              `yaml:"batch_size"`
		Select       string           `yaml:"select"`
		FeatureScale string           `yaml:"feature_scale"`
		Features     []featureOut     `yaml:"features"`
		Transforms   []any            `yaml:"transforms"`
		Constraints  []map[string]any `yaml:"constraints,omitempty"`
		AntiText     *antiTextOut     `yaml:"anti_text,omitempty"`
	}
	featureOut struct {
		Text   string `yaml:"text,omitempty"`
		Image  string `yaml:"image,omitempty"`
		Label  string `yaml:"label"`
		Weight value  `yaml:"weight"`
		Scale  value  `yaml:"scale"`
		Start  string `yaml:"start,omitempty"`
		End    string `yaml:"end,omitempty"`
		Loss   string `yaml:"loss"`
	}
	antiTextOut struct {
		Prompts []string `yaml:"prompts,flow"`
		Weight  value    `yaml:"weight"`
	}
	modelOut struct {
		Name   string  `yaml:"name"`
		Weight float64 `yaml:"weight"`
	}
	windowOut struct {
		Size        float64    `yaml:"size"`
		FullFrame   bool       `yaml:"full_frame"`
		Scale       [2]float64 `yaml:"scale,flow"`
		Rotate      [2]float64 `yaml:"rotate,flow"`
		CenterX     [2]float64 `yaml:"center_x,flow"`
		CenterY     [2]float64 `yaml:"center_y,flow"`
		Perspective float64    `yaml:"perspective"`
		Pad         string     `yaml:"pad"`
	}
)

// encodeModel is the model's name (nil when empty), or the ensemble's models with their weights.
func encodeModel(e *workbench.Experiment) any {
	if len(e.Ensemble) > 0 {
		out := make([]modelOut, len(e.Ensemble))
		for i, c := range e.Ensemble {
			out[i] = modelOut(c)
		}
		return out
	}
	if e.Model == "" {
		return nil
	}
	return e.Model
}

func encodeFile(f *File) fileOut {
	e := &f.Experiment
	out := fileOut{
		Version: workbench.Version, Name: f.Name, Model: encodeModel(e), Seed: e.Seed, Epochs: e.Steps,
		Resolution: flow{value(fmt.Sprint(e.Width)), value(fmt.Sprint(e.Height))}, Verbose: f.Verbose,
		Learnrate: val(e.Learnrate), LearnrateScale: val(e.LearnrateScale), Optimizer: e.Optimizer, Interpolation: e.Interpolation,
		Parameterization: paramOut{e.Parameterization.Kind, e.Parameterization.Decay},
		Init:             encodeInit(e.Init),
	}
	if e.Resolution[0].IsSet() {
		out.Resolution = flow{val(e.Resolution[0]), val(e.Resolution[1])}
	}
	out.SnapshotInterval = f.SnapshotEvery // 0 (none) where neither is set
	if f.SnapshotSeconds > 0 {
		out.SnapshotInterval = floatNode(f.SnapshotSeconds)
	}
	if f.Device != "auto" {
		out.Device = f.Device
	}
	for _, s := range e.Stages {
		out.Stages = append(out.Stages, stageOut{moment(s.Until), []int{s.Width, s.Height}})
	}
	for _, t := range e.Targets {
		out.Targets = append(out.Targets, encodeTarget(t))
	}
	out.Postproc = encodePostprocs(e.Postproc)
	return out
}

// encodePostprocs writes the postproc items: each edit one, but an Unclamped edit and those
// after it up to a clamped one, which share one item, as the item they were read from. The
// item gives its edits their amount, active, start and end where they share them, and each
// edit its own inside its mapping where they do not (which an edge or a geometric edit cannot
// hold: such an edit that differs starts an item of its own).
func encodePostprocs(edits []workbench.Postproc) []any {
	var out []any
	for first := 0; first < len(edits); {
		end := first + 1
		for end < len(edits) && edits[end-1].Unclamped && joins(edits[first:end], edits[end]) {
			end++
		}
		out = append(out, encodePostprocItem(edits[first:end]))
		first = end
	}
	return out
}

// joins tells whether edit can be written in one item with those of item.
func joins(item []workbench.Postproc, edit workbench.Postproc) bool {
	if slices.ContainsFunc(item, func(p workbench.Postproc) bool { return p.Kind == edit.Kind }) {
		return false // an item holds a key once
	}
	all := append(slices.Clone(item), edit)
	return allShare(all) || !slices.ContainsFunc(all, func(p workbench.Postproc) bool { return !holdsOwnKeys(p) })
}

// itemKeys are what a postproc item gives its edits, or an edit's own mapping gives it.
var itemKeys = []string{"amount", "active", "start", "end"}

// encodePostprocItem writes edits as one item: their itemKeys beside them where they share
// them, else inside each.
func encodePostprocItem(edits []workbench.Postproc) orderedItem {
	shared := allShare(edits)
	var item, beside orderedItem
	for i, p := range edits {
		encoded := encodePostproc(p)
		for _, key := range itemKeys {
			v, ok := encoded[key]
			switch {
			case !ok:
			case !shared:
				encoded[p.Kind].(map[string]any)[key] = v
			case i == 0:
				beside = append(beside, keyed{key, v})
			}
		}
		item = append(item, keyed{p.Kind, encoded[p.Kind]})
	}
	return append(item, beside...)
}

// allShare tells whether edits share their itemKeys (see sharesItem).
func allShare(edits []workbench.Postproc) bool {
	return !slices.ContainsFunc(edits, func(p workbench.Postproc) bool { return !sharesItem(edits[0], p) })
}

// holdsOwnKeys tells whether an edit's own mapping can hold its amount, active, start and end:
// a pixel edit's but edge's (whose amount is its own parameter).
func holdsOwnKeys(p workbench.Postproc) bool {
	kind, _ := workbench.LookupTransform(p.Kind)
	return p.Geometric == nil && kind != nil && kind.Param != "amount"
}

// sharesItem tells whether two edits can be written in one item, which gives both its amount,
// active, start and end.
func sharesItem(a, b workbench.Postproc) bool {
	return a.Amount.Expr == b.Amount.Expr && a.Disabled == b.Disabled && moment(a.Period.Start) == moment(b.Period.Start) &&
		moment(a.Period.End) == moment(b.Period.End)
}

// orderedItem writes a mapping with its keys in their order (a Go map's are sorted): one item
// of several transforms, which apply in the order written.
type orderedItem []keyed

// keyed is one key of an orderedItem and its value.
type keyed struct {
	key  string
	body any
}

// has tells whether the item holds kind.
func (o orderedItem) has(kind string) bool {
	return slices.ContainsFunc(o, func(k keyed) bool { return k.key == kind })
}

func (o orderedItem) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range o {
		var v yaml.Node
		if err := v.Encode(k.body); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k.key}, &v)
	}
	return n, nil
}

// encodeInit writes init; an image kept as it is (no mean or std) is written without them.
func encodeInit(in workbench.Init) initOut {
	out := initOut{Image: in.Image}
	if in.Image == "" || in.Mean != [3]float64{} || in.Std != [3]float64{} {
		out.Mean, out.Std = in.Mean[:], in.Std[:]
	}
	if in.Resolution[0] > 0 {
		out.Resolution = in.Resolution[:]
	}
	return out
}

// encodePostproc writes a postproc item: its transform, with active, amount, start and end
// beside it as CLIPig writes them.
func encodePostproc(p workbench.Postproc) map[string]any {
	var body map[string]any
	if p.Geometric != nil {
		body = encodeGeometric(*p.Geometric)
	} else {
		body = encodeTransform(p.Transform)
		delete(body, "start")
		delete(body, "end")
	}
	item := map[string]any{p.Kind: body, "amount": val(p.Amount), "active": !p.Disabled}
	addPeriod(item, p.Period)
	return item
}

// floatNode writes a number that reads back as a float even when it is whole (10.0, not 10),
// since snapshot_interval tells steps (int) from seconds (float) by type.
func floatNode(v float64) *yaml.Node {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: s}
}

func encodeTarget(t workbench.Target) targetOut {
	out := targetOut{Name: t.Name, Active: !t.Disabled, Start: moment(t.Period.Start), End: moment(t.Period.End),
		Weight: val(t.Weight), BatchSize: t.BatchSize, Select: t.Select, FeatureScale: t.FeatureScale}
	for _, f := range t.Features {
		out.Features = append(out.Features, featureOut{f.Text, f.Image, f.Label, val(f.Weight),
			val(f.Scale), moment(f.Period.Start), moment(f.Period.End), f.Loss})
	}
	w := t.Window
	if len(t.Geometry) == 0 && w != (workbench.Window{}) {
		out.Transforms = append(out.Transforms, map[string]any{"window": windowOut{w.Size, w.FullFrame, w.Scale,
			w.Rotate, w.CenterX, w.CenterY, w.Perspective, w.Pad}})
	}
	out.Transforms = append(out.Transforms, encodeTransforms(t)...)
	for _, c := range t.Constraints {
		out.Constraints = append(out.Constraints, map[string]any{c.Kind: encodeConstraint(c)})
	}
	if t.AntiText != nil {
		out.AntiText = &antiTextOut{t.AntiText.Prompts, val(t.AntiText.Weight)}
	}
	return out
}

// encodeTransforms writes a target's geometric and pixel transforms in their order: each pixel
// transform after as many geometric ones as its After says, an Unclamped one in one item with
// those after it up to a clamped one (and the geometric ones between). An item that has to end
// on an Unclamped transform (the target's last, or one followed by one of its own kind: an item
// names a kind once) starts with contrast and saturation 1, which clamp pixels that are in [0, 1]
// already and make the item end unclamped, as CLIPig reads an item naming both.
func encodeTransforms(t workbench.Target) []any {
	var out []any
	var item orderedItem
	open := false // the item's last pixel transform leaves its pixels unclamped
	closeItem := func() {
		if open {
			item = append(orderedItem{clampingDefault(workbench.TransformContrast), clampingDefault(workbench.TransformSaturation)}, item...)
		}
		out, item, open = append(out, item), nil, false
	}
	add := func(kind string, body any, pixels, closes bool) {
		if item.has(kind) {
			closeItem()
		}
		item = append(item, keyed{kind, body})
		if pixels {
			open = !closes
		}
		if closes {
			closeItem()
		}
	}
	for k := 0; k <= len(t.Geometry); k++ {
		for _, tr := range t.Transforms {
			if tr.After == k || (k == len(t.Geometry) && tr.After > k) {
				add(tr.Kind, encodeTransform(tr), true, !tr.Unclamped)
			}
		}
		if k < len(t.Geometry) {
			add(t.Geometry[k].Kind, encodeGeometric(t.Geometry[k]), false, len(item) == 0)
		}
	}
	if len(item) > 0 {
		closeItem()
	}
	return out
}

// clampingDefault is kind (contrast or saturation) at factor 1, as CLIPig's defaults end an item.
func clampingDefault(kind string) keyed {
	return keyed{kind, encodeTransform(workbench.Transform{Kind: kind, Values: []workbench.Value{workbench.Constant(1)}})}
}

func encodeTransform(tr workbench.Transform) map[string]any {
	kind, _ := workbench.LookupTransform(tr.Kind)
	body := map[string]any{kind.Param: values(tr.Values)}
	for i, p := range kind.Extra {
		if i < len(tr.Extra) && tr.Extra[i] != nil && !isDefault(tr.Extra[i], p) {
			body[p.Name] = values(tr.Extra[i])
		}
	}
	addPeriod(body, tr.Period)
	return body
}

// isDefault tells whether values are a parameter's default, which reading fills in again (a
// blur's kernel_size and sigma of 0 say "not given", which a written 0 would not).
func isDefault(values []workbench.Value, p workbench.Param) bool {
	if p.Default == nil || len(values) != len(p.Default) {
		return false
	}
	for i, v := range values {
		if v.Expr != workbench.Constant(p.Default[i]).Expr {
			return false
		}
	}
	return true
}

func values(vs []workbench.Value) flow {
	var out flow
	for _, v := range vs {
		out = append(out, val(v))
	}
	return out
}

func encodeConstraint(c workbench.Constraint) map[string]any {
	body := map[string]any{"weight": val(c.Weight), "loss": c.Loss}
	if len(c.Above) > 0 {
		body["above"] = values(c.Above)
	}
	if len(c.Below) > 0 {
		body["below"] = values(c.Below)
	}
	if c.Target.IsSet() {
		body["target"] = val(c.Target)
	}
	kind, _ := workbench.LookupConstraint(c.Kind)
	for i, p := range kind.Extra {
		if i >= len(c.Extra) || c.Extra[i] == nil || isDefault(c.Extra[i], p) {
			continue
		}
		body[p.Name] = values(c.Extra[i])
	}
	addPeriod(body, c.Period)
	if c.OnImage {
		body["on"] = "image"
	}
	return body
}

func encodeGeometric(g workbench.Geometric) map[string]any {
	kind, _ := workbench.LookupGeometric(g.Kind)
	body := map[string]any{}
	for i, p := range kind.Params {
		body[p.Name] = values(g.Values[i])
	}
	for mode, pad := range workbench.PadFillModes {
		if g.Kind == "pad" && g.Pad == pad {
			body["mode"] = mode
		}
	}
	return body
}

func addPeriod(body map[string]any, p workbench.Period) {
	if p.Start.IsSet() {
		body["start"] = moment(p.Start)
	}
	if p.End.IsSet() {
		body["end"] = moment(p.End)
	}
}
