package expfile

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

func TestEveryExperimentFileIsValid(t *testing.T) {
	paths, err := filepath.Glob("../../experiments/*.yaml")
	if err != nil || len(paths) < 7 {
		t.Fatalf("found %d experiment files (%v)", len(paths), err)
	}
	for _, p := range paths {
		f, err := Load([]string{p})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		f.Experiment.Defaults()
		if err := f.Experiment.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestErrorsNamePositionAndFix(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"epochs: 10\nresolutoin: 64\n", []string{"bad.yaml:2:1", `unknown key "resolutoin"`, `did you mean "resolution"`}},
		{"epochs: ten\n", []string{"bad.yaml:1:9", "epochs must be a number", "undefined: ten"}},
		{"epochs: -3\n", []string{"epochs must be at least 1"}},
		{"targets:\n  - name: a\n    batch_sise: 2\n", []string{"bad.yaml:3:5", `did you mean "batch_size"`}},
		{"targets:\n  - features: [x]\n    transforms: [{blur: {sigma: 1, kernel: 5}}]\n", []string{`did you mean "kernel_size"`}},
		{"targets:\n  - features: [x]\n    transforms:\n      - blurr: 1\n", []string{"bad.yaml:4:9", `unknown transform "blurr"`, `"blur"`}},
		{"targets:\n  - features: [x]\n    start: 1x%\n", []string{"bad.yaml:3:12", "start must be a number"}},
		{"learnrate: 1 - pow(t,\n", []string{"bad.yaml:1:12", "not a number or a valid expression"}},
		{"targets:\n  - features:\n      - {weight: 2}\n", []string{"bad.yaml:3:9", "a feature needs a text or an image"}},
		{"- 1\n", []string{"a mapping"}},
		{"optimizer: adamw\n", []string{"bad.yaml:1:12", `optimizer "adamw"`, `did you mean "adam"`}},
		{"targets:\n  - features: [x]\n    select: bets\n", []string{"bad.yaml:3:13", `did you mean "best"`}},
		{"targets:\n  - features: [{text: x, loss: cosin}]\n", []string{"bad.yaml:2:32", `did you mean "cosine"`}},
		{"targets:\n  - features: [x]\n    transforms: [{window: {pad: wrapp}}]\n", []string{"bad.yaml:3:33", `did you mean "wrap"`}},
		{"parameterization: ftt\n", []string{"bad.yaml:1:19", `did you mean "fft"`}},
		{"targets:\n  - features: [x]\n    constraints: [{mean: {loss: l3}}]\n", []string{"bad.yaml:3:33", `"l1"`}},
		{"targets:\n  - features: [x]\n    constraints: [{std: {weight: 2}}]\n", []string{"bad.yaml:3:25", "constraint std needs above or below"}},
	} {
		_, err := Parse("bad.yaml", []byte(tc.yaml))
		if err == nil {
			t.Errorf("%q: no error", tc.yaml)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not mention %q", tc.yaml, err, w)
			}
		}
	}
}

// TestSettingErrorsNameTheSetting: an error in a --set value or key names the setting, which
// has no lines, while one in the file keeps its file and line.
func TestSettingErrorsNameTheSetting(t *testing.T) {
	const file = "epochs: 10\ntargets:\n  - name: a\n    features: [x]\n"
	for setting, want := range map[string]string{
		"epochs=abc":          "--set epochs=abc: epochs must be a number",
		"targets=[":           "--set targets=[: a target must be a mapping",
		"targets.0.wat=1":     `--set targets.0.wat=1: unknown key "wat" in a target`,
		"wat.x=1":             `--set wat.x=1: unknown key "wat" in the experiment`,
		"wat=1":               `--set wat=1: unknown key "wat" in the experiment`,
		"targets=[{wat: 1}]":  `--set targets=[{wat: 1}]: unknown key "wat" in a target`,
		"targets.9.epochs=1":  `--set targets.9.epochs=1: there is no list element "9" (indices 0 to 0, or names "a")`,
		"epochs":              "--set epochs: write key=value",
		"init.std=\x00":       `--set "init.std=\x00": `,
		"resolution=[64, x]":  "--set resolution=[64, x]: ",
		"targets.a.start=1x%": "--set targets.a.start=1x%: ",
	} {
		_, err := Parse("s.yaml", []byte(file), setting)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("--set %s: error %v, want %s...", setting, err, want)
		}
	}
	if _, err := Parse("s.yaml", []byte(file+"seed: x\n"), "epochs=5"); err == nil || !strings.HasPrefix(err.Error(), "s.yaml:5:7: ") {
		t.Errorf("an error in the file beside a setting: %v", err)
	}
}

// TestFlagErrorsNameTheFlag: a setting given by a flag names the flag, and a file whose name
// starts with "--" still keeps its lines: what has no lines is a setting, whatever its name.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("--odd.yaml", []byte("epochs: 10\nseed: x\ntargets:\n  - features: [x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSettings([]string{"--odd.yaml"}, []Setting{{Text: "learnrate=abc", Flag: "--learnrate abc"}})
	if err == nil || !strings.Contains(err.Error(), "--odd.yaml:2:7: ") || !strings.Contains(err.Error(), "--learnrate abc: learnrate") {
		t.Errorf("error %v, want the file's line and the flag", err)
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Parse("x.yaml", []byte("epochs: x\nseed: y\nwat: 1\n"))
	if err == nil || strings.Count(err.Error(), "x.yaml:") != 3 {
		t.Errorf("want three errors, got %v", err)
	}
}

func TestExpressionsAndMoments(t *testing.T) {
	f, err := Parse("e.yaml", []byte(`
epochs: 101
learnrate_scale: 1 - .95 * pow(t, 5)
targets:
  - start: 10
    end: 50%
    weight: time_step(0.2, 0.4)
    features: [a red circle]
    transforms:
      - noise: 0.1 * ti
`))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if got := e.LearnrateScale.At(workbench.TimeAt(100, 101)); got < 0.0499 || got > 0.0501 {
		t.Errorf("learnrate_scale at t=1: %g", got)
	}
	target := e.Targets[0]
	if target.Period.Active(9, 101) || !target.Period.Active(10, 101) || !target.Period.Active(50, 101) || target.Period.Active(51, 101) {
		t.Error("start 10 / end 50% is not the inclusive period [10, 50]")
	}
	if w := target.Weight.At(workbench.TimeAt(30, 101)); w < 0.49 || w > 0.51 {
		t.Errorf("time_step(0.2, 0.4) at t=0.3: %g", w)
	}
	if v := target.Transforms[0].Values[0]; v.At(workbench.TimeAt(0, 101)) != 0.1 || v.At(workbench.TimeAt(100, 101)) != 0 {
		t.Error("noise 0.1 * ti is not 0.1 at the start and 0 at the end")
	}
}

