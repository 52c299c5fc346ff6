package expfile

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/workbench"
)

// TestExpressionStepLimit checks that an expression doing unbounded work is refused quickly,
// naming the expression, rather than hanging check and run.
func TestExpressionStepLimit(t *testing.T) {
	for _, source := range []string{
		"0.01 + 0*max(range(2000000000))",
		"0.01 + 0*len([x for x in range(999999) for y in range(999999)])",
		"0.01 + 0*len([0] * 500000000)",
		"0.01 + 0*len(res * 500000000)",
		"0.01 + 0*len(list(range(1000000)) * 1000)",
	} {
		begin := time.Now()
		_, err := Parse("bad.yaml", []byte("learnrate: \""+source+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "limit") && !strings.Contains(err.Error(), "repeat") ||
			!strings.Contains(err.Error(), "0.01 + 0*") {
			t.Errorf("%s: got %v, want an error naming the expression and the limit", source, err)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("%s: took %v", source, d)
		}
	}
}

// TestSizeLimits checks that size-like transform parameters whose graphs grow with their value
// are refused by Resolve (check and run alike), naming the parameter and the limit.
func TestSizeLimits(t *testing.T) {
	refused := map[string]string{
		"{blur: {kernel_size: 1e9}}":               "blur kernel_size",
		"{edge: {kernel_size: 1e9}}":               "edge kernel_size",
		"{pad: 1e9}":                               "pad size",
		"{repeat: 1e9}":                            "repeat count",
		"{random_crop: 1e9}":                       "random_crop size",
		"{rnoise: {std: .1, resolution: 1e9}}":     "rnoise resolution",
		"{crop: 0 0 1e9 1e9}":                      "crop xywh",
		"{center_crop: \"1e9 if t > .5 else 10\"}": "center_crop size",
		"{resize: 1e9}":                            "resize size",
	}
	for transform, want := range refused {
		yaml := "epochs: 2\nresolution: 32\ntargets: [{features: [{text: a cat}], transforms: [" + transform + "]}]\n"
		f, err := Parse("big.yaml", []byte(yaml))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: got %v, want an error naming %s and its limit", transform, err, want)
		}
	}
	for _, transform := range []string{"{blur: {kernel_size: 51}}", "{pad: 100}", "{repeat: 3}", "{crop: .1 .1 .5 .5}"} {
		yaml := "epochs: 2\nresolution: 32\ntargets: [{features: [{text: a cat}], transforms: [" + transform + "]}]\n"
		f, err := Parse("ok.yaml", []byte(yaml))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if err != nil {
			t.Errorf("%s: %v", transform, err)
		}
	}
	postproc := "epochs: 2\nresolution: 32\npostproc: [{blur: {kernel_size: 1001}}]\ntargets: [{features: [{text: a cat}]}]\n"
	if f, err := Parse("pp.yaml", []byte(postproc)); err == nil {
		if err := f.Experiment.Resolve(); err == nil || !strings.Contains(err.Error(), "kernel_size") {
			t.Errorf("postproc blur kernel_size 1001: got %v", err)
		}
	} else {
		t.Errorf("postproc: %v", err)
	}
}

// TestCheckReadsImageHeaders checks that Resolve (check and run alike) reads image files'
// headers as the run's clipmodel.LoadImage does, refusing with its message: a PNG declaring
// 100000x100000, a file that is no image, a folder.
func TestCheckReadsImageHeaders(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	ihdr := []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0} // 100000 x 100000, RGB
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), ihdr...)
	png = binary.BigEndian.AppendUint32(png, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	text := filepath.Join(dir, "passwd")
	if err := os.WriteFile(big, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{big, text, dir} {
		_, loadErr := clipmodel.LoadImage(path)
		if loadErr == nil {
			t.Fatalf("LoadImage(%s) succeeded", path)
		}
		for _, yaml := range []string{
			"epochs: 2\ntargets: [{features: [{image: " + path + "}]}]\n",
			"epochs: 2\ninit: {image: " + path + "}\ntargets: [{features: [{text: a cat}]}]\n",
		} {
			f, err := Parse("img.yaml", []byte(yaml))
			if err == nil {
				err = f.Experiment.Resolve()
			}
			if err == nil || !strings.Contains(err.Error(), loadErr.Error()) {
				t.Errorf("%q: got %v, want %q", yaml, err, loadErr)
			}
		}
	}
}

// TestManyPlainValuesAreNoAliasBomb checks that the alias limit counts only values reached
// through aliases: a file of more than 100000 values written out is read.
func TestManyPlainValuesAreNoAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("epochs: 2\ntargets:\n  - features:\n")
	for i := range 40_000 {
		fmt.Fprintf(&b, "      - {text: cat %d, weight: 1}\n", i) // 5 values each
	}
	f, err := Parse("plain.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Experiment.Targets[0].Features); n != 40_000 {
		t.Errorf("%d features, want 40000", n)
	}
}

