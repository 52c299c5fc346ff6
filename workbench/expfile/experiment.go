package expfile

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// File is an experiment as read from files: the experiment and the run settings around it.
type File struct {
	Experiment workbench.Experiment
	// SnapshotEvery saves the image every that many steps (0: never); SnapshotSeconds every
	// that many seconds. CLIPig's snapshot_interval gives one or the other (int or float); its
	// default is every 20 seconds.
	SnapshotEvery   int
	SnapshotSeconds float64
	// Name names the run's results folder (see RunName).
	Name string
	// Verbose is CLIPig's verbosity: 0 prints nothing while running, 1 the progress, 2 (default)
	// the frame counts too.
	Verbose int
	// Output is CLIPig's output: a folder (ending in /) for the run folders, or a name.png that
	// names the run's folder (clipwork writes a folder per run, with image.png in it).
	Output string
	// Device is CLIPig's device: auto (default), cpu, or cuda (cuda:N) for XLA's CUDA backend.
	Device string
	// Sweep is the file's sweep: (nil when it has none), which clipwork sweep runs.
	Sweep *Sweep
	// Notes tell about keys that are accepted but mean nothing, or something else, in clipwork.
	Notes []error
}

// notes are what `clipwork check` says about CLIPig keys with no meaning in clipwork.
var notes = map[string]string{
	"start_epoch":       "CLIPig's GUI uses it to continue; clipwork continues a run with --resume",
	"init.image_tensor": "give the starting image as a file with init.image",
	"pad.color":         "windows are padded with black",
	"features.image":    "the feature has a text too, which CLIPig and clipwork use",
}

// note records that a key is accepted with the note above.
func (d *decoder) note(n *yaml.Node, key string) {
	d.notef(n, "%s is accepted and ignored: %s", key, notes[key])
}

// notef records a note on n, which `clipwork check` prints.
func (d *decoder) notef(n *yaml.Node, format string, args ...any) {
	d.notes = append(d.notes, &Error{File: d.files[n], Line: n.Line, Column: n.Column,
		Message: "note: " + fmt.Sprintf(format, args...)})
}

var topKeys = []string{"model", "seed", "epochs", "steps", "resolution", "resolution_stages", "learnrate",
	"learnrate_scale", "optimizer", "parameterization", "init", "snapshot_interval", "targets", "postproc",
	"clipwork_version", "name", "verbose", "output", "device", "start_epoch", "interpolation", "sweep"}

