package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/runstore"
)

// runCLI runs clipwork with args and fails the test on a non-zero exit.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("clipwork %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestRunWritesARunFolder runs the demo small on the tiny random model twice with the same
// seed, and checks the run folder's files and that the images are byte-identical.
func TestRunWritesARunFolder(t *testing.T) {
	out := t.TempDir()
	args := []string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "4",
		"--resolution", "48", "--out", out, "--quiet", "--set", "snapshot_interval=2"}
	stdout := runCLI(t, args...)
	if !strings.Contains(stdout, "target composition (select all, 16 windows)") {
		t.Errorf("no frame-count table in the output:\n%s", stdout)
	}
	runCLI(t, args...)
	first, second := filepath.Join(out, "demo"), filepath.Join(out, "demo-1")
	for _, name := range []string{"image.png", "config.yaml", "stats.json", "state.safetensors", "snapshots/step-000002.png"} {
		if _, err := os.Stat(filepath.Join(first, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(first, "image.png"))
	b, _ := os.ReadFile(filepath.Join(second, "image.png"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same seed gave different image.png files")
	}
	if !bytes.Contains(a, []byte("clipwork:config")) {
		t.Error("image.png does not carry the config in a text chunk")
	}
	var stats map[string]any
	data, _ := os.ReadFile(filepath.Join(first, "stats.json"))
	if err := json.Unmarshal(data, &stats); err != nil || stats["status"] != "finished" || stats["steps_done"] != 4.0 {
		t.Errorf("stats.json: %v %v", err, stats)
	}
	if listing := runCLI(t, "runs", t.TempDir()); !strings.Contains(listing, "no runs or sweeps in ") {
		t.Errorf("runs of an empty folder: %q", listing)
	}
	if listing := runCLI(t, "runs", "--out", out); !strings.Contains(listing, "demo-1") {
		t.Errorf("clipwork runs does not list the runs:\n%s", listing)
	}
}

// TestRunOfAnEnsemble runs two models at once for 2 steps and resumes it for a third:
// config.yaml names both with their weights, and stats.json keeps each one's similarities;
// clipwork runs lists the run, and check accepts the recorded config.
func TestRunOfAnEnsemble(t *testing.T) {
	out := t.TempDir()
	runCLI(t, "run", "../../experiments/demo.yaml", "--set", "model=[{name: random:tiny, weight: 2}, default]",
		"--steps", "2", "--resolution", "64", "--out", out, "--quiet")
	dir := filepath.Join(out, "demo")
	config, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if !strings.Contains(string(config), "model:\n    - name: random:tiny\n      weight: 2\n    - name: default\n      weight: 1\n") {
		t.Errorf("config.yaml does not name the ensemble:\n%s", config)
	}
	os.WriteFile(filepath.Join(dir, "config.yaml"), bytes.Replace(config, []byte("epochs: 2"), []byte("epochs: 3"), 1), 0o644)
	runCLI(t, "run", "--resume", dir, "--quiet")
	var stats struct {
		Models  []string
		History []struct {
			ModelSimilarities map[string]map[string][]float64 `json:"model_similarities"`
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err := json.Unmarshal(data, &stats); err != nil || len(stats.Models) != 2 || len(stats.History) != 3 ||
		len(stats.History[2].ModelSimilarities[stats.Models[1]]) == 0 {
		t.Errorf("stats.json: %v %s", err, data)
	}
	if listing := runCLI(t, "runs", "--out", out); !strings.Contains(listing, "random:tiny + ") {
		t.Errorf("clipwork runs does not name the ensemble:\n%s", listing)
	}
	if report := runCLI(t, "check", filepath.Join(dir, "config.yaml")); !strings.Contains(report, ": ok (3 steps") {
		t.Errorf("check of the ensemble's config.yaml:\n%s", report)
	}
}

// TestResumeFinishesLikeAnUninterruptedRun resumes a run stopped early (by a shorter run whose
// config is then given the full length) and compares with an uninterrupted one.
func TestResumeContinuesARun(t *testing.T) {
	out := t.TempDir()
	base := []string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--resolution", "40",
		"--out", out, "--quiet"}
	runCLI(t, append(base, "--steps", "2")...)
	dir := filepath.Join(out, "demo")
	config, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	os.WriteFile(filepath.Join(dir, "config.yaml"), bytes.Replace(config, []byte("epochs: 2"), []byte("epochs: 3"), 1), 0o644)
	runCLI(t, "run", "--resume", dir, "--quiet")
	var stats map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	json.Unmarshal(data, &stats)
	if stats["steps_done"] != 3.0 || stats["status"] != "finished" {
		t.Errorf("after resuming: %v", stats)
	}
}

// shortDemoRun runs the demo for 2 steps on the tiny random model and returns its run folder.
func shortDemoRun(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	runCLI(t, "run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "2", "--resolution", "40",
		"--out", out, "--quiet")
	return filepath.Join(out, "demo")
}

// TestUnwritableRunSaysHowToGoOn resumes a run whose image cannot be written (a folder stands in
// its place): the run fails naming the write and how to resume, and names no image.
func TestUnwritableRunSaysHowToGoOn(t *testing.T) {
	dir := shortDemoRun(t)
	image := filepath.Join(dir, runstore.ImageFile)
	if err := os.Remove(image); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(image, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--resume", dir, "--steps", "3", "--quiet"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "could not be written") || !strings.Contains(stderr.String(), "--resume "+dir) ||
		strings.Contains(stdout.String(), "image:") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout.String(), stderr.String())
	}
}

// TestResumeRefusesALiveRun resumes a run that another writer holds: refused, the run's files
// untouched.
func TestResumeRefusesALiveRun(t *testing.T) {
	dir := shortDemoRun(t)
	holder, err := runstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	before, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "--resume", dir, "--quiet"}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "another clipwork process is writing this run") {
		t.Errorf("resuming a live run: exit %d, stderr %q", code, stderr.String())
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "stats.json")); !bytes.Equal(before, after) {
		t.Error("the refused resume rewrote stats.json")
	}
}

