package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench/report"
)

func TestCompareAndExport(t *testing.T) {
	out := t.TempDir()
	base := []string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "3",
		"--resolution", "40", "--out", out, "--quiet"}
	runCLI(t, base...)
	runCLI(t, append(base, "--seed", "9")...)
	a, b := filepath.Join(out, "demo"), filepath.Join(out, "demo-1")
	reportFile := filepath.Join(out, "report.html")
	table := runCLI(t, "compare", a, b, "--html", reportFile)
	if !strings.Contains(table, "settings that differ") || !strings.Contains(table, "seed     1     9") ||
		!strings.Contains(table, "details: applied in every window") {
		t.Errorf("compare output:\n%s", table)
	}
	page, err := os.ReadFile(reportFile)
	for _, want := range []string{"data:image/png;base64,", "echarts.init", "data:image/svg+xml;base64,",
		"setting that differs", "<td>seed</td>", "<th align=\"left\">windows/s</th>", "<td>3/3</td>"} {
		if err != nil || !strings.Contains(string(page), want) {
			t.Errorf("the report lacks %s (%v)", want, err)
		}
	}
	charts := filepath.Join(out, "charts")
	runCLI(t, "export", "charts", a, "--out", charts)
	for _, name := range []string{"demo-similarity-mean-details.html", "demo-similarity-details.svg",
		"demo-similarity-mean-composition.svg", "demo-loss.svg", "demo-winrates.csv", "demo-history.csv"} {
		if _, err := os.Stat(filepath.Join(charts, name)); err != nil {
			t.Errorf("missing %s", name)
		}
	}
	if report.FindChromium() != "" {
		if _, err := os.Stat(filepath.Join(charts, "demo-similarity-mean-details.png")); err != nil {
			t.Errorf("Chromium is installed but no PNG was written: %v", err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(charts, "demo-winrates.csv"))
	if !strings.Contains(string(csv), "composition,all,12,a large red circle in the centre on a blue sky,false,12,,") {
		t.Errorf("win-rate CSV:\n%s", csv)
	}
	runCLI(t, "export", "charts", a, b)
	for _, run := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(run, "charts", filepath.Base(run)+"-loss.svg")); err != nil {
			t.Errorf("without --out, %s's charts are not beside it: %v", run, err)
		}
	}
	image, _ := os.ReadFile(filepath.Join(a, "image.png"))
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", a, b, "--html", filepath.Join(a, "image.png")}, "is a run folder"},
		{[]string{"compare", a, b, "--html", filepath.Join(a, "report.html")}, "is a run folder"},
		{[]string{"compare", a, b, "--html", filepath.Join(out, "report.html")}, ""},
		{[]string{"compare", a, b, "--html", filepath.Join(out, "demo", "config.yaml")}, "is a run folder"},
		{[]string{"compare", a, b, "--html", filepath.Join(out, "notes.txt")}, "is no .html page"},
		{[]string{"export", "charts", a, a, "--out", filepath.Join(out, "both")}, "are both named demo"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if tc.want == "" && code != 0 || tc.want != "" && (code == 0 || !strings.Contains(stderr.String(), tc.want)) {
			t.Errorf("%v: exit %d, %s", tc.args, code, stderr.String())
		}
	}
	if after, _ := os.ReadFile(filepath.Join(a, "image.png")); !bytes.Equal(after, image) {
		t.Error("a refused report replaced the run's image")
	}
}