func (d *decoder) file(n *yaml.Node) *File {
	f := &File{Verbose: 2, Device: "auto", SnapshotSeconds: 20}
	e := &f.Experiment
	d.width, d.height, d.steps = 224, 224, workbench.DefaultSteps
	if i := keyIndex(n, "seed"); n.Kind == yaml.MappingNode && i >= 0 { // first: draws fixed when read use it
		e.Seed = uint64(d.integer(n.Content[i+1], "seed", 0))
		d.seed = e.Seed
	}
	if i := keyIndex(n, "resolution"); n.Kind == yaml.MappingNode && i >= 0 {
		d.within(timeGroup, func() { e.Width, e.Height, e.Resolution = d.resolution(n.Content[i+1], 8) })
		d.width, d.height = e.Width, e.Height
		d.sizeChanges = e.Resolution[0].IsSet()
	}
	for _, key := range []string{"epochs", "steps"} { // for expressions of epochs fixed when read
		if i := keyIndex(n, key); n.Kind == yaml.MappingNode && i >= 0 {
			if steps, err := strconv.Atoi(strings.TrimSpace(yaml11Number(n.Content[i+1].Value))); err == nil {
				d.steps = steps
			}
		}
	}
	d.sizeChanges = d.sizeChanges || n.Kind == yaml.MappingNode && keyIndex(n, "resolution_stages") >= 0
	d.mapping(n, "the experiment", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			f.Name = d.str(v, key)
		case "model":
			e.Model, e.Ensemble = d.model(v)
		case "clipwork_version":
			d.str(v, key) // recorded in resolved configs, for the reader
		case "verbose":
			f.Verbose = d.integer(v, key, 0)
		case "device":
			f.Device = d.str(v, key)
			if f.Device != "auto" && f.Device != "cpu" && !strings.HasPrefix(f.Device, "cuda") {
				d.errorf(v, "device %q: use auto, cpu or cuda", f.Device)
			}
		case "interpolation": // CLIPig reads it only where the resolution changes; Validate refuses it there
			if e.Interpolation = d.str(v, key); !slices.Contains(workbench.Interpolations, e.Interpolation) {
				d.notef(v, "interpolation %q is not one of %s: CLIPig reads it only where the resolution changes, "+
					"and so does clipwork, which refuses it there", e.Interpolation, strings.Join(workbench.Interpolations, ", "))
			}
		case "output":
			f.Output = d.str(v, key)
		case "sweep":
			f.Sweep = d.sweep(n.Content[keyIndex(n, key)], v)
		case "start_epoch":
			d.integer(v, key, 0)
			d.note(v, key)
		case "seed": // read first, above
		case "epochs", "steps":
			e.Steps = d.integer(v, key, 1)
		case "resolution": // read first, above
		case "resolution_stages":
			for _, item := range d.items(v, key) {
				e.Stages = append(e.Stages, d.stage(item))
			}
		case "learnrate":
			d.within(learnrateGroup, func() { e.Learnrate = d.value(v, key) })
		case "learnrate_scale":
			d.within(learnrateGroup, func() { e.LearnrateScale = d.value(v, key) })
		case "optimizer":
			e.Optimizer = d.choice(v, key, workbench.OptimizerNames())
		case "parameterization":
			e.Parameterization = d.parameterization(v)
		case "init":
			e.Init = d.init(v)
		case "snapshot_interval":
			d.snapshotInterval(v, f)
		case "targets":
			d.within(targetGroup, func() {
				for i, item := range d.entries(v, key) {
					e.Targets = append(e.Targets, d.target(item, i))
				}
			})
		case "postproc":
			d.within(targetGroup, func() {
				for _, item := range d.entries(v, key) {
					e.Postproc = append(e.Postproc, d.postprocItem(item)...)
				}
			})
		}
	})
	if n.Kind == yaml.MappingNode && keyIndex(n, "clipwork_version") >= 0 && keyIndex(n, "snapshot_interval") < 0 {
		f.SnapshotEvery, f.SnapshotSeconds = 0, 0 // a resolved config of a version that left out an interval of 0
	}
	if slices.ContainsFunc(e.Models(), func(m workbench.ModelChoice) bool { return m.Name == "" || m.Name == clipmodel.DefaultName }) {
		d.noteUnknownWords()
	}
	return f
}

// noteUnknownWords notes each feature text with words that the embedded default model never
// saw in its training captions: it paints noise and blobs for them.
func (d *decoder) noteUnknownWords() {
	words := scenes.Words()
	explained := false // the first note says why; the others name their words
	for _, n := range d.texts {
		var unknown []string
		for _, w := range strings.FieldsFunc(strings.ToLower(pythonText(n)), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if _, known := slices.BinarySearch(words, w); !known && !slices.Contains(unknown, strconv.Quote(w)) {
				unknown = append(unknown, strconv.Quote(w))
			}
		}
		switch {
		case len(unknown) > 0 && !explained:
			d.notef(n, "the embedded default model does not know %s: it learned only captions of coloured shapes "+
				"(circles, squares, stars, ...) with their size, count and position on a few backgrounds (sky, grass, "+
				"water, ...), and paints noise and blobs for other words; a real CLIP (model: ViT-B/32) paints them",
				strings.Join(unknown, ", "))
			explained = true
		case len(unknown) > 0:
			d.notef(n, "the embedded default model does not know %s either", strings.Join(unknown, ", "))
		}
	}
}

// model reads a model name, or an ensemble: a list of names (each of weight 1) or of
// {name, weight} entries. CLIPig's names of OpenAI's models (ViT-B/32, RN50, ...) stay as they
// are: clipmodel.Load reads them from ~/.cache/clip as CLIPig does, else from the hub.
func (d *decoder) model(n *yaml.Node) (string, []workbench.ModelChoice) {
	if n.Kind != yaml.SequenceNode {
		return d.modelName(n, "model"), nil
	}
	if len(n.Content) == 0 {
		d.errorf(n, "model: an ensemble lists at least one model")
	}
	var ensemble []workbench.ModelChoice
	for _, item := range n.Content {
		ensemble = append(ensemble, d.modelChoice(item))
	}
	return "", ensemble
}