// TestResumeRefusesBadStates resumes from a state with NaN values, from a state of the same
// experiment at another size and from a state copied from another experiment: all refused,
// the run's image and statistics untouched.
func TestResumeRefusesBadStates(t *testing.T) {
	out := t.TempDir()
	short := []string{"--model", "random:tiny", "--steps", "2", "--resolution", "40", "--out", out, "--quiet"}
	runCLI(t, append([]string{"run", "../../experiments/demo.yaml"}, short...)...)
	other := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(other, []byte("name: other\nparameterization: {type: fft, decay: 2}\ntargets:\n  - name: composition\n    features: [a cat, a dog]\n"+
		"  - name: details\n    features: [a red circle on a blue sky]\n"), 0o644)
	runCLI(t, append([]string{"run", other}, short...)...)
	runCLI(t, "run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "2", "--resolution", "48",
		"--out", out, "--quiet", "--set", "name=big")
	dir := filepath.Join(out, "demo")
	state, err := (&runstore.Dir{Path: dir}).ReadState()
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(){
		"nan": func() {
			state.Params[3] = float32(math.NaN())
			(&runstore.Dir{Path: dir}).WriteState(state)
		},
		"another size": func() {
			data, _ := os.ReadFile(filepath.Join(filepath.Dir(dir), "big", runstore.StateFile))
			os.WriteFile(filepath.Join(dir, runstore.StateFile), data, 0o644)
		},
		"another run": func() {
			data, _ := os.ReadFile(filepath.Join(out, "other", runstore.StateFile))
			os.WriteFile(filepath.Join(dir, runstore.StateFile), data, 0o644)
		},
	} {
		image, _ := os.ReadFile(filepath.Join(dir, runstore.ImageFile))
		stats, _ := os.ReadFile(filepath.Join(dir, runstore.StatsFile))
		damage()
		var stdout, stderr bytes.Buffer
		want := map[string]string{"nan": "damaged", "another run": "from another run",
			"another size": "image is 48x48, and the experiment's is 40x40 at step 2 and never 48x48"}[name]
		if code := run([]string{"run", "--resume", dir, "--quiet"}, &stdout, &stderr); code == 0 ||
			!strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, stderr.String(), want)
		}
		after, _ := os.ReadFile(filepath.Join(dir, runstore.ImageFile))
		afterStats, _ := os.ReadFile(filepath.Join(dir, runstore.StatsFile))
		if !bytes.Equal(image, after) || !bytes.Equal(stats, afterStats) {
			t.Errorf("%s: the refused resume rewrote the run's image or statistics", name)
		}
	}
}

