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
	t.Cleanup(func() { keep(t, filepath.Join(tmp, "executed")) })
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

// keep copies the executed notebooks to $CLIPWORK_NOTEBOOK_OUT, when set, for a look.
func keep(t *testing.T, dir string) {
	out := os.Getenv("CLIPWORK_NOTEBOOK_OUT")
	if out == "" {
		return
	}
	if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
		t.Logf("keeping the executed notebooks: %v", err)
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

// output is one cell output of an executed notebook.
type output struct {
	Type  string         `json:"output_type"`
	Name  string         `json:"ename"`
	Value string         `json:"evalue"`
	Data  map[string]any `json:"data"`
}

// checkOutputs reads an executed notebook as an untrusted reader (GitHub, nbviewer, a Jupyter
// that runs no scripts) would: no errors, at least one image and one chart, every chart with a
// static image beside its script, and no copy of ECharts stored.
func checkOutputs(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			Outputs []output `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatal(err)
	}
	images, charts, imageBytes := 0, 0, 0
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
				if o.Data["image/svg+xml"] == nil && o.Data["image/png"] == nil {
					t.Errorf("a chart output has no image/svg+xml or image/png alternative")
				}
				if !strings.Contains(html, "<img") {
					t.Errorf("a chart's HTML has no static image for readers that run no scripts")
				}
			}
			if strings.Contains(html, "(function(define, module, exports)") {
				t.Errorf("an output stores ECharts itself (%d bytes)", len(html))
			}
			imageBytes += imagePayload(o, html)
		}
	}
	if images == 0 || charts == 0 {
		t.Errorf("%d image outputs and %d chart outputs; want both", images, charts)
	}
	if rest := len(data) - imageBytes; filepath.Base(path) == "quickstart.ipynb" && rest > 300<<10 {
		t.Errorf("the executed quick start is %d KB besides its %d KB of images; want under 300 KB", rest>>10, imageBytes>>10)
	}
}

// imagePayload is the bytes of an output's images: its image/* data and the data: URLs in its
// HTML. JSON escapes in SVG text make the stored size slightly larger; it is an estimate.
func imagePayload(o output, html string) int {
	n := 0
	for mime, v := range o.Data {
		if strings.HasPrefix(mime, "image/") {
			n += len(htmlOf(v))
		}
	}
	for rest := html; ; {
		i := strings.Index(rest, "data:image/")
		if i < 0 {
			return n
		}
		end := strings.IndexAny(rest[i:], `"' )`)
		if end < 0 {
			end = len(rest) - i
		}
		n += end
		rest = rest[i+end:]
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

// TestNotebooksHaveCellIDs: nbformat 4.5 with a unique id on every cell (else Jupyter adds ids
// and marks the notebook modified on open), and a short first code cell.
func TestNotebooksHaveCellIDs(t *testing.T) {
	notebooks, _ := filepath.Glob("*.ipynb")
	for _, path := range notebooks {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Major int `json:"nbformat"`
			Minor int `json:"nbformat_minor"`
			Cells []struct {
				ID     string `json:"id"`
				Type   string `json:"cell_type"`
				Source any    `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(data, &nb); err != nil {
			t.Fatal(err)
		}
		if nb.Major != 4 || nb.Minor < 5 {
			t.Errorf("%s: nbformat %d.%d, want 4.5", path, nb.Major, nb.Minor)
		}
		seen, firstCode := map[string]bool{}, true
		for i, c := range nb.Cells {
			if c.ID == "" || seen[c.ID] {
				t.Errorf("%s: cell %d has a missing or repeated id %q", path, i, c.ID)
			}
			seen[c.ID] = true
			if c.Type == "code" && firstCode {
				firstCode = false
				if src := htmlOf(c.Source); strings.Count(src, "\n") > 3 || len(src) > 200 {
					t.Errorf("%s: the first code cell is long:\n%s", path, src)
				}
			}
		}
	}
}