// modelChoice reads one model of an ensemble: a name, or {name, weight}.
func (d *decoder) modelChoice(n *yaml.Node) workbench.ModelChoice {
	c := workbench.ModelChoice{Weight: 1}
	if n.Kind != yaml.MappingNode {
		c.Name = d.modelName(n, "model")
		return c
	}
	d.mapping(n, "an ensemble's model", []string{"name", "weight"}, func(key string, v *yaml.Node) {
		if key == "name" {
			c.Name = d.modelName(v, "model name")
		} else {
			c.Weight = d.number(v, "model weight")
		}
	})
	if c.Name == "" {
		d.errorf(n, "an ensemble's model needs a name (default for the embedded model)")
	}
	return c
}

// sizeByTimes is a size written as 640x480.
var sizeByTimes = regexp.MustCompile(`^\s*(\d+)\s*[xX×]\s*(\d+)\s*$`)

// resolution reads "512", "640 480", "640, 480", a YAML list, or expressions of them; an
// expression may change with time (`224 if t < .2 else 448`), and the image is resampled when
// it does.
func (d *decoder) resolution(n *yaml.Node, smallest int) (int, int, [2]workbench.Value) {
	items := d.items(n, "resolution")
	if len(items) != 1 && len(items) != 2 {
		d.errorf(n, "resolution is one size or width and height, got %d values", len(items))
		return 0, 0, [2]workbench.Value{}
	}
	var values [2]workbench.Value
	var sizes [2]int
	for i, item := range items {
		if m := sizeByTimes.FindStringSubmatch(item.Value); m != nil {
			d.errorf(item, "resolution %q: write width and height as %s %s (or [%s, %s])", item.Value, m[1], m[2], m[1], m[2])
			return 0, 0, [2]workbench.Value{}
		}
		values[i] = d.value(item, "resolution")
		size := values[i].At(d.start())
		sizes[i] = int(max(min(size, 1<<40), -1)) // the run refuses sizes above its limit
		if why := values[i].Why(d.start()); why != nil {
			d.errorf(item, "resolution: %v", why)
		} else if values[i].IsSet() && !(size >= float64(smallest)) {
			d.errorf(item, "resolution must be at least %d, got %v", smallest, size)
		}
	}
	if len(items) == 1 { // one size for both sides
		values[1], sizes[1] = values[0], sizes[0]
	}
	if isNumber(items[0].Value) && isNumber(items[len(items)-1].Value) {
		values = [2]workbench.Value{}
	}
	return sizes[0], sizes[1], values
}

func (d *decoder) stage(n *yaml.Node) workbench.Stage {
	var s workbench.Stage
	d.mapping(n, "a resolution stage", []string{"until", "resolution"}, func(key string, v *yaml.Node) {
		if key == "until" {
			s.Until = d.moment(v, key)
		} else {
			s.Width, s.Height, _ = d.resolution(v, 8)
		}
	})
	if !s.Until.IsSet() {
		d.errorf(n, "a resolution stage needs `until` (a step, fraction or percentage)")
	}
	return s
}

func (d *decoder) parameterization(n *yaml.Node) workbench.Parameterization {
	var p workbench.Parameterization
	if n.Kind == yaml.ScalarNode {
		p.Kind = d.choice(n, "parameterization", workbench.Parameterizations)
		return p
	}
	d.mapping(n, "parameterization", []string{"type", "decay"}, func(key string, v *yaml.Node) {
		if key == "type" {
			p.Kind = d.choice(v, key, workbench.Parameterizations)
		} else {
			p.Decay = d.number(v, key)
		}
	})
	return p
}