// TestCLIPigLeniencies reads what CLIPig's yaml.safe_load and Python expressions accept: loss
// and select names in any case, YAML 1.1 booleans, the math module's names, the power
// operator, and merge keys.
func TestCLIPigLeniencies(t *testing.T) {
	yaml := `epochs: 4
learnrate: "factorial(3) * 0.001 + 0 * (pi + e + tau) + (1 if isfinite(1.) and not isnan(1.) else 0) * 0.0001"
targets:
  - &first
    name: first
    batch_size: 3
    select: Best
    features: [{text: a bird}]
  - <<: *first
    name: a
    batch_size: 2
    active: Yes
    features: [{text: a cat, loss: L2, weight: "t**2 + 1"}]
  - name: b
    active: off
    features: [{text: a dog}]
    constraints: [{mean: {above: .1, loss: MSE}}]
`
	f, err := Parse("clipig.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e := f.Experiment
	if a := e.Targets[1]; a.BatchSize != 2 || a.Select != "best" || a.Disabled || a.Features[0].Loss != "l2" {
		t.Errorf("target a: batch_size %d, select %q, disabled %v, loss %q", a.BatchSize, a.Select, a.Disabled, a.Features[0].Loss)
	}
	if b := e.Targets[2]; !b.Disabled || b.Constraints[0].Loss != "mse" {
		t.Errorf("target b: disabled %v, constraint loss %q", b.Disabled, b.Constraints[0].Loss)
	}
	for _, tc := range []struct {
		source string
		want   float64
	}{
		{"t**2", 0.25}, {"2**3**2", 512}, {"-2**2", -4}, {"2**-1", 0.5}, {"(1+1)**3 * 2", 16},
		{"res[0]**2 / 100", 4}, {"sqrt(4)**2", 4}, {"2 * 3**2", 18}, {"factorial(5)", 120},
		{"inf if t > 2 else -inf", math.Inf(-1)}, {"gcd(12, 18) + fmod(7, 4)", 9},
		{"len(range(10**3))", 1000}, {"2**0.5 * 2**0.5", 2.0000000000000004}, {"(-2)**3", -8}, {"10**2 // 3", 33},
		{"(-1)**(2**62+1)", -1}, {"0**0 + 1**(10**20)", 2},
	} {
		x, err := compileExpression(tc.source)
		if err != nil {
			t.Errorf("%s: %v", tc.source, err)
			continue
		}
		env := workbench.Env{T: 0.5, Steps: 3, Step: 1, Width: 20, Height: 10}
		if got, err := x.eval(env); err != nil || got != tc.want {
			t.Errorf("%s = %g (%v), want %g", tc.source, got, err, tc.want)
		}
	}
	if x, err := compileExpression("2**2**62"); err != nil {
		t.Error(err)
	} else if _, err := x.eval(workbench.Env{Steps: 2}); err == nil || !strings.Contains(err.Error(), "too large a whole number") {
		t.Errorf("2**2**62: %v", err)
	}
	if x, err := compileExpression("nan"); err != nil {
		t.Error(err)
	} else if v, _ := x.eval(workbench.Env{Steps: 2}); !math.IsNaN(v) {
		t.Errorf("nan = %g", v)
	}
}

// TestRelativeModelFolderFollowsTheFile checks that a relative model folder is found beside
// the file, as images are, and recorded absolute; a hub id stays as written.
func TestRelativeModelFolderFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models", "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "exp.yaml")
	yaml := "model: models/mine\nepochs: 2\ntargets: [{features: [{text: a cat}]}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "models", "mine"); f.Experiment.Model != want {
		t.Errorf("model %q, want %q", f.Experiment.Model, want)
	}
	f, err = Load([]string{file}, "model=openai/clip-vit-base-patch32")
	if err != nil {
		t.Fatal(err)
	}
	if f.Experiment.Model != "openai/clip-vit-base-patch32" {
		t.Errorf("hub id became %q", f.Experiment.Model)
	}
}

