// Package notebooks holds clipwork's GoNB notebooks; its test executes them all.
package notebooks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotebooksExecute runs every notebook headless with Jupyter's nbconvert and the GoNB kernel
// built from go.mod's pinned tools, and checks each produced images and charts and no errors.
// It needs jupyter-nbconvert (Debian: jupyter-nbconvert python3-nbclient jupyter-client); without
// it the test skips, unless CLIPWORK_NOTEBOOK_TESTS=1 (CI) makes that a failure.
func TestNotebooksExecute(t *testing.T) {
	if testing.Short() {
		t.Skip("notebooks take minutes; run without -short")
	}
	if _, err := exec.LookPath("jupyter"); err != nil {
		msg := "jupyter is not installed: apt-get install jupyter-nbconvert python3-nbclient jupyter-client"
		if os.Getenv("CLIPWORK_NOTEBOOK_TESTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"JUPYTER_DATA_DIR="+filepath.Join(tmp, "jupyter"), "GOEXPERIMENT=simd", "GOTOOLCHAIN=go1.27.3",
		"CLIPWORK_RESULTS="+filepath.Join(tmp, "results"))
	command(t, "..", env, "go", "build", "-o", bin+"/", "github.com/janpfeifer/gonb", "golang.org/x/tools/cmd/goimports")
	command(t, ".", env, filepath.Join(bin, "gonb"), "--install", "--force_deps")
	notebooks, _ := filepath.Glob("*.ipynb")
	if len(notebooks) == 0 {
		t.Fatal("no notebooks")
	}
	for _, nb := range notebooks {
		t.Run(nb, func(t *testing.T) {
			out := filepath.Join(tmp, "executed")
			command(t, ".", env, "jupyter", "nbconvert", "--to", "notebook", "--execute",
				"--ExecutePreprocessor.kernel_name=gonb", "--ExecutePreprocessor.timeout=900", "--output-dir", out, nb)
			checkOutputs(t, filepath.Join(out, nb))
		})
	}
}

func command(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// checkOutputs fails on error outputs and wants at least one image and one chart.
func checkOutputs(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			Outputs []struct {
				Type  string         `json:"output_type"`
				Name  string         `json:"ename"`
				Value string         `json:"evalue"`
				Data  map[string]any `json:"data"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatal(err)
	}
	images, charts := 0, 0
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if o.Type == "error" {
				t.Errorf("error output: %s: %s", o.Name, o.Value)
			}
			html := htmlOf(o.Data["text/html"])
			if strings.Contains(html, "data:image/png") {
				images++
			}
			if strings.Contains(html, "echarts.init") {
				charts++
			}
		}
	}
	if images == 0 || charts == 0 {
		t.Errorf("%d image outputs and %d chart outputs; want both", images, charts)
	}
}

func htmlOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, s := range v {
			b.WriteString(s.(string))
		}
		return b.String()
	}
	return ""
}
