package notebook

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHeadless runs the notebook helpers outside a notebook: they display nothing, and the
// runs still land in Results.
func TestHeadless(t *testing.T) {
	Results = t.TempDir()
	run, err := RunYAML("model: random:tiny\nepochs: 2\nresolution: 40\ntargets:\n  - features: [x]\n", "seed=3")
	if err != nil {
		t.Fatal(err)
	}
	if run.Step() != 2 || run.Experiment().Seed != 3 {
		t.Errorf("step %d, seed %d", run.Step(), run.Experiment().Seed)
	}
	if _, err := os.Stat(filepath.Join(run.Dir, "image.png")); err != nil {
		t.Error(err)
	}
	runs, err := Sweep("model: random:tiny\nepochs: 1\nresolution: 40\ntargets:\n  - features: [x]\n", "a", "b")
	if err != nil || len(runs) != 2 || runs[1].Stats().Targets[0].Features[0].Text != "b" {
		t.Fatalf("sweep: %v", err)
	}
	if err := Compare(runs...); err != nil {
		t.Error(err)
	}
	if err := CompareFolders(runs[0].Dir, runs[1].Dir); err != nil {
		t.Error(err)
	}
	charts := filepath.Join(t.TempDir(), "charts")
	if err := ExportCharts(runs[0].Dir, charts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(charts, filepath.Base(runs[0].Dir)+"-winrates.csv")); err != nil {
		t.Error(err)
	}
}

// TestFoldersInStores compares and exports runs named by file:// store URLs, as s3:// ones are.
func TestFoldersInStores(t *testing.T) {
	Results = t.TempDir()
	run, err := RunYAML("model: random:tiny\nepochs: 1\nresolution: 40\ntargets:\n  - features: [x]\n")
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(run.Dir)
	if err := CompareFolders(url, url); err != nil {
		t.Error(err)
	}
	charts := t.TempDir()
	if err := ExportCharts(url, charts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(charts, filepath.Base(run.Dir)+"-winrates.csv")); err != nil {
		t.Error(err)
	}
	if err := CompareFolders("file://" + filepath.ToSlash(t.TempDir()) + "/none"); err == nil {
		t.Error("compared runs of an empty store")
	}
}
