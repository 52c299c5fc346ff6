package sweepview

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/sweep"
)

// writeSweep writes a sweep of seed=1..2 into a folder whose first variant has finished and
// whose second has not started.
func writeSweep(t *testing.T) string {
	t.Helper()
	dir, variants := newSweep(t)
	writeFinished(t, dir, variants[0].Folder, "t")
	return dir
}

// newSweep writes the manifest of a sweep of seed=1..2, no variant started, into a new folder.
func newSweep(t *testing.T) (string, []sweep.Variant) {
	t.Helper()
	dir := t.TempDir()
	axes := []sweep.Axis{{Key: "seed", Values: []string{"1", "2"}}}
	variants, _ := sweep.Expand(axes, false)
	if err := (&sweep.Manifest{Files: []string{"demo.yaml"}, Axes: axes, Variants: variants}).Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir, variants
}

// writeFinished writes a finished run into dir/folder whose targets, named names, have one
// feature each.
func writeFinished(t *testing.T, dir, folder string, names ...string) {
	t.Helper()
	run, err := runstore.Create(dir, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	os.WriteFile(filepath.Join(run.Path, runstore.ConfigFile), []byte("epochs: 2\n"), 0o644)
	var targets []*workbench.TargetStats
	for _, name := range names {
		targets = append(targets, &workbench.TargetStats{Name: name, Select: "all", Windows: 4,
			Features: []*workbench.FeatureStats{{Label: "a red circle", SimilarityLast: 0.25, SimilarityMean: 0.125}}})
	}
	err = run.WriteSummary(&runstore.Summary{Status: runstore.StatusFinished, Steps: 2, StepsDone: 2,
		Targets: targets, History: []workbench.StepRecord{{Step: 1, Loss: 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckMetricNamesEveryTarget checks a metric that no variant has: the error names the
// targets of every variant, once each, and variants without targets are no pass.
func TestCheckMetricNamesEveryTarget(t *testing.T) {
	for _, tc := range []struct {
		names [][]string
		want  string
	}{
		{[][]string{{"t", "u"}, {"u"}}, "the targets are t, u"},
		{[][]string{{"t"}, {}}, "the targets are t"},
		{[][]string{{}, {}}, "the targets are none"},
	} {
		dir, variants := newSweep(t)
		for i, names := range tc.names {
			writeFinished(t, dir, variants[i].Folder, names...)
		}
		view, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := view.CheckMetric(charts.Metric{Kind: "similarity", Target: "nosuch"}); err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("targets %v: %v, want %q", tc.names, err, tc.want)
		}
	}
}

func TestReadFinishedAndPendingVariants(t *testing.T) {
	view, err := Read(writeSweep(t))
	if err != nil {
		t.Fatal(err)
	}
	header, rows := view.Table()
	wantHeader := []string{"#", "seed", "status", "steps", "t: a red circle"}
	wantRows := [][]string{{"0", "1", "finished", "2/2", "final sim 0.250 (mean 0.125)"}, {"1", "2", "pending", ""}}
	if !reflect.DeepEqual(header, wantHeader) || !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("table %v %v, want %v %v", header, rows, wantHeader, wantRows)
	}
	c, err := view.Chart("seed", charts.Metric{Kind: "loss"})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := c.Option()
	if !strings.Contains(string(o), `"data":[{"value":0.5},{"value":"-"}]`) || !strings.Contains(string(o), "1 of 2 finished") {
		t.Errorf("chart option %s", o)
	}
	if _, err := view.Chart("learnrate", charts.Metric{Kind: "loss"}); err == nil || !strings.Contains(err.Error(), `varies seed, not "learnrate"`) {
		t.Errorf("a chart over a key the sweep does not vary: %v", err)
	}
	if err := view.CheckMetric(charts.Metric{Kind: "similarity", Target: "t"}); err != nil {
		t.Errorf("a metric the runs have: %v", err)
	}
	for _, m := range []charts.Metric{{Kind: "similarity", Target: "nosuch"}, {Kind: "winrate", Target: "t", Feature: "blue"}} {
		if err := view.CheckMetric(m); err == nil || !strings.Contains(err.Error(), "the targets are t") {
			t.Errorf("%+v, which no run has: %v", m, err)
		}
	}
	if cs := view.Charts(charts.Metric{Kind: "similarity"}); len(cs) != 1 {
		t.Errorf("%d charts of one varied key", len(cs))
	}
	if _, err := Read(t.TempDir()); !os.IsNotExist(err) {
		t.Errorf("a folder without a sweep: %v", err)
	}
}

// TestCellBeforeTheFirstStep: a variant that has started but made no step has no similarity yet.
func TestCellBeforeTheFirstStep(t *testing.T) {
	if got := (featureColumn{target: "t", label: "x"}).cell(&runstore.Summary{Steps: 5}); got != "-" {
		t.Errorf("cell of a run at step 0: %q", got)
	}
}
