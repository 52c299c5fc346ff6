package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if listing := runCLI(t, "runs", "--out", out); !strings.Contains(listing, "demo-1") {
		t.Errorf("clipwork runs does not list the runs:\n%s", listing)
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

func TestRunRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("epochs: 3\ntargets:\n  - features: [x]\n    batch_size: -1\n"), 0o644)
	small := filepath.Join(t.TempDir(), "small.yaml") // windows of the model's input on an 8x8 image
	os.WriteFile(small, []byte("model: random:tiny\nresolution: 8\ntargets: [{features: [x]}]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "give one or more experiment files"},
		{[]string{"run", bad}, "bad.yaml:4:17"},
		{[]string{"run", "../../experiments/demo.yaml", "--model", "nope/nope/nope"}, "neither a folder"},
		{[]string{"check", bad}, "batch_size must be at least 1"},
		{[]string{"check", small}, "larger than the 8x8 image"},
		{[]string{"run", small, "--out", t.TempDir()}, "larger than the 8x8 image"},
		{[]string{"run", "--resume", t.TempDir()}, "not a run folder"},
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
		run([]string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "100000",
			"--resolution", "40", "--out", out, "--quiet"}, &stdout, &stderr)
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