// TestFeatureActiveAtNoStepIsRefused checks that Resolve (check and run alike) refuses a feature
// that no step of the run applies, naming it.
func TestFeatureActiveAtNoStepIsRefused(t *testing.T) {
	for _, feature := range []string{"{text: a cat, start: 99}", "{text: a cat, start: 3, end: 2}", "{text: a cat, start: 90%, end: 10%}"} {
		yaml := "epochs: 4\ntargets: [{features: [{text: a dog}, " + feature + "]}]\n"
		f, err := Parse("late.yaml", []byte(yaml))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), `feature "a cat" is active at no step`) {
			t.Errorf("%s: got %v", feature, err)
		}
	}
	f, err := Parse("ok.yaml", []byte("epochs: 4\ntargets: [{features: [{text: a dog}, {text: a cat, start: 3}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Experiment.Resolve(); err != nil {
		t.Errorf("a feature active at the last step: %v", err)
	}
}

// TestCarelessWritingExplained names the fix for common slips: a tab indenting, 640x480, a
// resolution-changing postproc, a wrong count of values, a list or feature left null.
func TestCarelessWritingExplained(t *testing.T) {
	for source, want := range map[string]string{
		"targets:\n\t- features: [x]\n":                                     "c.yaml:2: found character that cannot start any token (line 2 indents with a tab: YAML indents with spaces only)",
		"resolution: 640x480\n":                                             "c.yaml:1:13: resolution \"640x480\": write width and height as 640 480",
		"postproc:\n  - resize: 64\n":                                       "resize changes the image's size",
		"targets: [{features: [x], transforms: [{random_shift: 0 1 2}]}]\n": "random_shift offset takes 1, 2 or 4 values, got 3",
		"targets: [{features: [x], transforms: [{saturation: 1 2}]}]\n":     "saturation factor takes 1 value, got 2",
		"learnrate: \"\"\n":                                                 "c.yaml:1:12: learnrate is empty: give a number or an expression",
		"\ufeff\ufeffepochs: 3\n":                                           "c.yaml:1: the file starts with 2 byte-order marks",
		"targets: [{features: [red], transforms: [{crop: 0.5 0.25}]}]\n":    "crop xywh (x, y, width, height) takes 1 or 4 values, got 2",
		"epochs: 1e30\n":                                                    "c.yaml:1:9: epochs 1e+30 is far too large for clipwork",
		"postproc: [{mul: []}]\ntargets: [{features: [red]}]\n":             "c.yaml:1:18: postproc \"mul\" is empty",
		"postproc: [{saturation: ''}]\ntargets: [{features: [red]}]\n":      "postproc \"saturation\" is empty",
		// null lists and features, which CLIPig refuses (a null feature was the text "~")
		"targets: [{features: ~}]\n":                        "c.yaml:1:22: features is empty (null)",
		"targets:\n  - features:\n":                         "c.yaml:2:14: features is empty (null)",
		"targets: [{features: [red, null]}]\n":              "c.yaml:1:28: a feature is empty (null)",
		"targets: [{features: [red], transforms: ~}]\n":     "transforms is empty (null)",
		"targets: [{features: [red], constraints: null}]\n": "constraints is empty (null)",
		"postproc: ~\ntargets: [{features: [red]}]\n":       "c.yaml:1:11: postproc is empty (null)",
	} {
		_, err := Parse("c.yaml", []byte(source))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", source, err, want)
		}
		if err != nil && strings.Count(err.Error(), "c.yaml") > 1 {
			t.Errorf("%q: the error repeats: %v", source, err)
		}
	}
}

// TestSyntaxErrorsNameTheBreakingLine names the line that breaks a file's YAML, where the
// parser names the start of the block it was reading: a key indented out of its block, a
// misindented item, an unclosed bracket; a bracket closed on a later line is no error there.
func TestSyntaxErrorsNameTheBreakingLine(t *testing.T) {
	const head = "epochs: 3\nresolution: [32,\n  32]\ntargets:\n  - name: x\n    features:\n      - text: a\n"
	for source, want := range map[string]string{
		head + "    transforms:\n      - noise: .1\n  constraints:\n      - mean: {above: .1}\n": "c.yaml:10: ",
		head + "     - text: b\n": "c.yaml:8: ",
		head + "    transforms:\n      - blur: {kernel_size: 3\n      - add: .1\n": "c.yaml:9: ",
		head + "     transforms:\n      - noise: .1\n":                             "c.yaml:8: ",
	} {
		_, err := Parse("c.yaml", []byte(source))
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "breaks it") {
			t.Errorf("%q: %v, want %q", source, err, want)
		}
	}
}

