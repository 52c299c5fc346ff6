package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench/expfile"
)

// clipigDocs is CLIPig's documentation, the specification beside the repository.
const clipigDocs = "../../../shared/clipig/docs"

// yamlExamples are the YAML examples of CLIPig's reference and expressions documentation, with
// blockquote markers taken off.
func yamlExamples(t *testing.T) []string {
	t.Helper()
	var examples []string
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	quote := regexp.MustCompile(`(?m)^\s*> ?`)
	for _, name := range []string{"reference.md", "expressions.md"} {
		data, err := os.ReadFile(filepath.Join(clipigDocs, name))
		if err != nil {
			t.Fatalf("CLIPig's documentation, the specification, is missing: %v", err)
		}
		for _, m := range block.FindAllStringSubmatch(quote.ReplaceAllString(string(data), ""), -1) {
			examples = append(examples, m[1])
		}
	}
	return examples
}

// TestCLIPigDocExamplesCheckAndRun passes every YAML example of CLIPig's documentation through
// clipwork check, then completes each with a target (the examples set top-level keys only) and
// runs it two steps on the tiny random model: check and run accept the same files.
func TestCLIPigDocExamplesCheckAndRun(t *testing.T) {
	if _, err := os.Stat(clipigDocs); err != nil {
		t.Skipf("CLIPig's documentation is not beside this checkout (%v)", err)
	}
	examples := yamlExamples(t)
	if len(examples) < 6 {
		t.Fatalf("found %d YAML examples, want at least 6", len(examples))
	}
	dir, out := t.TempDir(), t.TempDir()
	target := filepath.Join(dir, "target.yaml")
	os.WriteFile(target, []byte("targets:\n  - batch_size: 1\n    features: [a red circle]\n"), 0o644)
	for i, example := range examples {
		path := filepath.Join(dir, "example.yaml")
		os.WriteFile(path, []byte(strings.TrimSpace(dedent(example))+"\n"), 0o644)
		if _, err := expfile.Load([]string{path}); err != nil {
			t.Errorf("example %d:\n%s\nread: %v", i, example, err)
			continue
		}
		runCLI(t, "check", path, target)
		runCLI(t, "run", path, target, "--model", "random:tiny", "--steps", "2", "--out", out, "--quiet")
	}
}

// TestCLIPigStyleExperimentRuns runs experiments/clipig-style.yaml, written in CLIPig's own
// style, two steps on the tiny random model at a small resolution.
func TestCLIPigStyleExperimentRuns(t *testing.T) {
	runCLI(t, "check", "../../experiments/clipig-style.yaml")
	runCLI(t, "run", "../../experiments/clipig-style.yaml", "--model", "random:tiny", "--steps", "2",
		"--resolution", "96 72", "--out", t.TempDir(), "--quiet")
}

// dedent removes the indentation common to an example's lines (examples in lists are indented).
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); common < 0 || n < common {
			common = n
		}
	}
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			lines[i] = l[common:]
		}
	}
	return strings.Join(lines, "\n")
}

// TestOutputPlacesTheRun runs files whose CLIPig output names a folder (the run is named as
// always, here for its first text) or an image file name (which names the run: picture.png,
// a JPEG, or a name without extension, which CLIPig writes as name.png).
func TestOutputPlacesTheRun(t *testing.T) {
	dir := t.TempDir()
	for _, c := range [][2]string{{dir + "/folder/", "folder/x"}, {dir + "/named/picture.png", "named/picture"},
		{dir + "/jpeg/photo.jpg", "jpeg/photo"}, {dir + "/bare/name", "bare/name"}, {dir + "/bare/my.run.v2", "bare/my.run.v2"},
		{dir + "/folder", "folder/x-1"}} { // a folder that exists holds runs (the first case ran one)
		output, want := c[0], c[1]
		path := filepath.Join(dir, "exp.yaml")
		os.WriteFile(path, []byte("output: "+output+"\nresolution: 32\ntargets: [{batch_size: 1, features: [x], "+
			"transforms: [{resize: 32}]}]\n"), 0o644)
		runCLI(t, "run", path, "--model", "random:tiny", "--steps", "1", "--quiet")
		if _, err := os.Stat(filepath.Join(dir, want, "image.png")); err != nil {
			t.Errorf("output %s: %v", output, err)
		}
	}
}
