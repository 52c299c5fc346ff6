package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hostileRun runs an experiment whose target and feature carry control characters and
// spreadsheet formulas, and returns the results folder and the run's folder.
func hostileRun(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "hostile.yaml")
	yaml := "name: hostile\nepochs: 2\nresolution: 32\ntargets:\n" +
		"  - name: \"evil\\e[31mred\\r\"\n    batch_size: 1\n" +
		"    features: [{text: \"=HYPERLINK(\\\"http://x\\\")\\a\"}, {text: \"+cmd|' /C calc'!A0\"}, {text: \"-1+1\"}, {text: \"@SUM(A1)\"}, {text: \"\\tTAB\"}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	runCLI(t, "run", file, "--model", "random:tiny", "--out", out, "--quiet")
	return out, filepath.Join(out, "hostile")
}

// controlBytes finds the bytes a terminal acts on (escape, bell, carriage return).
var controlBytes = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f]")

// TestTerminalOutputEscapesControlCharacters checks runs, compare and export charts: no control
// character of a target name or feature text reaches the terminal or a file name, and every
// file export charts reports exists.
func TestTerminalOutputEscapesControlCharacters(t *testing.T) {
	out, run := hostileRun(t)
	charts := filepath.Join(out, "charts")
	for _, args := range [][]string{{"runs", "--out", out}, {"compare", run, run}, {"export", "charts", run, "--out", charts}} {
		if text := runCLI(t, args...); controlBytes.MatchString(text) {
			t.Errorf("clipwork %v printed control characters: %q", args, text)
		} else if args[0] == "export" {
			for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
				written, ok := strings.CutPrefix(line, "wrote ")
				if !ok {
					continue
				}
				base := strings.Fields(written)[0]
				if _, err := os.Stat(base); err != nil {
					t.Errorf("export charts reported %q, which is not there", base)
				}
			}
		}
	}
	files, err := os.ReadDir(charts)
	if err != nil || len(files) == 0 {
		t.Fatalf("charts: %v", err)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	for _, f := range files {
		if !safe.MatchString(f.Name()) {
			t.Errorf("unsafe file name %q", f.Name())
		}
	}
}

// TestCSVCellsAreNoFormulas checks that export charts' CSVs quote cells a spreadsheet would run
// as formulas (=, +, -, @, tab, carriage return first), as OWASP recommends.
func TestCSVCellsAreNoFormulas(t *testing.T) {
	out, run := hostileRun(t)
	charts := filepath.Join(out, "charts")
	runCLI(t, "export", "charts", run, "--out", charts)
	for _, name := range []string{"hostile-winrates.csv", "hostile-history.csv"} {
		f, err := os.Open(filepath.Join(charts, name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		quoted := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q starts a formula", name, cell)
				}
				if _, err := strconv.ParseFloat(cell, 64); strings.HasPrefix(cell, "-") && err != nil {
					t.Errorf("%s: cell %q starts a formula", name, cell)
				}
				if strings.HasPrefix(cell, "'=HYPERLINK") {
					quoted++
				}
			}
		}
		if quoted == 0 {
			t.Errorf("%s: the feature text =HYPERLINK(...) is missing or not quoted", name)
		}
	}
}