// init reads init. As in CLIPig, a mean or std left out takes its default (0.5 and 0.1), except
// that an image with neither is kept as it is (CLIPig would map it to pixel*0.1 + 0.5).
func (d *decoder) init(n *yaml.Node) workbench.Init {
	var in workbench.Init
	var gotMean, gotStd bool
	d.mapping(n, "init", []string{"mean", "std", "resolution", "image", "image_tensor"}, func(key string, v *yaml.Node) {
		switch key {
		case "mean":
			in.Mean, gotMean = [3]float64(d.numbers(v, key, 3)), true
		case "std":
			in.Std, gotStd = [3]float64(d.numbers(v, key, 3)), true
		case "resolution":
			w, h, _ := d.resolution(v, 1) // coarse noise, as CLIPig allows
			in.Resolution = [2]int{w, h}
		case "image":
			if !isNull(v) { // CLIPig's image and image_tensor may be null: none
				in.Image = d.image(v, "init image")
			}
		case "image_tensor":
			if !isNull(v) {
				d.note(v, "init.image_tensor")
			}
		}
	})
	if in.Image == "" || gotMean || gotStd {
		in.Given = true
		if !gotMean {
			in.Mean = workbench.DefaultInitMean
		}
		if !gotStd {
			in.Std = workbench.DefaultInitStd
		}
	}
	return in
}

// modelName reads a model: a hub id or CLIPig name as written, or a folder, which a relative
// path names relative to the file's folder (as images are) and is recorded absolute.
func (d *decoder) modelName(n *yaml.Node, what string) string {
	name := d.besideFile(n, d.str(n, what))
	near := nearOpenAIName(name)
	switch err := clipmodel.NameProblem(name); {
	case err != nil && near != "":
		d.errorf(n, "%v: did you mean %q?", err, near)
	case err != nil:
		d.errorf(n, "%v", err)
	case near != "":
		d.notef(n, "model %q is no OpenAI name, and is read as a HuggingFace hub id: did you mean %q?", name, near)
	}
	return name
}

// besideFile is a model folder named relative to the file at n, where there is one, as an
// absolute path; else name as written.
func (d *decoder) besideFile(n *yaml.Node, name string) string {
	if name == "" || filepath.IsAbs(name) || !d.fromFile(n) {
		return name
	}
	folder := filepath.Join(filepath.Dir(d.files[n]), name)
	if info, err := os.Stat(folder); err != nil || !info.IsDir() {
		return name
	}
	if abs, err := filepath.Abs(folder); err == nil {
		return abs
	}
	return folder
}

// nearOpenAIName is the OpenAI name that name is close to but not (ViT-B/33, vit-b/16), or "".
func nearOpenAIName(name string) string {
	if _, known := clipmodel.OpenAIModels[name]; known || !missing(name) {
		return ""
	}
	return nearest(name, slices.Sorted(maps.Keys(clipmodel.OpenAIModels)), 3)
}

// missing tells whether no file or folder is at path.
func missing(path string) bool {
	_, err := os.Stat(path)
	return err != nil
}

// image reads an image file's name (see path), which must exist, or an http(s) address, kept as
// written: the run downloads it as CLIPig does (clipmodel.LoadImage).
func (d *decoder) image(n *yaml.Node, what string) string {
	if name := d.str(n, what); clipmodel.IsURL(name) {
		return name
	}
	p := d.path(n, what)
	if p == "" {
		return p
	}
	if _, err := os.Stat(p); err != nil {
		d.errorf(n, "%s: %v (a relative path is read beside the experiment file, else from the working directory)", what, err)
	} else if err := clipmodel.CheckImageFile(p); err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return p
}

// path reads a file name, relative to the experiment file's folder (or, where nothing is there,
// to the working directory, as CLIPig reads it), and makes it absolute, so that a run's
// config.yaml and --resume find it from anywhere.
func (d *decoder) path(n *yaml.Node, what string) string {
	p := d.str(n, what)
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if beside := filepath.Join(filepath.Dir(d.files[n]), p); d.fromFile(n) && !missing(beside) || missing(p) {
		p = beside // beside the file; CLIPig's reading from the working directory is the fallback
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		d.errorf(n, "%s %q: %v", what, p, err)
	}
	return abs
}

// isInteger tells whether s is a whole number as Python's int() reads it.
func isInteger(s string) bool {
	_, err := strconv.Atoi(strings.TrimSpace(s))
	return err == nil
}

func (d *decoder) snapshotInterval(n *yaml.Node, f *File) {
	if s, _ := d.numeric(n, "snapshot_interval"); n.Kind == yaml.ScalarNode && isInteger(s) { // Python's int() takes it
		f.SnapshotEvery, f.SnapshotSeconds = d.integer(n, "snapshot_interval", 0), 0
		return
	}
	f.SnapshotSeconds = d.number(n, "snapshot_interval")
	if !(f.SnapshotSeconds >= 0) || math.IsInf(f.SnapshotSeconds, 0) {
		d.errorf(n, "snapshot_interval must be a number of seconds (a float) or steps (an int), 0 or more, got %v", f.SnapshotSeconds)
	}
}