func TestMergeAndSettings(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	details := filepath.Join(dir, "details.yaml")
	os.WriteFile(base, []byte("epochs: 10\nresolution: 64\ntargets:\n  - name: a\n    batch_size: 2\n    features: [x]\n"), 0o644)
	os.WriteFile(details, []byte("epochs: 20\ntargets:\n  - name: a\n    batch_size: 3\n    features: [z]\n  - name: b\n    features: [y]\n"), 0o644)
	f, err := Load([]string{base, details}, "targets.b.batch_size=7", "init.std=0.3")
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	e.Defaults()
	if e.Steps != 20 || e.Width != 64 || len(e.Targets) != 3 || e.Targets[0].BatchSize != 2 ||
		e.Targets[0].Features[0].Text != "x" || e.Targets[1].Name != "a-2" || e.Targets[1].BatchSize != 3 ||
		e.Targets[2].BatchSize != 7 || e.Init.Std != [3]float64{0.3, 0.3, 0.3} {
		t.Errorf("merged experiment: %+v", e)
	}
	if _, err := Load([]string{base}, "targets.zzz.batch_size=1"); err == nil {
		t.Error("a setting on a missing target was accepted")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, p := range []string{"../../experiments/strawberries.yaml", "../../experiments/malazan-landscape.yaml",
		"../../experiments/clipig-style.yaml"} {
		f, err := Load([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		first, again := roundTrip(t, f)
		second, _ := Marshal(again)
		if string(first) != string(second) {
			t.Errorf("%s: resolving twice changed the config:\n%s\n---\n%s", p, first, second)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"epochs: 3\n", "targets:\n  - features: [a]\n    transforms: [{blur: [1, 2]}]\n",
		"resolution: 64 32\nlearnrate_scale: pow(t, 2)\n", "a: [\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err == nil {
			file.Experiment.Defaults()
			file.Experiment.Validate()
		}
	})
}

// TestEveryRegisteredKindDecodes writes one item of every transform, constraint and
// post-processing kind in the registries and checks each decodes to its kind.
func TestEveryRegisteredKindDecodes(t *testing.T) {
	for _, kind := range workbench.TransformKinds {
		values := strings.TrimSpace(strings.Repeat("0.5 ", kind.Values))
		items := []string{kind.Key + ": " + values}
		required := ""
		for _, p := range kind.Extra {
			if p.Default == nil {
				required += ", " + p.Name + ": 8"
				items = nil // a scalar cannot give the required parameter
			}
		}
		items = append(items, kind.Key+": {"+kind.Param+": 0.5, start: 10%"+required+"}")
		for _, item := range items {
			f, err := Parse("k.yaml", []byte("targets:\n  - features: [x]\n    transforms:\n      - "+item+"\n"))
			if err != nil {
				t.Errorf("%s: %v", item, err)
				continue
			}
			if tr := f.Experiment.Targets[0].Transforms; len(tr) != 1 || tr[0].Kind != kind.Key || len(tr[0].Values) == 0 {
				t.Errorf("%s decodes to %+v", item, tr)
			}
		}
	}
	for _, kind := range workbench.ConstraintKinds {
		key, required := kind.Key, ""
		for _, p := range kind.Extra {
			if p.Default == nil {
				required += ", " + p.Name + ": 0.1"
			}
		}
		f, err := Parse("k.yaml", []byte("targets:\n  - features: [x]\n    constraints: [{"+key+": {above: 0.5, weight: 2"+
			required+"}}]\n"))
		if err != nil {
			t.Errorf("constraint %s: %v", key, err)
		} else if c := f.Experiment.Targets[0].Constraints; len(c) != 1 || c[0].Kind != key {
			t.Errorf("constraint %s decodes to %+v", key, c)
		}
	}
	for _, kind := range workbench.TransformKinds {
		item := kind.Key + ": {" + kind.Param + ": 0.5, active: true, end: 80%"
		if kind.Param != "amount" {
			item += ", amount: 0.5"
		}
		for _, p := range kind.Extra {
			if p.Default == nil {
				item += ", " + p.Name + ": 8"
			}
		}
		f, err := Parse("k.yaml", []byte("postproc: [{"+item+"}}]\n"))
		if err != nil {
			t.Errorf("postproc %s: %v", kind.Key, err)
		} else if p := f.Experiment.Postproc; len(p) != 1 || p[0].Kind != kind.Key || p[0].Values[0].Expr != "0.5" ||
			p[0].Amount.Expr != "0.5" && kind.Param != "amount" || p[0].Amount.IsSet() && kind.Param == "amount" {
			t.Errorf("postproc %s decodes to %+v", kind.Key, p) // edge's amount is its own, not the blend's
		}
	}
}

// TestCLIPigTopLevelKeys reads CLIPig's top-level keys: verbose, device, output and
// interpolation mean what they mean in CLIPig, start_epoch and init.image_tensor are accepted
// with a note each; feature_scale and a feature's scale are read.
func TestCLIPigTopLevelKeys(t *testing.T) {
	f, err := Parse("top.yaml", []byte("verbose: 1\noutput: ./out/\ndevice: cuda\nstart_epoch: 0\ninterpolation: cubic\n"+
		"init: {image_tensor: [[[0.5]]]}\ntargets:\n  - feature_scale: fair\n    features: [{text: red, scale: 2}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Verbose != 1 || f.Device != "cuda" || len(f.Notes) != 2 || f.Output != "./out/" || f.Experiment.Interpolation != "cubic" || f.Experiment.Targets[0].FeatureScale != "fair" ||
		f.Experiment.Targets[0].Features[0].Scale.Expr != "2" {
		t.Errorf("verbose %d, device %q, notes %v", f.Verbose, f.Device, f.Notes)
	}
	if !strings.Contains(f.Notes[0].Error(), "top.yaml:4:14: note: start_epoch") {
		t.Errorf("the first note %q does not name start_epoch's position", f.Notes[0])
	}
	if _, err := Parse("d.yaml", []byte("device: tpu\n")); err == nil || !strings.Contains(err.Error(), "d.yaml:1:9") {
		t.Errorf("device tpu: %v", err)
	}
}

// TestGeometricTransformsDecode reads CLIPig's geometric transforms as its reference writes them.
func TestGeometricTransformsDecode(t *testing.T) {
	f, err := Parse("g.yaml", []byte(`resolution: 640 480
targets:
  - features: [x]
    transforms:
      - random_shift: -.1 .1
      - center_crop: width/2
      - random_rotate: {degree: [-10, 10], center: [.4, .6]}
      - pad: {size: 4, mode: wrap}
      - random_scale: .5 if t < .4 else 1.
`))
	if err != nil {
		t.Fatal(err)
	}
	g := f.Experiment.Targets[0].Geometry
	start := workbench.TimeAt(0, 10)
	start.Width = 640
	if len(g) != 5 || len(g[0].Values[0]) != 4 || g[0].Values[0][2].At(start) != -0.1 ||
		g[1].Values[0][1].At(start) != 320 || g[2].Values[1][1].At(start) != 0.6 || g[3].Pad != workbench.PadWrap ||
		g[4].Values[0][0].At(start) != 0.5 || g[4].Values[0][1].At(workbench.TimeAt(9, 10)) != 1 {
		t.Errorf("decoded %+v", g)
	}
}

// TestMergeAppendsEntriesAsCLIPig checks CLIPig's merge: lists of entries (unnamed targets,
// postproc) are appended, lists of values (resolution) replaced.
func TestMergeAppendsEntriesAsCLIPig(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "second.yaml")
	os.WriteFile(first, []byte("resolution: [64, 48]\npostproc: [{mean: .5}]\ntargets: [{features: [x]}]\n"), 0o644)
	os.WriteFile(second, []byte("resolution: [80, 60]\npostproc: [{clamp: 0 1}]\ntargets: [{features: [y]}]\n"), 0o644)
	f, err := Load([]string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if e.Width != 80 || e.Height != 60 || len(e.Postproc) != 2 || e.Postproc[1].Kind != "clamp" || len(e.Targets) != 2 {
		t.Errorf("merged: %dx%d, postproc %d, targets %d", e.Width, e.Height, len(e.Postproc), len(e.Targets))
	}
}

// TestPostprocItemsAsCLIPig reads CLIPig's postproc items: transforms with the item's active,
// start and end beside them.
func TestPostprocItemsAsCLIPig(t *testing.T) {
	f, err := Parse("p.yaml", []byte("postproc:\n  - mean: .45\n    clamp: 0 1\n    end: 50%\n  - blur: {kernel_size: 3}\n    active: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Experiment.Postproc
	if len(p) != 3 || p[0].Kind != "mean" || p[1].Kind != "clamp" || p[1].Period.End.String() != "50%" ||
		p[0].Disabled || !p[2].Disabled || p[2].Period.End.IsSet() {
		t.Errorf("postproc %+v", p)
	}
}

// TestImagePathsResolveOnce checks that a feature image named relative to its file becomes an
// absolute path, which a run's config.yaml keeps; where the image is not beside the file but in
// the working directory, that one.
func TestImagePathsResolveOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e.yaml")
	os.WriteFile(path, []byte("targets: [{features: [{image: pics/a.png}]}]\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "pics"), 0o755)
	writePNG(t, filepath.Join(dir, "pics", "a.png"))
	f, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Experiment.Targets[0].Features[0].Image; got != filepath.Join(dir, "pics", "a.png") {
		t.Errorf("image path %q", got)
	}
	os.Remove(filepath.Join(dir, "pics", "a.png"))
	work := t.TempDir() // where CLIPig, run from it, would find the image
	os.MkdirAll(filepath.Join(work, "pics"), 0o755)
	writePNG(t, filepath.Join(work, "pics", "a.png"))
	t.Chdir(work)
	if f, err = Load([]string{path}); err != nil {
		t.Fatal(err)
	}
	if got := f.Experiment.Targets[0].Features[0].Image; got != filepath.Join(work, "pics", "a.png") {
		t.Errorf("an image only in the working directory: path %q", got)
	}
	os.Remove(filepath.Join(work, "pics", "a.png"))
	if _, err = Load([]string{path}); err == nil || !strings.Contains(err.Error(), "e.yaml:1:31: feature image") {
		t.Errorf("a missing image: %v, want its file and line", err)
	}
	os.WriteFile(filepath.Join(dir, "pics", "a.png"), []byte("not an image"), 0o644)
	if _, err = Load([]string{path}); err == nil || !strings.Contains(err.Error(), "e.yaml:1:31: feature image") ||
		!strings.Contains(err.Error(), "not a readable image") {
		t.Errorf("an unreadable image: %v, want its file and line", err)
	}
}

// writePNG writes a 1x1 PNG at path.
func writePNG(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGeometricPostproc reads the geometric transforms that keep the image's size as postproc,
// and rejects one that changes it.
func TestGeometricPostproc(t *testing.T) {
	f, err := Parse("g.yaml", []byte("postproc:\n  - shift: 8 0\n    end: 50%\n  - random_rotate: {degree: -5 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Experiment.Postproc
	if len(p) != 2 || p[0].Geometric == nil || p[0].Geometric.Kind != "shift" || !p[0].Period.End.IsSet() ||
		p[1].Geometric == nil || len(p[1].Geometric.Values[1]) != 2 {
		t.Errorf("postproc %+v", p)
	}
	if _, err := Parse("r.yaml", []byte("postproc: [{resize: 64}]\n")); err == nil || !strings.Contains(err.Error(), "r.yaml:1:21: resize changes the image's size") {
		t.Errorf("resize as postproc: %v", err)
	}
}

// TestInitAsCLIPig reads init's mean and std per channel and its resolution as width and height.
func TestInitAsCLIPig(t *testing.T) {
	t.Chdir(t.TempDir())
	writePNG(t, "x.png")
	f, err := Parse("i.yaml", []byte("init: {mean: 0.3 0.4 0.5, std: .1, resolution: 2 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := f.Experiment.Init
	if in.Mean != [3]float64{0.3, 0.4, 0.5} || in.Std != [3]float64{0.1, 0.1, 0.1} || in.Resolution != [2]int{2, 1} {
		t.Errorf("init %+v", in)
	}
	half, tenth := workbench.DefaultInitMean, workbench.DefaultInitStd
	for source, want := range map[string][2][3]float64{
		"init: {mean: 0.3}\n":            {{0.3, 0.3, 0.3}, tenth},
		"init: {std: 0.3}\n":             {half, {0.3, 0.3, 0.3}},
		"init: {image: x.png}\n":         {},
		"init: {image: x.png, std: 1}\n": {half, {1, 1, 1}},
		"init: {mean: 0, std: 0}\n":      {},
	} {
		f, err := Parse("i.yaml", []byte(source))
		if err != nil {
			t.Fatal(err)
		}
		f.Experiment.Defaults()
		if in := f.Experiment.Init; in.Mean != want[0] || in.Std != want[1] {
			t.Errorf("%s: mean %v std %v, want %v", source, in.Mean, in.Std, want)
		}
	}
}

// TestSnapshotIntervalAsCLIPig checks snapshot_interval's default (20 seconds) and its int form
// (steps).
func TestSnapshotIntervalAsCLIPig(t *testing.T) {
	for source, want := range map[string][2]float64{"": {0, 20}, "snapshot_interval: 5\n": {5, 0},
		"snapshot_interval: 0\n": {0, 0}, "snapshot_interval: 2.5\n": {0, 2.5}, "snapshot_interval: '3'\n": {3, 0},
		"snapshot_interval: 1:00\n": {60, 0}, "snapshot_interval: 1e1\n": {0, 10}, "snapshot_interval: 0x10\n": {16, 0}} {
		f, err := Parse("s.yaml", []byte(source))
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]float64{float64(f.SnapshotEvery), f.SnapshotSeconds}; got != want {
			t.Errorf("%q: every %v steps, %v seconds; want %v", source, got[0], got[1], want)
		}
	}
	for _, bad := range []string{"nan", "-1.5", "inf"} {
		if _, err := Parse("s.yaml", []byte("snapshot_interval: "+bad+"\n")); err == nil ||
			!strings.Contains(err.Error(), "snapshot_interval must be a number of seconds") {
			t.Errorf("snapshot_interval: %s: %v", bad, err)
		}
	}
}

// TestTransformOrderSurvivesTheConfig writes and reads back a target whose blur comes before a
// resize and whose noise comes after it.
func TestTransformOrderSurvivesTheConfig(t *testing.T) {
	f, err := Parse("o.yaml", []byte("targets: [{features: [x], transforms: [{blur: 2}, {resize: 112}, {noise: .1}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, again := roundTrip(t, f)
	tr := again.Experiment.Targets[0].Transforms
	if len(tr) != 2 || tr[0].Kind != "blur" || tr[0].After != 0 || tr[1].Kind != "noise" || tr[1].After != 1 {
		t.Errorf("transforms after the round trip: %+v", tr)
	}
}

// TestRunSettingsSurviveTheConfig writes and reads back what a run does besides its image: no
// snapshots (snapshot_interval 0), its verbosity, device and name; and snapshots every 5 steps
// or 2.5 seconds.
func TestRunSettingsSurviveTheConfig(t *testing.T) {
	for _, settings := range []string{"snapshot_interval: 0\nverbose: 0\ndevice: cpu\nname: mine\n",
		"snapshot_interval: 5\n", "snapshot_interval: 2.5\n"} {
		f, err := Parse("s.yaml", []byte(settings+"targets: [{features: [red]}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, again := roundTrip(t, f)
		if again.SnapshotEvery != f.SnapshotEvery || again.SnapshotSeconds != f.SnapshotSeconds || again.Verbose != f.Verbose ||
			again.Device != f.Device || again.Name != f.Name {
			t.Errorf("%q read back as %+v", settings, again)
		}
	}
}

// TestOldConfigsWithoutSnapshotsKeepThem reads a resolved config written before
// snapshot_interval 0 was written out: without the key it means no snapshots, as it did.
func TestOldConfigsWithoutSnapshotsKeepThem(t *testing.T) {
	f, err := Parse("config.yaml", []byte("clipwork_version: 0.1.0\ntargets: [{features: [red]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.SnapshotEvery != 0 || f.SnapshotSeconds != 0 {
		t.Errorf("snapshots every %d steps, %g s; want none", f.SnapshotEvery, f.SnapshotSeconds)
	}
}

// roundTrip fills an experiment's defaults, writes it as a resolved config and reads it back.
func roundTrip(t *testing.T, f *File) ([]byte, *File) {
	t.Helper()
	f.Experiment.Defaults()
	data, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("resolved.yaml", data)
	if err != nil {
		t.Fatalf("the resolved config does not load: %v\n%s", err, data)
	}
	return data, again
}

// TestAliasesDuplicatesAndLongExpressions reads a file that shares its transforms through a
// YAML alias, a file that names a key twice, an alias bomb and a 20,000-term expression.
func TestAliasesDuplicatesAndLongExpressions(t *testing.T) {
	shared, err := Parse("alias.yaml", []byte("targets:\n  - name: a\n    features: [red]\n    transforms: &tr\n"+
		"      - noise: [0, 0.1]\n  - name: b\n    features: [blue]\n    transforms: *tr\n"))
	if err != nil {
		t.Fatalf("aliased transforms: %v", err)
	}
	if a, b := shared.Experiment.Targets[0].Transforms, shared.Experiment.Targets[1].Transforms; len(a) != 1 || len(b) != 1 {
		t.Errorf("the alias did not carry the transforms: %+v, %+v", a, b)
	}
	bomb := "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 8; i++ {
		bomb += fmt.Sprintf("a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	dup, err := Parse("dup.yaml", []byte("epochs: 3\nresolution: 32\ntargets: [{features: [red, {text: blue, text: green}]}]\nepochs: 5\n"+
		"postproc: [&m {mean: 0.5, mean: 0.4}, *m, *m]\n"))
	if err != nil {
		t.Fatal(err)
	}
	notes := fmt.Sprint(dup.Notes)
	if dup.Experiment.Steps != 5 || dup.Experiment.Targets[0].Features[1].Text != "green" ||
		!strings.Contains(notes, `dup.yaml:1:1: note: key "epochs" appears again at line 4, whose value counts`) ||
		!strings.Contains(notes, `dup.yaml:3:29: note: key "text" appears again`) || len(dup.Notes) != 3 {
		t.Errorf("keys named twice: %d steps, feature %q, notes %s; want the last values (5, green) and a note for each",
			dup.Experiment.Steps, dup.Experiment.Targets[0].Features[1].Text, notes)
	}
	long := "learnrate: " + strings.Repeat("t+", 20000) + "\n"
	for name, tc := range map[string]struct{ file, want string }{
		"bomb": {bomb, "aliases expand to more than 100000 values"},
		"long": {long, "not a number or a valid expression: got ')'"},
	} {
		_, err := Parse("dup.yaml", []byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		} else if len(err.Error()) > 1000 {
			t.Errorf("%s: the error is %d characters long", name, len(err.Error()))
		}
	}
}

// TestInactiveTargetsAreNotChecked reads a file whose switched-off target names a missing image
// and an unknown select, which CLIPig runs (it sets up no inactive target): both are notes,
// and the same target switched on is refused for both. What CLIPig's reading of the file
// refuses in any target (an unknown key, a bad value, a bad active) is refused still.
func TestInactiveTargetsAreNotChecked(t *testing.T) {
	const source = "targets:\n  - features: [a]\n  - name: wip\n    active: false\n    select: bestt\n" +
		"    features: [{image: no/such.png}]\n"
	f, err := Parse("wip.yaml", []byte(source))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notes) != 2 || !strings.Contains(f.Notes[0].Error(), "wip.yaml:5:13: note: in an inactive target") {
		t.Errorf("notes %v, want two naming the inactive target's select and image", f.Notes)
	}
	if err := f.Experiment.Resolve(); err != nil {
		t.Errorf("resolving: %v", err)
	}
	_, err = Parse("wip.yaml", []byte(strings.Replace(source, "active: false", "active: true", 1)))
	if err == nil || !strings.Contains(err.Error(), "bestt") || !strings.Contains(err.Error(), "no/such.png") {
		t.Errorf("switched on: %v, want both refused", err)
	}
	for _, slip := range []string{"    wieght: 2\n", "    batch_size: -3\n", "    active: {a: 1}\n    features: [b]\n"} {
		wip := "targets:\n  - features: [a]\n  - name: wip\n    active: false\n" + slip
		if strings.Contains(slip, "active") {
			wip = "targets:\n  - features: [a]\n  - name: wip\n" + slip
		}
		if _, err := Parse("wip.yaml", []byte(wip)); err == nil {
			t.Errorf("%q in an inactive target was accepted (CLIPig's reading refuses it in any target)", slip)
		}
	}
}

// TestNearOpenAINamesAreNoted notes model names close to an OpenAI name (which are read as hub
// ids) with the nearest one, and not OpenAI's names themselves nor hub ids far from them; a
// name that is no hub id either (ViT-L/14@336) is refused with the suggestion.
func TestNearOpenAINamesAreNoted(t *testing.T) {
	for name, want := range map[string]string{"ViT-B/33": "ViT-B/32", "ViT-L/14@336": "ViT-L/14@336px", "vit-b/16": "ViT-B/16",
		"rn50": "RN50", "ViT-L/14@336px": "", "openai/clip-vit-base-patch32": "", "default": ""} {
		f, err := Parse("m.yaml", []byte("model: "+name+"\n"))
		got := fmt.Sprint(err) // a name that is no hub id either is refused, with the suggestion
		if err == nil {
			for _, n := range f.Notes {
				got += "; " + n.Error()
			}
		}
		if want == "" && (err != nil || strings.Contains(got, "no OpenAI name")) || want != "" && !strings.Contains(got, fmt.Sprintf("did you mean %q", want)) {
			t.Errorf("model %s: notes %q, want a suggestion of %q", name, got, want)
		}
	}
}

// TestUnloadableModelNamesAreRefused refuses, with the file's line, the model names that
// clipmodel.Load would refuse before reading anything, as run would.
func TestUnloadableModelNamesAreRefused(t *testing.T) {
	for name, want := range map[string]string{"random:ViT-B/99": "unknown architecture", "just a name": "is none of",
		"[default, random:nope]": "unknown architecture"} {
		if _, err := Parse("m.yaml", []byte("model: "+name+"\n")); err == nil || !strings.Contains(err.Error(), "m.yaml:1:") ||
			!strings.Contains(err.Error(), want) {
			t.Errorf("model %s: %v, want %q", name, err, want)
		}
	}
}

// TestModelEnsemble decodes model: as one name, a list of names and a list of {name, weight}
// entries (from a file and from --set), writes each back and reads it again unchanged, and
// rejects an ensemble entry without a name or with an unknown key.
func TestModelEnsemble(t *testing.T) {
	base := "targets:\n  - features: [x]\n"
	tests := []struct {
		yaml, set string
		model     string
		ensemble  []workbench.ModelChoice
	}{
		{yaml: "model: random:tiny\n", model: "random:tiny"},
		{yaml: "model: [ViT-B/32, RN50]\n", ensemble: []workbench.ModelChoice{{Name: "ViT-B/32", Weight: 1}, {Name: "RN50", Weight: 1}}},
		{yaml: "model: [{name: random:tiny, weight: 2}, {name: default, weight: 0.5}]\n",
			ensemble: []workbench.ModelChoice{{Name: "random:tiny", Weight: 2}, {Name: "default", Weight: 0.5}}},
		{set: "model=[random:tiny, {name: default, weight: 3}]",
			ensemble: []workbench.ModelChoice{{Name: "random:tiny", Weight: 1}, {Name: "default", Weight: 3}}},
	}
	for _, tc := range tests {
		var settings []string
		if tc.set != "" {
			settings = append(settings, tc.set)
		}
		f, err := Parse("ensemble.yaml", []byte(tc.yaml+base), settings...)
		if err != nil {
			t.Fatalf("%q %q: %v", tc.yaml, tc.set, err)
		}
		_, again := roundTrip(t, f)
		for _, e := range []workbench.Experiment{f.Experiment, again.Experiment} {
			if e.Model != tc.model || !slices.Equal(e.Ensemble, tc.ensemble) {
				t.Errorf("%q %q: model %q, ensemble %v; want %q, %v", tc.yaml, tc.set, e.Model, e.Ensemble, tc.model, tc.ensemble)
			}
		}
	}
	for _, bad := range []string{"model: [{weight: 2}]\n", "model: [{name: a, wieght: 2}]\n", "model: []\n"} {
		if _, err := Parse("bad.yaml", []byte(bad+base)); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// TestItemsWithSeveralKeys reads transform and constraint items holding several keys, in order,
// as CLIPig's loops over each item's keys do, and refuses a key without a value (null), as
// CLIPig's conversion of its parameters does.
func TestItemsWithSeveralKeys(t *testing.T) {
	item := "targets:\n  - features: [red]\n    transforms:\n      - noise: 0.05\n        blur:\n"
	if _, err := Parse("k.yaml", []byte(item)); err == nil || !strings.Contains(err.Error(), `k.yaml:5:9: transform "blur" has no settings`) {
		t.Errorf("a transform without settings: %v", err)
	}
	f, err := Parse("k.yaml", []byte(`targets:
  - features: [x]
    transforms:
      - random_shift: 0 1
        noise: 0.05
      - random_rotate: -5 5
    constraints:
      - mean: {above: 0.5}
        std: {below: 0.2}
`))
	if err != nil {
		t.Fatal(err)
	}
	target := f.Experiment.Targets[0]
	var geometry, pixels, constraints []string
	for _, g := range target.Geometry {
		geometry = append(geometry, g.Kind)
	}
	for _, tr := range target.Transforms {
		pixels = append(pixels, fmt.Sprintf("%s after %d", tr.Kind, tr.After))
	}
	for _, c := range target.Constraints {
		constraints = append(constraints, c.Kind)
	}
	if fmt.Sprint(geometry, pixels, constraints) != "[random_shift random_rotate] [noise after 1] [mean std]" {
		t.Errorf("geometry %v, pixel transforms %v, constraints %v", geometry, pixels, constraints)
	}
	if _, err := Parse("k.yaml", []byte("targets:\n  - features: [x]\n    transforms:\n      - noise: 0.1\n        blurr: 1\n")); err == nil ||
		!strings.Contains(err.Error(), `k.yaml:5:9: unknown transform "blurr" (did you mean "blur"?)`) {
		t.Errorf("a misspelt second key: %v", err)
	}
}

// TestWrittenListsOfExpressions splits a written list at spaces, as CLIPig does, where each part
// is an expression, and keeps an expression with spaces whole; texts are never split.
func TestWrittenListsOfExpressions(t *testing.T) {
	f, err := Parse("l.yaml", []byte(`learnrate_scale: 2
targets:
  - features: pi e
    transforms:
      - random_rotate: {degree: -5*lrs 5*lrs, center: t * 0 + 0.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	target := f.Experiment.Targets[0]
	if len(target.Features) != 1 || target.Features[0].Text != "pi e" {
		t.Errorf("features %+v", target.Features)
	}
	env := workbench.TimeAt(0, 10)
	env.LRScale = 2
	degree := target.Geometry[0].Values[0]
	if len(degree) != 2 || degree[0].At(env) != -10 || degree[1].At(env) != 10 {
		t.Errorf("degree %v", degree)
	}
	if center := target.Geometry[0].Values[1]; len(center) != 2 || center[1].At(env) != 0.5 {
		t.Errorf("center %v", center)
	}
}

// TestVariableGroups lets each setting's expressions use only the variables of its CLIPig group
// (docs/reference.md): time for resolution, with resolution for learnrate, with the learning
// rate for transforms, with similarity for features, constraints and a target's weight, and
// none for the rest.
func TestVariableGroups(t *testing.T) {
	target := func(s string) string { return "targets:\n  - features: [x]\n    " + s + "\n" }
	for _, ok := range []string{
		"resolution: 64 if t < .5 else 96\n", "learnrate: res[0] / 224 * ti\n", "learnrate_scale: 1 + width / 1000\n",
		target("transforms: [{noise: 0.1 * lrs}]"), target("weight: sim / 100 + t"),
		target("constraints: [{mean: {above: 0.4, weight: sim}}]"), "targets: [{features: [{text: x, weight: sim * lr}]}]\n",
		"postproc: [{blur: {sigma: 1 + lr}}]\n", "epochs: 2 * 5\n", target("batch_size: 2 ** 2"),
	} {
		if _, err := Parse("g.yaml", []byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for source, want := range map[string]string{
		"resolution: 64 + sim\n":                    "g.yaml:1:13: resolution: sim is not available here: this setting's expressions take only epoch",
		"learnrate: 1 + lr\n":                       "lr is not available here",
		"init: {mean: 0.5 + epoch}\n":               "epoch is not available here: this setting's expressions take no variables",
		target("transforms: [{noise: sim / 1000}]"): "sim is not available here",
		target("batch_size: 2 * t"):                 "t is not available here",
		"postproc: [{mean: similarity}]\n":          "similarity is not available here",
	} {
		if _, err := Parse("g.yaml", []byte(source)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", source, err, want)
		}
	}
}

// TestUnderscoredNumbers reads numbers with underscores, as PyYAML (plain values) and Python
// (in expressions) do.
func TestUnderscoredNumbers(t *testing.T) {
	f, err := Parse("u.yaml", []byte("epochs: 1_000\nlearnrate: 0.000_5\nresolution: 1_024 768\ntargets: [{features: [x]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if e.Steps != 1000 || e.Learnrate.At(workbench.TimeAt(0, 2)) != 0.0005 || e.Width != 1024 || e.Height != 768 {
		t.Errorf("epochs %d, learnrate %v, resolution %dx%d", e.Steps, e.Learnrate, e.Width, e.Height)
	}
	for _, written := range []string{"1__000", "1000_", "1_000_"} { // PyYAML drops every underscore of a plain number
		if f, err := Parse("u.yaml", []byte("epochs: "+written+"\n")); err != nil || f.Experiment.Steps != 1000 {
			t.Errorf("epochs: %s: %v, want 1000 as PyYAML reads it", written, err)
		}
	}
	f, err = Parse("u.yaml", []byte("epochs: 1_000 * 2\nlearnrate: 1_0.5_0 + 0 * ti2\ntargets: [{features: [x], start: 1_00}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e = f.Experiment
	if e.Steps != 2000 || e.Learnrate.At(workbench.TimeAt(0, 2)) != 10.5 {
		t.Errorf("epochs %d, learnrate %v", e.Steps, e.Learnrate)
	}
	if start := e.Targets[0].Period.Start; start != workbench.AtStep(100) {
		t.Errorf("start %+v", start)
	}
}

// TestFeatureWithTextAndImage uses the text, as CLIPig does, noting that the image is unused.
func TestFeatureWithTextAndImage(t *testing.T) {
	f, err := Parse("f.yaml", []byte("targets:\n  - features:\n      - {text: a, image: b.png}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ft := f.Experiment.Targets[0].Features[0]; ft.Text != "a" || ft.Image != "" {
		t.Errorf("feature %+v", ft)
	}
	if len(f.Notes) != 1 || !strings.Contains(f.Notes[0].Error(), "f.yaml:3:19: note: features.image is accepted and ignored") {
		t.Errorf("notes %v", f.Notes)
	}
}

// TestFixedParameters reads the parameters clipwork fixes for the run (kernel sizes, border
// sizes, a noise constraint's std, ...): numbers and expressions of what stays fixed (epochs, a
// resolution that does not change), evaluated once; an expression that would change over the
// run, which CLIPig evaluates at every step, is refused rather than frozen at its first value.
func TestFixedParameters(t *testing.T) {
	target := func(s string) string { return "targets:\n  - features: [x]\n    " + s + "\n" }
	f, err := Parse("f.yaml", []byte(target("transforms: [{blur: {kernel_size: 2 + 3}}, {blur: {}}, {blur: {kernel_size: 4}}]")))
	if err != nil {
		t.Fatal(err)
	}
	trs := f.Experiment.Targets[0].Transforms
	if k := trs[0].Extra[0][0].At(workbench.Env{}); k != 5 {
		t.Errorf("kernel_size 2 + 3 read as %g", k)
	}
	if sigma := trs[1].Values[0].At(workbench.Env{}); math.Abs(sigma-0.8) > 1e-12 {
		t.Errorf("blur: {} has sigma %g, want torchvision's 0.8 of CLIPig's kernel 3", sigma)
	}
	if sigma := trs[2].Values[0].At(workbench.Env{}); math.Abs(sigma-1.1) > 1e-12 {
		t.Errorf("blur: {kernel_size: 4} has sigma %g, want torchvision's 1.1 of the kernel 5 CLIPig makes of it", sigma)
	}
	f, err = Parse("f.yaml", []byte("epochs: 50\nresolution: 64\n"+target("transforms: [{blur: {kernel_size: "+
		"'3 if epochs < 100 else 5'}}, {edge: {kernel_size: 'width / 16'}}]")))
	if err != nil {
		t.Fatal(err)
	}
	if trs := f.Experiment.Targets[0].Transforms; trs[0].Extra[0][0].At(workbench.Env{}) != 3 || trs[1].Extra[0][0].At(workbench.Env{}) != 4 {
		t.Errorf("kernel sizes of epochs and width: %v, %v", trs[0].Extra[0][0], trs[1].Extra[0][0])
	}
	for _, source := range []string{
		"resolution: 64 if t < .5 else 96\n" + target("transforms: [{edge: {kernel_size: 'width / 16'}}]"),
		target("transforms: [{blur: {kernel_size: '3 + 4 * t'}}]"),
		target("constraints: [{blur: {kernel_size: '3 + 4 * t'}}]"),
		"postproc: [{border: {size: '1 + 2 * (t > .5)', color: 1 0 0}}]\n",
		target("transforms: [{edge: {kernel_size: 'randint(1, epochs)'}}]"),
	} {
		if _, err := Parse("f.yaml", []byte(source)); err == nil || !strings.Contains(err.Error(), "clipwork fixes it for the run") {
			t.Errorf("%s: %v, want it refused as fixed for the run", source, err)
		}
	}
}

// TestDrawsWithoutVariablesHoldForTheRun reads expressions that draw random numbers but use no
// variables, which CLIPig evaluates once when it reads the file: each is one number for every
// step and window, the same for the same seed, its own at each place in the file, and accepted
// where clipwork fixes a setting for the run.
func TestDrawsWithoutVariablesHoldForTheRun(t *testing.T) {
	const source = "resolution: 32 + randrange(9)\ntargets:\n  - features:\n      - {text: a, weight: 'random()'}\n" +
		"      - {text: b, weight: 'random()'}\n    transforms: [{edge: {kernel_size: 'randint(1, 5)'}}]\n"
	draw := func(seed int) (int, [2]float64, float64) {
		f, err := Parse("f.yaml", []byte(source), fmt.Sprintf("seed=%d", seed))
		if err != nil {
			t.Fatal(err)
		}
		target := f.Experiment.Targets[0]
		var weights [2]float64
		for i, feature := range target.Features {
			first := feature.Weight.At(workbench.Env{Steps: 10})
			if later := feature.Weight.At(workbench.Env{Step: 7, Steps: 10, Place: 3}); later != first {
				t.Errorf("seed %d: weight %s is %g at the start and %g at step 7", seed, feature.Weight.Expr, first, later)
			}
			weights[i] = first
		}
		return f.Experiment.Width, weights, target.Transforms[0].Extra[0][0].At(workbench.Env{})
	}
	widths := map[int]bool{}
	for seed := range 10 {
		width, weights, kernel := draw(seed)
		if w2, weights2, kernel2 := draw(seed); w2 != width || weights2 != weights || kernel2 != kernel {
			t.Errorf("seed %d drew %d %v %g, then %d %v %g", seed, width, weights, kernel, w2, weights2, kernel2)
		}
		if width < 32 || width > 40 || weights[0] == weights[1] || kernel < 1 || kernel > 5 {
			t.Errorf("seed %d: width %d, weights %v, kernel %g", seed, width, weights, kernel)
		}
		widths[width] = true
	}
	if len(widths) < 3 {
		t.Errorf("10 seeds drew the widths %v", widths)
	}
	// the draws follow the seed's value and the expressions' order, not where the file lies,
	// its comments or how the seed is written
	a, err := Parse("f.yaml", []byte("seed: 16\n"+source))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("elsewhere/./g.yaml", []byte("# a comment\nseed: 2**4\n\n"+source))
	if err != nil {
		t.Fatal(err)
	}
	if a.Experiment.Width != b.Experiment.Width || a.Experiment.Targets[0].Features[1].Weight.Expr != b.Experiment.Targets[0].Features[1].Weight.Expr {
		t.Errorf("one seed drew %d and %s, then %d and %s", a.Experiment.Width, a.Experiment.Targets[0].Features[1].Weight.Expr,
			b.Experiment.Width, b.Experiment.Targets[0].Features[1].Weight.Expr)
	}
}

// TestPostprocOrderAsCLIPig applies one item's transforms in the order of CLIPig's transforms.py
// (add before mul, whatever the file's order), and leaves out a transform whose value Python
// takes for false, as CLIPig does: a single number's zero (0x0 is zero too; 0:00 is text to
// PyYAML, whose base 60 starts at 1), but not a list's (mul: 0 is [0, 0, 0]) nor a mapping
// (edge: {} takes its defaults); a null is refused, as CLIPig refuses it.
func TestPostprocOrderAsCLIPig(t *testing.T) {
	f, err := Parse("p.yaml", []byte("postproc:\n  - {mul: .5, add: .25, blur: 1}\n  - {saturation: 0, clamp: 0 1, contrast: 0.0, bwnoise: 0}\n"+
		"  - {mul: 0, edge: {}, saturation: 0x0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range f.Experiment.Postproc {
		kinds = append(kinds, p.Kind)
	}
	if want := []string{"blur", "add", "mul", "clamp", "edge", "mul"}; !slices.Equal(kinds, want) {
		t.Errorf("postproc %v, want %v", kinds, want)
	}
	if _, err := Parse("p.yaml", []byte("postproc:\n  - saturation: 0\n")); err != nil {
		t.Errorf("an item of one transform that is false: %v", err)
	}
	if _, err := Parse("p.yaml", []byte("postproc:\n  - {mul: .5, bwnoise: ~}\n")); err == nil || !strings.Contains(err.Error(), `p.yaml:2:24: postproc "bwnoise" has no settings`) {
		t.Errorf("a postproc transform without settings, which CLIPig refuses: %v", err)
	}
}

// TestItemsClampAtTheirEnd reads items of several transforms, which CLIPig clamps once at their
// end: every pixel transform of an item but the last is Unclamped (a geometric one between,
// which clamps nothing, too), in the file's order in targets and CLIPig's in postproc; but a
// contrast or saturation in a target's item clamps where it stands, and an item naming both
// ends unclamped (CLIPig's defaults, which clamp at the end, are those two). The resolved config
// writes them back as items that clamp the same.
func TestItemsClampAtTheirEnd(t *testing.T) {
	f, err := Parse("i.yaml", []byte("targets:\n  - features: [x]\n    transforms:\n      - {mul: .5, add: .25}\n"+
		"      - {noise: .1}\n      - {edge: {}, random_shift: 0 1, add: .1, border: 1}\n"+
		"      - {contrast: 1, saturation: 1, add: .5}\n      - {mul: .5, contrast: 1, add: .5}\n"+
		"postproc:\n  - {mul: .5, add: .25, start: 2}\n  - {blur: 1}\n  - {add: {color: .5, amount: .3}, mul: {color: .5, amount: .7}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	describe := func(e workbench.Experiment) (string, string) {
		var target, post []string
		for _, tr := range e.Targets[0].Transforms {
			target = append(target, fmt.Sprintf("%s%d:%v", tr.Kind, tr.After, tr.Unclamped))
		}
		for _, p := range e.Postproc {
			post = append(post, fmt.Sprintf("%s:%v:%s", p.Kind, p.Unclamped, p.Amount.Expr))
		}
		return strings.Join(target, " "), strings.Join(post, " ")
	}
	target, post := describe(f.Experiment)
	if want := "mul0:true add0:false noise0:false edge0:true add1:true border1:false contrast1:false saturation1:false add1:true " +
		"mul1:true contrast1:false add1:false"; target != want {
		t.Errorf("target transforms %s, want %s", target, want)
	}
	if want := "add:true: mul:false: blur:false: add:true:0.3 mul:false:0.7"; post != want {
		t.Errorf("postproc %s, want %s", post, want)
	}
	data, again := roundTrip(t, f)
	target, post = describe(f.Experiment) // with the defaults roundTrip fills in
	if target2, post2 := describe(again.Experiment); target2 != target || post2 != post {
		t.Errorf("written and read back: %s; %s\n%s", target2, post2, data)
	}
}

// TestItemsEndingUnclampedSurviveTheConfig writes back items that name contrast and saturation
// and so end unclamped, one followed by an item starting with its own last kind, one last:
// written with contrast and saturation 1 first (clamps of pixels in [0, 1], which change
// nothing), they still end unclamped when read back.
func TestItemsEndingUnclampedSurviveTheConfig(t *testing.T) {
	f, err := Parse("u.yaml", []byte("targets:\n  - features: [red]\n    transforms:\n"+
		"      - {contrast: 1, saturation: 1, add: .5}\n      - {add: .25, mul: .5}\n      - {contrast: 1, saturation: 1, noise: .1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, again := roundTrip(t, f)
	var got []string
	for _, tr := range again.Experiment.Targets[0].Transforms {
		got = append(got, fmt.Sprintf("%s:%v", tr.Kind, tr.Unclamped))
	}
	want := "contrast:false saturation:false contrast:false saturation:false add:true add:true mul:false " +
		"contrast:false saturation:false contrast:false saturation:false noise:true"
	if strings.Join(got, " ") != want {
		t.Errorf("read back as %s, want %s", strings.Join(got, " "), want)
	}
}

// TestYAML11Numbers reads plain numbers as PyYAML (YAML 1.1) does: octal, binary, base 60,
// .inf, and bools as 1 and 0; quoted ones stay as written; a quoted bool is a string, true to
// Python unless empty.
func TestYAML11Numbers(t *testing.T) {
	f, err := Parse("n.yaml", []byte("epochs: 020\nresolution: 0b1000000\nverbose: yes\n"+
		"targets:\n  - batch_size: '010'\n    active: 'false'\n    features: [{text: x, weight: 1:30}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if e.Steps != 16 || e.Width != 64 || e.Targets[0].BatchSize != 10 || e.Targets[0].Disabled ||
		e.Targets[0].Features[0].Weight.At(workbench.Env{}) != 90 {
		t.Errorf("epochs %d, resolution %d, batch_size %d, disabled %v, weight %v", e.Steps, e.Width,
			e.Targets[0].BatchSize, e.Targets[0].Disabled, e.Targets[0].Features[0].Weight)
	}
	for in, want := range map[string]string{"-.inf": "-inf", ".NaN": "nan", "-0_17": "-15", "1:00:00": "3600",
		"off": "0", "08": "08", "0.5": "0.5", "abc": "abc", "oFF": "oFF", "nO": "nO", ".iNf": ".iNf", ".nAn": ".nAn",
		"x.nan": "x.nan"} {
		if got := yaml11Number(in); got != want {
			t.Errorf("%s read as %s, want %s", in, got, want)
		}
	}
}

// TestActiveMappingIsRefused: CLIPig refuses the keys of a mapping under active as unknown
// parameters; so does clipwork.
func TestActiveMappingIsRefused(t *testing.T) {
	if _, err := Parse("a.yaml", []byte("targets:\n  - active: {a: 1}\n    features: [x]\n")); err == nil {
		t.Error("active: {a: 1} was accepted")
	}
}

// TestActiveIsPythonsBool reads a target's active as CLIPig does, Python's bool() of what PyYAML
// reads (each want below is what bool(yaml.safe_load(...)) gives), with a note for text.
func TestActiveIsPythonsBool(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "Off": false, "NO": false, "oFF": true, "nO": true,
		"0": false, "0.0": false, "0e0": true, "1": true, "~": false, "null": false, "": false, "[]": false,
		"[0]": true, "{}": false, "'false'": true, "''": false, "t > 0.5": true, "y": true, "0x0": false,
		`"no"`: true, `"0"`: true, `"null"`: true, `"yes"`: true, "1__0": true, "0__0": false} {
		f, err := Parse("a.yaml", []byte("targets:\n  - active: "+value+"\n    features: [red]\n"))
		if err != nil {
			t.Errorf("active: %s: %v", value, err)
			continue
		}
		if got := !f.Experiment.Targets[0].Disabled; got != want {
			t.Errorf("active: %s read as %v, want %v", value, got, want)
		}
		noted := []string{"oFF", "nO", "0e0", "t > 0.5", "y", "'false'", `"no"`, `"0"`, `"null"`} // text, or quoted falsehoods
		if text := slices.Contains(noted, value); text != (len(f.Notes) > 0) {
			t.Errorf("active: %s: notes %v", value, f.Notes)
		}
	}
}

// TestImageAddresses keeps http image addresses as written (the run downloads them, once, as
// CLIPig does), where a file name is made absolute.
func TestImageAddresses(t *testing.T) {
	f, err := Parse("u.yaml", []byte("init:\n  image: http://example.com/i.png\ntargets:\n  - features:\n      - image: https://example.com/f.png?x=1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if i, fi := f.Experiment.Init.Image, f.Experiment.Targets[0].Features[0].Image; i != "http://example.com/i.png" ||
		fi != "https://example.com/f.png?x=1" {
		t.Errorf("images %q and %q, want the addresses as written", i, fi)
	}
}

// TestBlurDefaultsSurviveTheConfig writes blurs whose kernel_size or sigma is left to its default
// (and one given as 0, CLIPig's no blur) into the resolved config and reads them back alike.
func TestBlurDefaultsSurviveTheConfig(t *testing.T) {
	f, err := Parse("b.yaml", []byte("targets:\n  - features: [x]\n    transforms: [{edge: {}}, {blur: {sigma: 1}}]\n"+
		"    constraints: [{blur: {}}, {edge_mean: {above: .1, sigma: 0}}]\npostproc: [{blur: {kernel_size: 5}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	first, again := roundTrip(t, f)
	if second, _ := Marshal(again); string(first) != string(second) {
		t.Errorf("resolving twice changed the config:\n%s\n---\n%s", first, second)
	}
	if sigma := again.Experiment.Targets[0].Constraints[1].Extra[1][0].At(workbench.Env{}); sigma != 0.0001 {
		t.Errorf("edge_mean sigma 0 read back as %g, want CLIPig's least, 0.0001", sigma)
	}
}

// TestNullsAndFeatureScaleAsCLIPig: CLIPig's nullable settings take null (~, null) as not
// given: a feature's text (its image is used) and image, init's image and image_tensor, blur's
// sigma in transforms, constraints and postproc; feature_scale is fair unless exactly "equal"
// (CLIPig compares it with "equal"), with a note for text other than fair.
func TestNullsAndFeatureScaleAsCLIPig(t *testing.T) {
	t.Chdir(t.TempDir())
	writePNG(t, "x.png")
	f, err := Parse("n.yaml", []byte(`init: {image: ~, image_tensor: null, mean: 0.2}
postproc: [{blur: {kernel_size: 3, sigma: null}}]
targets:
  - features:
      - {text: ~, image: x.png}
      - {text: blue, image: null}
    transforms: [{blur: {kernel_size: 3, sigma: ~}}]
    constraints: [{blur: {kernel_size: 3, sigma: null}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if tg := e.Targets[0]; tg.Features[0].Text != "" || tg.Features[0].Image == "" || tg.Features[1].Image != "" ||
		e.Init.Image != "" || e.Init.Mean != [3]float64{0.2, 0.2, 0.2} || len(f.Notes) != 0 {
		t.Errorf("nulls read as %+v, init %+v, notes %v", tg.Features, e.Init, f.Notes)
	}
	if e.Targets[0].Transforms[0].Values[0].At(workbench.TimeAt(0, 1)) != workbench.KernelSigma(3) {
		t.Errorf("a null blur sigma is %v, want the kernel's default", e.Targets[0].Transforms[0].Values)
	}
	for written, want := range map[string]string{"equal": "equal", "fair": "fair", "Equal": "fair", "unequal": "fair", "FAIR": "fair"} {
		f, err := Parse("s.yaml", []byte("targets:\n  - feature_scale: "+written+"\n    features: [red]\n"))
		if err != nil {
			t.Fatal(err)
		}
		noted := len(f.Notes) > 0 && strings.Contains(f.Notes[0].Error(), "CLIPig takes for fair")
		if got := f.Experiment.Targets[0].FeatureScale; got != want || noted != (written != "equal" && written != "fair") {
			t.Errorf("feature_scale %s: %s (notes %v), want %s", written, got, f.Notes, want)
		}
	}
}

// TestStartAndEndAsCLIPigReadsThem: expressions of numbers give fractions (CLIPig evaluates
// them as floats), a percentage's expression is scaled, and moments outside the run are kept,
// with a note, as CLIPig keeps them.
func TestStartAndEndAsCLIPigReadsThem(t *testing.T) {
	for value, want := range map[string]string{"1/2": "50%", "pi/10": "31.41592653589793%", "10*5%": "50%",
		"2*5": "1000%", "5.0": "500%", "-1": "-1", "150%": "150%", "7": "7", "0.25": "25%"} {
		f, err := Parse("m.yaml", []byte("epochs: 10\ntargets:\n  - start: "+value+"\n    features: [red]\n"))
		if err != nil {
			t.Errorf("start: %s: %v", value, err)
			continue
		}
		start := f.Experiment.Targets[0].Period.Start
		if start.String() != want {
			t.Errorf("start: %s read as %s, want %s", value, start, want)
		}
		if outside := start.Outside() != ""; outside != (len(f.Notes) > 0) {
			t.Errorf("start: %s: notes %v", value, f.Notes)
		}
	}
	if f, err := Parse("m.yaml", []byte("targets:\n  - end: 1\n    features: [red]\n")); err != nil || len(f.Notes) != 1 ||
		!strings.Contains(f.Notes[0].Error(), "end 1 is step 1") {
		t.Errorf("end: 1 has no note saying it is step 1: %v", err)
	}
	if _, err := Parse("m.yaml", []byte("targets:\n  - start: t / 2\n    features: [red]\n")); err == nil ||
		!strings.Contains(err.Error(), "t is not available here") {
		t.Errorf("start of a variable: %v", err)
	}
}

// TestFeatureTextIsPythonsStr checks that a plain feature text that PyYAML reads as a bool or a
// number is embedded as CLIPig embeds it, Python's str() of the value. The expected texts are
// PyYAML 6's: python3 -c "import yaml; print(str(yaml.safe_load('text: ' + S)['text']))".
func TestFeatureTextIsPythonsStr(t *testing.T) {
	for written, want := range map[string]string{
		"yes": "True", "No": "False", "ON": "True", "off": "False", "TRUE": "True", "010": "8", "0x10": "16",
		"0b101": "5", "1_000": "1000", "+5": "5", "-0": "0", "1:30": "90", "1:30.5": "90.5", "1.50": "1.5", ".5": "0.5",
		"1.0e+20": "1e+20", "1.0e+16": "1e+16", "1.0e+15": "1000000000000000.0", "1.0e-5": "1e-05", "0.0001": "0.0001",
		".inf": "inf", "-.Inf": "-inf", ".NaN": "nan", "123456789012345678901234567890": "123456789012345678901234567890",
		"3.": "3.0", "2002-12-14": "2002-12-14", "1e5": "1e5", "hello": "hello", "0o10": "0o10", "-1_0.2_5": "-10.25",
		`"yes"`: "yes", "'010'": "010", "1__0.5": "10.5",
	} {
		f, err := Parse("t.yaml", []byte("targets: [{features: [{text: "+written+"}, "+written+"]}]\n"))
		if err != nil {
			t.Fatalf("%s: %v", written, err)
		}
		for _, feature := range f.Experiment.Targets[0].Features {
			if feature.Text != want {
				t.Errorf("text %s is embedded as %q, want %q", written, feature.Text, want)
			}
		}
	}
}

// TestInterpolationReadWhereTheResolutionChanges: CLIPig reads interpolation only where the
// resolution changes, so another value runs with a fixed resolution (with a note) and is
// refused where the resolution changes.
func TestInterpolationReadWhereTheResolutionChanges(t *testing.T) {
	for resolution, refused := range map[string]bool{"32": false, `"32 + 32*(t > 0.5)"`: true} {
		f, err := Parse("i.yaml", []byte("epochs: 4\ninterpolation: CUBIC\nresolution: "+resolution+"\ntargets: [{features: [red]}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Notes) != 1 || !strings.Contains(f.Notes[0].Error(), `i.yaml:2:16: note: interpolation "CUBIC" is not one of cubic, linear, nearest`) {
			t.Errorf("resolution %s: notes %v", resolution, f.Notes)
		}
		err = f.Experiment.Resolve()
		if got := err != nil && strings.Contains(err.Error(), `interpolation "CUBIC"`); got != refused {
			t.Errorf("resolution %s: %v, want refused %v", resolution, err, refused)
		}
	}
}

// TestMergeKeysAsPyYAML: the mapping's own keys win over merged ones; among merged mappings a
// later merge key wins, and in a list the earlier mapping, as PyYAML's flatten_mapping orders
// them (python3: yaml.safe_load gives batch sizes 2, 1 and 3 for the three targets).
func TestMergeKeysAsPyYAML(t *testing.T) {
	f, err := Parse("m.yaml", []byte(`targets:
  - &a {name: a, batch_size: 1, features: [x]}
  - &b {name: b, batch_size: 2, features: [y]}
  - {<<: *a, <<: *b, name: c}
  - {<<: [*a, *b], name: d}
  - {<<: [*a, *b], name: e, batch_size: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, tg := range f.Experiment.Targets[2:] {
		got = append(got, tg.BatchSize)
	}
	if !slices.Equal(got, []int{2, 1, 3}) {
		t.Errorf("merged batch sizes %v, want PyYAML's [2 1 3]", got)
	}
}

// TestDefaultModelNotesWordsItDoesNotKnow notes, at its line, each feature text with words
// outside the embedded default model's captions, only where that model runs the file.
func TestDefaultModelNotesWordsItDoesNotKnow(t *testing.T) {
	file := "targets:\n  - features:\n      - a green tree on a Yellow field, a tree\n      - {text: a large red circle on the left in the sky}\n"
	for model, want := range map[string]string{"": `w.yaml:3:9: note: the embedded default model does not know "tree", "field":`,
		"default": `"tree", "field"`, "[default, random:tiny]": `"tree", "field"`, "random:tiny": ""} {
		f, err := Parse("w.yaml", []byte(file+"model: "+model+"\n"))
		if model == "" {
			f, err = Parse("w.yaml", []byte(file))
		}
		if err != nil {
			t.Fatal(err)
		}
		if notes := fmt.Sprint(f.Notes); want == "" && len(f.Notes) > 0 || want != "" && (len(f.Notes) != 1 || !strings.Contains(notes, want)) {
			t.Errorf("model %q: notes %s, want one with %s", model, notes, want)
		}
	}
}

// TestConstraintParametersOfTime reads a constraint's parameters that do not shape the step as
// values of time and similarity, as CLIPig evaluates them at every step: a sigma that falls to 0
// or below is CLIPig's least, 0.0001 (no blur), at those steps, not the kernel's default.
func TestConstraintParametersOfTime(t *testing.T) {
	f, err := Parse("c.yaml", []byte("epochs: 11\ntargets:\n  - features: [x]\n    constraints: [{noise: {std: 0.1 * ti}}, "+
		"{blur: {kernel_size: 5, sigma: 1 - 2 * t}}, {normalize: {max: '1 - sim / 200'}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cs := f.Experiment.Targets[0].Constraints
	first, last := workbench.TimeAt(0, 11), workbench.TimeAt(10, 11)
	if std := []float64{cs[0].Extra[0][0].At(first), cs[0].Extra[0][0].At(last)}; math.Abs(std[0]-0.1) > 1e-12 || std[1] != 0 {
		t.Errorf("noise std 0.1 * ti: %v at the first and last steps, want 0.1 and 0", std)
	}
	if sigma := []float64{cs[1].Extra[1][0].At(first), cs[1].Extra[1][1].At(last)}; sigma[0] != 1 || sigma[1] != 0.0001 {
		t.Errorf("blur sigma 1 - 2 * t: %v at the first and last steps, want 1 and 0.0001", sigma)
	}
	if max := cs[2].Extra[1][0].At(workbench.Env{Similarity: 50}); max != 0.75 {
		t.Errorf("normalize max 1 - sim / 200 at similarity 50: %g, want 0.75", max)
	}
}