// TestResumeTakesMoreSteps resumes a finished 2-step run with --steps 3: it does one more step,
// says so beside the run's three, and records the new length and its first start; fewer steps
// than done are refused.
func TestResumeTakesMoreSteps(t *testing.T) {
	dir := shortDemoRun(t)
	before, err := (&runstore.Dir{Path: dir}).ReadSummary()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "--resume", dir, "--steps", "1"}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "has already done 2 steps") {
		t.Errorf("--steps below the steps done: exit %d, stderr %q", code, stderr.String())
	}
	if out := runCLI(t, "run", "--resume", dir, "--steps", "3", "--quiet"); !strings.Contains(out, "3 steps in ") ||
		!strings.Contains(out, ", 1 of them now in ") {
		t.Errorf("the resumed run's last line does not tell its steps from this session's:\n%s", out)
	}
	s, err := (&runstore.Dir{Path: dir}).ReadSummary()
	if err != nil || s.StepsDone != 3 || s.Steps != 3 || s.Status != runstore.StatusFinished {
		t.Errorf("after --resume --steps 3: %+v %v", s, err)
	}
	if err == nil && !s.Started.Equal(before.Started) {
		t.Errorf("the resumed run's start moved from %v to %v", before.Started, s.Started)
	}
	if config, _ := os.ReadFile(filepath.Join(dir, runstore.ConfigFile)); !bytes.Contains(config, []byte("epochs: 3")) {
		t.Errorf("config.yaml does not record the new length:\n%s", config)
	}
}