// TestHugeFilesAreRefused refuses an experiment file past the size limit, and /dev/zero, by
// reading at most the limit.
func TestHugeFilesAreRefused(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(huge, []byte("# "+strings.Repeat("x", maxFileBytes)+"\nepochs: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{huge, "/dev/zero"} {
		if _, err := Load([]string{path}); err == nil || !strings.Contains(err.Error(), "the limit of an experiment file") {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// TestNumbersAsPyYAMLReadsThem: numbers beyond a float's range are infinite, as PyYAML and
// Python read them (then refused by name and place), and a plain number's underscores all go, as PyYAML
// drops them; an infinite resolution is named so.
func TestNumbersAsPyYAMLReadsThem(t *testing.T) {
	for value, want := range map[string]string{"1.0e+400": "learnrate (n.yaml:1:12) is +Inf", "-1e400": "learnrate (n.yaml:1:12) is -Inf",
		"'1e400'": "learnrate (n.yaml:1:12) is +Inf", "1__0": "", "0x1_0": "", "1.0e-400": ""} {
		f, err := Parse("n.yaml", []byte("learnrate: "+value+"\ntargets: [{features: [x]}]\n"))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("learnrate: %s: %v, want %q", value, err, want)
		}
	}
	f, err := Parse("n.yaml", []byte("learnrate: 1__0\ntargets: [{features: [x]}]\n"))
	if err != nil || f.Experiment.Learnrate.At(workbench.TimeAt(0, 1)) != 10 {
		t.Errorf("learnrate 1__0: %v, want 10 as PyYAML reads it", err)
	}
	f, err = Parse("r.yaml", []byte("resolution: \"inf\"\ntargets: [{features: [x]}]\n"))
	if err == nil {
		err = f.Experiment.Resolve()
	}
	if err == nil || !strings.Contains(err.Error(), "resolution is infinite") {
		t.Errorf("resolution inf: %v", err)
	}
}

// TestValuesFailingLaterNameTheirLine: a value that is fine when read but fails at a later step
// (weight 1/(1-t) at the last) is refused with the line and column it was written at, and the
// first step at which it fails.
func TestValuesFailingLaterNameTheirLine(t *testing.T) {
	f, err := Parse("w.yaml", []byte("epochs: 10\nresolution: 32\ntargets:\n  - features: [red]\n    weight: 1/(1-t)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Experiment.Resolve(); err == nil || !strings.Contains(err.Error(), `weight (w.yaml:5:13) is NaN at step 9`) {
		t.Errorf("a weight failing at the last step: %v", err)
	}
	// checked at 11 moments, reported at the step it first fails: t = 20/39 passes 0.5
	f, err = Parse("w.yaml", []byte("epochs: 40\ntargets:\n  - features: [red]\n    weight: sqrt(0.5 - t)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Experiment.Resolve(); err == nil || !strings.Contains(err.Error(), `is NaN at step 20:`) {
		t.Errorf("a weight failing from step 20: %v", err)
	}
}

// TestValuesAreCheckedWhereActive: CLIPig evaluates a constraint's, transform's or target's
// values only within their periods, so a value that fails only outside them is accepted and runs,
// and one that fails within them is refused at its first failing step there.
func TestValuesAreCheckedWhereActive(t *testing.T) {
	for _, body := range []string{
		"    constraints: [{border: {color: sqrt(0.5 - t), end: 0.5}}]\n",
		"    constraints: [{blur: {sigma: 1/(1-t), end: 0.9}}]\n",
		"    constraints: [{mean: {above: sqrt(t - 0.5), start: 0.6}}]\n",
		"    transforms: [{edge: {sigma: sqrt(0.5 - t), end: 0.45}}]\n",
		"    end: 0.5\n    weight: sqrt(0.5 - t)\n",
	} {
		f, err := Parse("p.yaml", []byte("epochs: 20\nresolution: 16\ntargets:\n  - features: [red]\n"+body))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if err != nil {
			t.Errorf("%s: %v, want it accepted", body, err)
			continue
		}
		m, err := clipmodel.Load("random:tiny")
		if err != nil {
			t.Fatal(err)
		}
		run, err := workbench.NewRun(f.Experiment, m)
		if err == nil {
			err = run.Run(context.Background())
		}
		if err != nil {
			t.Errorf("%s: the run: %v", body, err)
		}
	}
	f, err := Parse("p.yaml", []byte("epochs: 20\ntargets:\n  - features: [red]\n    constraints: [{noise: {std: sqrt(0.75 - t), end: 0.9}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Experiment.Resolve(); err == nil || !strings.Contains(err.Error(), `std value 1 (p.yaml:4:33) is NaN at step 15`) {
		t.Errorf("a std failing within the period from step 15: %v", err)
	}
}

// TestNullNumbersSayNull: a number left empty or given as null is refused as such at its line,
// not as an expression naming "null" or "~".
func TestNullNumbersSayNull(t *testing.T) {
	checkTargetBodies(t, map[string]string{
		"    weight: ~\n": "t.yaml:5:13: weight is null:",
		"    weight:\n":   "t.yaml:5:12: weight is left empty (null):",
		"    constraints: [{noise: {std: null}}]\n":   "t.yaml:5:33: noise std is null:",
		"    transforms: [{noise: [0.1, null, 1]}]\n": "t.yaml:5:32: noise std is null:",
	})
}

// TestEdgeSigmaAndBorderSizeBounds: CLIPig gives the edge transform's sigma to torchvision as it
// is, which refuses 0 or less, so a number is refused at its line and an expression at the
// first step it reaches 0 (a constraint's sigma there is CLIPig's least instead, no blur); and
// CLIPig fails on a border of negative size, transform or constraint, where 0 is no border.
func TestEdgeSigmaAndBorderSizeBounds(t *testing.T) {
	checkTargetBodies(t, map[string]string{
		"    transforms: [{edge: {sigma: -1}}]\n":              "t.yaml:5:33: edge sigma must be above 0",
		"    transforms: [{edge: {sigma: 1 - 2 * t}}]\n":       "sigma value 1 (t.yaml:5:33) is NaN at step 10: edge sigma must be above 0",
		"    constraints: [{blur: {sigma: 1 - 2 * t}}]\n":      "",
		"    transforms: [{edge: {sigma: 0.5 + t, end: 1}}]\n": "",
		"    transforms: [{border: {size: -3}}]\n":             "t.yaml:5:34: border size must be 0 or more",
		"    constraints: [{border: {size: 1 -2}}]\n":          "t.yaml:5:35: border size must be 0 or more",
		"    constraints: [{border: {size: 0}}]\n":             "",
		"    transforms: [{border: {size: '2 + 0'}}]\n":        "",
	})
}

// checkTargetBodies reads and resolves a 20-step file t.yaml of one target with each body
// (indented settings after its features): refused with an error containing its want, or
// accepted where want is "".
func checkTargetBodies(t *testing.T, wants map[string]string) {
	t.Helper()
	for body, want := range wants {
		f, err := Parse("t.yaml", []byte("epochs: 20\nresolution: 32\ntargets:\n  - features: [x]\n"+body))
		if err == nil {
			err = f.Experiment.Resolve()
		}
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// TestRandomCopiesDrawTheirOwn: one expression without variables that draws random numbers,
// given for several channels, is drawn for each when the file is read, as CLIPig makes an
// expression of each copy; a plain number fills them as one.
func TestRandomCopiesDrawTheirOwn(t *testing.T) {
	f, err := Parse("r.yaml", []byte("targets:\n  - features: [x]\n    transforms: [{add: random()}, {mul: 0.5}]\n"+
		"    constraints: [{border: {color: random()}}, {mean: {above: random()}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	target := f.Experiment.Targets[0]
	for what, values := range map[string][]workbench.Value{"add": target.Transforms[0].Values,
		"border color": target.Constraints[0].Extra[1], "mean above": target.Constraints[1].Above} {
		var drawn []float64
		for _, v := range values {
			drawn = append(drawn, v.At(workbench.Env{}))
		}
		if distinct := slices.Compact(slices.Sorted(slices.Values(drawn))); len(drawn) != 3 || len(distinct) != 3 {
			t.Errorf("%s random(): %v, want three draws", what, drawn)
		}
	}
	if mul := target.Transforms[1].Values; len(mul) != 1 {
		t.Errorf("mul 0.5: %d values, want one filling the channels", len(mul))
	}
}