var targetKeys = []string{"name", "active", "start", "end", "weight", "batch_size", "select", "features",
	"transforms", "constraints", "anti_text", "feature_scale"}

func (d *decoder) target(n *yaml.Node, index int) workbench.Target {
	var t workbench.Target
	before := len(d.errs)
	defer func() {
		if t.Disabled { // CLIPig sets up no inactive target: what only its setup finds is noted, not refused
			d.errs = append(d.errs[:before], d.notedSetup(d.errs[before:])...)
		}
	}()
	d.mapping(n, "a target", targetKeys, func(key string, v *yaml.Node) {
		if d.periodKey(key, v, &t.Period) {
			return
		}
		switch key {
		case "name":
			t.Name = d.str(v, key)
		case "active":
			t.Disabled = !d.active(v, key)
		case "weight":
			d.within(similarityGroup, func() { t.Weight = d.value(v, key) })
		case "batch_size":
			d.within(nil, func() { t.BatchSize = d.integer(v, key, 1) })
		case "select":
			d.setup(func() { t.Select = d.foldedChoice(v, key, workbench.Selections) })
		case "features":
			d.within(similarityGroup, func() {
				for _, item := range d.entries(v, key) {
					t.Features = append(t.Features, d.feature(item))
				}
			})
		case "transforms":
			for _, item := range d.entries(v, key) {
				d.transform(item, &t)
			}
		case "constraints":
			d.within(similarityGroup, func() {
				for _, item := range d.entries(v, key) {
					t.Constraints = append(t.Constraints, d.constraints(item)...)
				}
			})
		case "anti_text":
			t.AntiText = d.antiText(v)
		case "feature_scale":
			t.FeatureScale = d.featureScale(v)
		}
	})
	return t
}

// setup reads with fn what CLIPig checks only when it sets a target up (its select, a feature's
// loss and image): the problems fn finds are marked so (see notedSetup).
func (d *decoder) setup(fn func()) {
	first := len(d.errs)
	fn()
	for _, err := range d.errs[first:] {
		if e, ok := err.(*Error); ok {
			e.setup = true
		}
	}
}

// notedSetup moves the setup problems among errs (see setup) to the notes, for a target that
// is switched off, and returns the others.
func (d *decoder) notedSetup(errs []error) []error {
	var kept []error
	for _, err := range errs {
		e, ok := err.(*Error)
		if !ok || !e.setup {
			kept = append(kept, err)
			continue
		}
		noted := *e
		noted.Message = "note: in an inactive target (active: false), which runs only once switched on: " + e.Message
		d.notes = append(d.notes, &noted)
	}
	return kept
}

// featureScale reads CLIPig's feature_scale, which scales fairly unless it is exactly "equal":
// other text (Equal, unequal) is fair too, with a note.
func (d *decoder) featureScale(n *yaml.Node) string {
	s, ok := d.scalar(n, "feature_scale")
	switch {
	case !ok || s == workbench.FeatureScaleEqual:
		return workbench.FeatureScaleEqual
	case s != workbench.FeatureScaleFair:
		d.notef(n, "feature_scale %q is not \"equal\", which CLIPig takes for fair, as clipwork does: write equal or fair", s)
	}
	return workbench.FeatureScaleFair
}