// TestResumeWithMoreStepsFollowsTheResolution resumes a finished 10-step run whose resolution
// grows at 70% of the run with --steps 20: step 10 is then back at the smaller size, so the
// saved image is resized there and the run ends at the larger one, 20 steps done.
func TestResumeWithMoreStepsFollowsTheResolution(t *testing.T) {
	file := filepath.Join(t.TempDir(), "grows.yaml")
	os.WriteFile(file, []byte("name: grows\nmodel: random:tiny\nepochs: 10\nresolution: 32 if t < 0.7 else 48\n"+
		"targets: [{features: [a red circle]}]\n"), 0o644)
	out := t.TempDir()
	runCLI(t, "run", file, "--out", out, "--quiet")
	dir := filepath.Join(out, "grows")
	runCLI(t, "run", "--resume", dir, "--steps", "20", "--quiet")
	s, err := (&runstore.Dir{Path: dir}).ReadSummary()
	if err != nil || s.StepsDone != 20 || s.Status != runstore.StatusFinished {
		t.Fatalf("after --resume --steps 20: %+v %v", s, err)
	}
	f, err := os.Open(filepath.Join(dir, runstore.ImageFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.DecodeConfig(f); err != nil || img.Width != 48 || img.Height != 48 {
		t.Errorf("the resumed run's image: %+v %v, want 48x48", img, err)
	}
}

// TestRunRecordsWhereItsModelIs runs on a model folder named by a relative path: config.yaml
// names it by its absolute path. A copy of the run folder is listed under its own name.
func TestRunRecordsWhereItsModelIs(t *testing.T) {
	modelDir := filepath.Join(t.TempDir(), "tiny-model")
	cfg, err := clipmodel.ArchitectureConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if err := clipmodel.WriteFolder(modelDir, cfg, clipmodel.RandomWeights(cfg, 1), clipmodel.ByteTokenizer(cfg),
		clipmodel.DefaultPreprocess(cfg.Vision.ImageSize), "F32"); err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	relative, err := filepath.Rel(cwd, modelDir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	runCLI(t, "run", "../../experiments/demo.yaml", "--model", relative, "--steps", "1", "--resolution", "40",
		"--out", out, "--quiet")
	config, _ := os.ReadFile(filepath.Join(out, "demo", runstore.ConfigFile))
	if !bytes.Contains(config, []byte("model: "+modelDir+"\n")) {
		t.Errorf("config.yaml does not name the model folder by its absolute path %s:\n%s", modelDir, config)
	}
	if err := os.CopyFS(filepath.Join(out, "copy"), os.DirFS(filepath.Join(out, "demo"))); err != nil {
		t.Fatal(err)
	}
	if listing := runCLI(t, "runs", "--out", out); !strings.Contains(listing, "\ncopy ") {
		t.Errorf("clipwork runs does not list the copied run by its folder:\n%s", listing)
	}
}

// TestRunRefusesBrokenGeometry runs targets whose geometric transforms give no valid window
// mapping (a NaN angle, a zero scale, a division by zero at step 1): refused before the run
// starts (no run folder), naming the target, the transform and the step (a NaN value where it
// was written), as check refuses them.
func TestRunRefusesBrokenGeometry(t *testing.T) {
	for transform, want := range map[string]string{
		"{random_rotate: {degree: nan}}":           "geometric transform 1 (random_rotate) degree value 1 (g.yaml:6:43) is NaN at step 0",
		"{resize: 0}":                              "resize 0 0 at step 0 is no valid mapping",
		"{random_scale: [0, 0]}":                   "random_scale 0 0 at step 0 is no valid mapping",
		`{random_rotate: {degree: "1/(epoch-1)"}}`: "geometric transform 1 (random_rotate) degree value 1 (g.yaml:6:43) is NaN at step 1: expression",
		"{crop: 0 0 0 0}":                          "crop 0 0 0 0 at step 0 leaves 0x0 pixels of the 64x64 before it",
	} {
		path := filepath.Join(t.TempDir(), "g.yaml")
		os.WriteFile(path, []byte("epochs: 3\nresolution: 64\ntargets:\n  - batch_size: 1\n    features: [a cat]\n"+
			"    transforms: ["+transform+"]\n"), 0o644)
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		code := run([]string{"run", path, "--model", "random:tiny", "--out", out, "--quiet"}, &stdout, &stderr)
		if code == 0 || !strings.Contains(strings.ReplaceAll(stderr.String(), path, "g.yaml"), `target "target1"`) ||
			!strings.Contains(strings.ReplaceAll(stderr.String(), path, "g.yaml"), want) {
			t.Errorf("%s: exit %d, stderr %q", transform, code, stderr.String())
		}
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			t.Errorf("%s: the refused run left %v", transform, entries)
		}
		if code := run([]string{"check", path}, &stdout, &stderr); code == 0 {
			t.Errorf("%s: check passes it", transform)
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("epochs: 3\ntargets:\n  - features: [x]\n    batch_size: -1\n"), 0o644)
	twoDocs := filepath.Join(t.TempDir(), "two.yaml")
	os.WriteFile(twoDocs, []byte("epochs: 3\ntargets: [{features: [a]}]\n---\nepochs: 5\n"), 0o644)
	small := filepath.Join(t.TempDir(), "small.yaml") // windows of the model's input on an 8x8 image
	os.WriteFile(small, []byte("model: random:tiny\nresolution: 8\ntargets: [{features: [x], transforms: [window: {scale: 1}]}]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "give one or more experiment files"},
		{[]string{"run", bad}, "bad.yaml:4:17"},
		{[]string{"run", "../../experiments/demo.yaml", "--model", "nope/nope/nope"}, "is none of"},
		{[]string{"check", bad}, "batch_size must be at least 1"},
		{[]string{"check", small}, "larger than the 8x8 image"},
		{[]string{"run", small, "--out", t.TempDir()}, "larger than the 8x8 image"},
		{[]string{"run", "--resume", t.TempDir()}, "not a run folder"},
		{[]string{"run", "--resume", "s3://bucket"}, "--resume s3://bucket names no run folder: write s3://bucket/prefix/RUN"},
		{[]string{"run", "--resume", "s3://bucket/"}, "names no run folder"},
		{[]string{"run", "../../experiments/demo.yaml", "--steps", "0"}, "--steps 0: a run needs at least 1 step"},
		{[]string{"check", "../../experiments/demo.yaml", "--steps", "0"}, "--steps 0: a run needs at least 1 step"},
		{[]string{"check", "../../experiments/demo.yaml", "--set", "resolution=16384"}, "lower the resolution"},
		{[]string{"check", "../../experiments/malazan-details.yaml", "--set", "resolution=16384"}, "lower the resolution"}, // a hub model's known architecture
		{[]string{"check", "../../experiments/demo.yaml", "--set", "resolution=100000"}, "larger than the limit of 16384 per side"},
		{[]string{"check", "../../experiments/demo.yaml", "--steps", "9223372036854775806"}, "steps must be from 1 to 100000000"},
		{[]string{"check", "../../experiments/demo.yaml", "--set", "epochs=.inf"}, "epochs must be a whole number, got +Inf"},
		{[]string{"bench", "--steps", "0"}, "--steps and --windows must be at least 1"},
		{[]string{"runs", "run_test.go"}, "run_test.go is a file: give a results folder or a sweep folder"},
		{[]string{"robustify", "--model", "m", "--out", t.TempDir(), "--radius", "-4"}, "--radius -4: give 0 or more"},
		{[]string{"train-default", "--out", t.TempDir(), "--lr", "-1"}, "--lr -1: give a number above 0"},
		{[]string{"train-default", "--out", t.TempDir(), "--robust-batch", "0"}, "--robust-batch 0: give 1 or more"},
		{[]string{"train-default", "--out", t.TempDir(), "--robust-steps", "-1"}, "--robust-steps -1: give 0 or more"},
		{[]string{"bench", "extra", "--steps", "1"}, `unexpected argument "extra"`},
		{[]string{"run", "../../experiments/demo.yaml", "--model", ""}, "--model is empty"},
		{[]string{"run", "../../experiments/demo.yaml", "--out", "run_test.go"}, "--out run_test.go is a file, not a folder"},
		{[]string{"eval-default", "--scenes", "0"}, "--scenes and --seeds must be at least 1"},
		{[]string{"eval-default", "--seeds", "3"}, "--seed and --seeds choose the paintings' seeds: add --paint"},
		{[]string{"robustify", "--model", "m", "--out", t.TempDir(), "--steps", "0"}, "--steps 0: give 1 or more"},
		{[]string{"robustify", "--model", "/no/such/model", "--out", t.TempDir()}, `there is no model folder "/no/such/model"`},
		{[]string{"train-default", "--out", t.TempDir(), "--init-from", "/no/such/model"}, "--init-from: /no/such/model is not an exported default model"},
		{[]string{"check", twoDocs}, "a second YAML document"},
		{[]string{"check", "../../experiments/demo.yaml", "--set", "learnrate=log(0)"},
			`--set learnrate=log(0): learnrate: expression "log(0)": log: math domain error`},
		{[]string{"check", "../../experiments/demo.yaml", "--set", "targets.details.weight=1/(epoch - 104)"},
			`target "details" weight (--set targets.details.weight=1/(epoch - 104)) is NaN at step 104: expression "1/(epoch - 104)": floating-point division by zero`},
		{[]string{"check", "../../experiments/demo.yaml", "--set", "targets.details.start=200", "--set", "targets.composition.start=300"},
			"no target is active at any step"},
		{[]string{"run", "../../experiments/demo.yaml", "--set", "targets.details.batch_size=100000"}, "lower the targets' batch_size"},
		{[]string{"run", "../../experiments/demo.yaml", "--set", "epochs=abc"}, "clipwork run: --set epochs=abc: epochs must be a number"},
		{[]string{"run", "../../experiments/demo.yaml", "--set", "targets=["}, "clipwork run: --set targets=[: a target must be a mapping"},
		{[]string{"run", "../../experiments/demo.yaml", "--learnrate", "abc"}, "clipwork run: --learnrate abc: learnrate: not a number"},
		{[]string{"run", "../../experiments/demo.yaml", "--resolution", "64 x"}, "clipwork run: --resolution 64 x: resolution"},
		{[]string{"run", "../../experiments/demo.yaml", "--steps", "-5"}, "--steps -5"},
		{[]string{"run", "../../experiments/demo.yaml", "--seed", "-7"}, "--seed -7: seeds are 0 or more (-1 keeps the file's)"},
		{[]string{"run", "--resume", t.TempDir(), "--model", "random:tiny", "--set", "seed=3"}, "--resume cannot change --model, --set"},
		{[]string{"run", "--resume", t.TempDir(), "../../experiments/demo.yaml"}, "drop ../../experiments/demo.yaml"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestStopSignalsSaveAndResume sends the process an interrupt (Ctrl-C) or a SIGTERM during a
// run: the run folder must hold an image and state marked interrupted, and --resume must
// finish the run.
func TestStopSignalsSaveAndResume(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { stopAndResume(t, sig) })
	}
}

func stopAndResume(t *testing.T, sig syscall.Signal) {
	out := t.TempDir()
	done := make(chan string)
	go func() {
		var stdout, stderr bytes.Buffer
		code := run([]string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "100000",
			"--resolution", "40", "--out", out, "--quiet"}, &stdout, &stderr)
		if code != 130 || stderr.Len() > 0 {
			t.Errorf("interrupted: exit %d, stderr %q; want 130 and nothing", code, stderr.String())
		}
		done <- stdout.String()
	}()
	dir := filepath.Join(out, "demo")
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "stats.json")); err == nil {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the run did not start")
		}
	}
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(os.Getpid(), sig)
	stdout := <-done
	if !strings.Contains(stdout, "clipwork run --resume "+dir) {
		t.Errorf("no resume hint after the interrupt:\n%s", stdout)
	}
	var stats struct {
		Status    string `json:"status"`
		StepsDone int    `json:"steps_done"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	json.Unmarshal(data, &stats)
	if stats.Status != "interrupted" || stats.StepsDone == 0 || stats.StepsDone >= 100000 {
		t.Fatalf("after the interrupt: %+v", stats)
	}
	if _, err := os.Stat(filepath.Join(dir, "image.png")); err != nil {
		t.Errorf("no image saved at the interrupt: %v", err)
	}
	config, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	os.WriteFile(filepath.Join(dir, "config.yaml"),
		bytes.Replace(config, []byte("epochs: 100000"), []byte(fmt.Sprintf("epochs: %d", stats.StepsDone+2)), 1), 0o644)
	runCLI(t, "run", "--resume", dir, "--quiet")
	data, _ = os.ReadFile(filepath.Join(dir, "stats.json"))
	json.Unmarshal(data, &stats)
	if stats.Status != "finished" {
		t.Errorf("after resuming: %+v", stats)
	}
}

// TestProgressLinesOutsideATerminal: where stderr is no terminal, progress is a line for the first
// step and the last (and one every progressEvery between), no carriage returns.
func TestProgressLinesOutsideATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	r, err := workbench.NewRun(workbench.Experiment{Steps: 3, Width: 32, Height: 32,
		Targets: []workbench.Target{{Features: []workbench.Feature{{Text: "x"}}}}}, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), newProgress(f, r)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.Name())
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "1 of 3 steps") ||
		!strings.HasPrefix(lines[1], "3 of 3 steps") || strings.Contains(string(data), "\r") {
		t.Errorf("progress written to a file:\n%q", data)
	}
}

// TestCheckTakesRunsFlags checks a file with run's overriding flags, as run would read it.
func TestCheckTakesRunsFlags(t *testing.T) {
	out := runCLI(t, "check", "../../experiments/malazan-details.yaml", "--model", "default", "--steps", "7", "--resolution", "64")
	if !strings.Contains(out, "ok (7 steps, 64x64") {
		t.Errorf("check with --model, --steps and --resolution:\n%s", out)
	}
}

// TestCheckNotesTextsTooLong: check notes a feature text longer than the context of each
// model whose tokenizer it can know (the embedded model's, a random architecture's byte
// tokenizer, CLIP's standard one for a named architecture), once a text, as run does.
func TestCheckNotesTextsTooLong(t *testing.T) {
	long := strings.Repeat("a red circle on a blue sky ", 20)
	path := filepath.Join(t.TempDir(), "long.yaml")
	os.WriteFile(path, []byte("targets: [{features: [{text: '"+long+"'}, {text: short}]}]\n"), 0o644)
	for model, context := range map[string]string{"default": "32", "random:tiny": "16", "ViT-B/32": "77"} {
		out := runCLI(t, "check", path, "--model", model)
		if strings.Count(out, "tokens too long for the model's context of "+context+"; its end is cut") != 1 {
			t.Errorf("check --model %s:\n%s", model, out)
		}
	}
}

// TestCheckNotesDownloads notes a model that run would download, naming where it looked: for
// an OpenAI name, clip.load's file in ~/.cache/clip as well as the HuggingFace cache.
func TestCheckNotesDownloads(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	out := runCLI(t, "check", "../../experiments/demo.yaml", "--model", "ViT-B/32")
	if !strings.Contains(out, filepath.Join(".cache", "clip", "ViT-B-32.pt")+" nor the HuggingFace cache") {
		t.Errorf("check --model ViT-B/32:\n%s", out)
	}
	out = runCLI(t, "check", "--each", "../../experiments/demo.yaml", "../../experiments/strawberries.yaml", "--model", "ViT-B/32")
	if strings.Count(out, "run downloads it") != 1 || !strings.Contains(out, "note: as for ../../experiments/demo.yaml: model ViT-B/32 is not in") {
		t.Errorf("check --each prints a note again in full, or not at all:\n%s", out)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "b.yaml"} {
		os.WriteFile(filepath.Join(dir, name), []byte("targets:\n  - features:\n      - a green tree\n      - a castle\n"), 0o644)
	}
	out = runCLI(t, "check", "--each", filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"))
	if strings.Count(out, "a real CLIP") != 1 || !strings.Contains(out, filepath.Join(dir, "b.yaml")+":3:9: note: as for "+filepath.Join(dir, "a.yaml")) ||
		!strings.Contains(out, `does not know "castle" either`) {
		t.Errorf("check --each repeats a located note in full, or loses its position:\n%s", out)
	}
}