func (d *decoder) feature(n *yaml.Node) workbench.Feature {
	var f workbench.Feature
	var imageNode *yaml.Node
	if isNull(n) {
		d.errorf(n, "a feature is empty (null): give a text or an image, or remove the entry (CLIPig refuses it too)")
		return f
	}
	if n.Kind == yaml.ScalarNode { // a bare text
		f.Text = pythonText(n)
		d.texts = append(d.texts, n)
		return f
	}
	d.mapping(n, "a feature", []string{"text", "image", "label", "weight", "start", "end", "loss", "scale"}, func(key string, v *yaml.Node) {
		if d.periodKey(key, v, &f.Period) {
			return
		}
		switch key {
		case "text":
			if !isNull(v) { // a null text or image is none, as CLIPig takes it
				d.str(v, key) // refuses a list or mapping
				f.Text = pythonText(v)
				d.texts = append(d.texts, v)
			}
		case "image":
			if !isNull(v) {
				imageNode = v
			}
		case "label":
			f.Label = d.str(v, key)
		case "weight":
			f.Weight = d.value(v, key)
		case "loss":
			d.setup(func() { f.Loss = d.foldedChoice(v, key, workbench.Losses) })
		case "scale":
			f.Scale = d.value(v, key)
		}
	})
	d.setup(func() {
		switch {
		case f.Text == "" && imageNode == nil:
			d.errorf(n, "a feature needs a text or an image")
		case f.Text != "" && imageNode != nil:
			d.note(n.Content[keyIndex(n, "image")], "features.image") // CLIPig uses the text and never reads the image
		case imageNode != nil:
			f.Image = d.image(imageNode, "feature image")
		}
	})
	return f
}

func (d *decoder) antiText(n *yaml.Node) *workbench.AntiText {
	if n.Kind == yaml.ScalarNode {
		if d.boolean(n, "anti_text") {
			return &workbench.AntiText{}
		}
		return nil
	}
	a := &workbench.AntiText{}
	d.mapping(n, "anti_text", []string{"prompts", "weight"}, func(key string, v *yaml.Node) {
		if key == "weight" {
			a.Weight = d.value(v, key)
			return
		}
		for _, item := range v.Content {
			a.Prompts = append(a.Prompts, d.str(item, "an anti_text prompt"))
		}
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "prompts must be a list of texts")
		}
	})
	return a
}

// postprocGeometric are the geometric transforms that keep the image's size, which postproc
// may use.
func postprocGeometric() []string {
	var keys []string
	for _, k := range workbench.GeometricKinds {
		if k.KeepsSize {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

// clipigTransforms are CLIPig's transforms in the order its transforms.py defines them, the
// order in which it applies the transforms of one postproc item.
var clipigTransforms = []string{"blur", "resize", "center_crop", "random_crop", "crop", "repeat", "pad", "border",
	"noise", "bwnoise", "rnoise", "fnoise", "edge", "rotate", "random_rotate", "random_scale", "random_translate",
	"shift", "random_shift", "add", "mul", "mean", "clamp", "quantize", "saturation", "contrast"}

// clipigOrder is a transform's place in clipigTransforms (clipwork's own after CLIPig's).
func clipigOrder(key string) int {
	if i := slices.Index(clipigTransforms, key); i >= 0 {
		return i
	}
	return len(clipigTransforms)
}

// skippedByCLIPig tells whether CLIPig leaves out a postproc transform for its value, which it
// applies only where Python takes it for true: an empty list, or a zero, false or empty string
// where the value stays one (a transform whose one parameter is a list turns `mul: 0` into
// [0, 0, 0], which is true; a mapping is filled with defaults). A null is refused before.
func skippedByCLIPig(key string, n *yaml.Node) bool {
	switch n.Kind {
	case yaml.SequenceNode:
		return len(n.Content) == 0
	case yaml.ScalarNode:
		if quoted(n) || listParameter(key) {
			return n.Value == ""
		}
		if f, err := strconv.ParseFloat(yaml11Number(n.Value), 64); err == nil {
			return f == 0
		}
	}
	return false
}

// isEmpty tells whether n is an empty list or an empty quoted text.
func isEmpty(n *yaml.Node) bool {
	return n.Kind == yaml.SequenceNode && len(n.Content) == 0 || n.Kind == yaml.ScalarNode && quoted(n) && n.Value == ""
}

// oneParameter tells whether a transform takes one parameter, whose value CLIPig converts
// (refusing an empty one); a transform of several takes a mapping, and CLIPig skips an empty value
// there as it skips any false one.
func oneParameter(key string) bool {
	count, _ := parameters(key)
	return count == 1
}

// listParameter tells whether a transform's one parameter is a list of numbers, which a single
// value fills (a transform of further parameters takes no single value in CLIPig).
func listParameter(key string) bool {
	count, size := parameters(key)
	return count == 1 && size > 1
}

// parameters are how many parameters a transform (pixel or geometric) takes and how many
// values its first holds; 0, 0 for an unknown key.
func parameters(key string) (count, size int) {
	if kind, ok := workbench.LookupTransform(key); ok {
		return 1 + len(kind.Extra), kind.Values
	}
	if kind, ok := workbench.LookupGeometric(key); ok {
		return len(kind.Params), kind.Params[0].Size
	}
	return 0, 0
}

// postprocItem reads one item of postproc as CLIPig writes it: one or more pixel transforms
// with the item's active, start and end beside them (`- mean: .33` / `  end: 50%`), and
// clipwork's amount. As in CLIPig, its transforms apply in the order of clipigTransforms, and a
// transform whose value is false to Python (see skippedByCLIPig) is left out.
func (d *decoder) postprocItem(n *yaml.Node) []workbench.Postproc {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "each postproc is a mapping such as `- mean: .33`, got %s", describe(n))
		return nil
	}
	var out []workbench.Postproc
	var shared workbench.Postproc
	allowed := slices.Concat(workbench.TransformKeys(), workbench.GeometricKeys(), []string{"active", "start", "end", "amount"})
	resizing, skipped := false, false
	d.mapping(n, "postproc", allowed, func(key string, v *yaml.Node) {
		if d.periodKey(key, v, &shared.Period) {
			return
		}
		switch {
		case slices.Contains(workbench.GeometricKeys(), key) && !slices.Contains(postprocGeometric(), key):
			d.errorf(v, "%s changes the image's size, which postproc keeps (CLIPig refuses it too): use it in a target's transforms", key)
			resizing = true
		case key == "active":
			shared.Disabled = !d.active(v, key)
		case key == "amount":
			shared.Amount = d.value(v, key)
		case isNull(v):
			d.noSettings(v, "postproc", key)
			skipped = true // refused: no second error for an item left without transforms
		case isEmpty(v) && oneParameter(key):
			d.errorf(v, "postproc %q is empty: give its value (`%s: ...`) or remove it (CLIPig refuses it too)", key, key)
			skipped = true
		case skippedByCLIPig(key, v):
			skipped = true
		case slices.Contains(postprocGeometric(), key):
			g := d.geometric(key, v)
			out = append(out, workbench.Postproc{Transform: workbench.Transform{Kind: key}, Geometric: &g})
		default:
			out = append(out, d.postproc(key, v))
		}
	})
	if len(out) == 0 && !resizing && !skipped {
		d.errorf(n, "a postproc item needs a transform, such as `- mean: .33`")
	}
	slices.SortStableFunc(out, func(a, b workbench.Postproc) int {
		return clipigOrder(a.Transform.Kind) - clipigOrder(b.Transform.Kind)
	})
	for i := range out {
		out[i].Unclamped = i+1 < len(out) // CLIPig clamps at the item's end
		out[i].Disabled = out[i].Disabled || shared.Disabled
		if shared.Amount.IsSet() {
			out[i].Amount = shared.Amount
		}
		if shared.Period.Start.IsSet() {
			out[i].Period.Start = shared.Period.Start
		}
		if shared.Period.End.IsSet() {
			out[i].Period.End = shared.Period.End
		}
	}
	return out
}

// postproc reads one transform of a postproc item; inside its mapping it may also say
// (clipwork's additions) start, end, active and amount (but for edge, whose own parameter is
// its amount).
func (d *decoder) postproc(key string, v *yaml.Node) workbench.Postproc {
	p := workbench.Postproc{}
	kind, _ := workbench.LookupTransform(key)
	ownAmount := kind.Param == "amount" // edge's amount is its own, not clipwork's blend
	if v.Kind == yaml.MappingNode {
		rest := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Column: v.Column}
		d.files[rest] = d.files[v]
		for i := 0; i+1 < len(v.Content); i += 2 {
			switch k, value := v.Content[i].Value, v.Content[i+1]; k {
			case "active":
				p.Disabled = !d.active(value, k)
			case "amount":
				if ownAmount {
					rest.Content = append(rest.Content, v.Content[i], value)
				} else {
					p.Amount = d.value(value, k)
				}
			default:
				rest.Content = append(rest.Content, v.Content[i], value)
			}
		}
		v = rest
	}
	p.Transform = d.pixelTransform(key, v)
	return p
}
