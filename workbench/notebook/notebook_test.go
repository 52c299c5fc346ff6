package notebook

import (
	"image"
	"image/png"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/sweep"
	"github.com/clipwork/clipwork/workbench/sweepview"
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
	runs, err := ComparePrompts("model: random:tiny\nepochs: 1\nresolution: 40\ntargets:\n  - features: [x]\n", "a", "b")
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

// TestSweepReadsASweepFolder shows a sweep folder of two variants, one run and one not yet
// started, headless, and checks its table's HTML.
func TestSweepReadsASweepFolder(t *testing.T) {
	dir := t.TempDir()
	axes := []sweep.Axis{{Key: "targets.0.features.0", Values: []string{"<b>x</b>", "y"}}}
	variants, _ := sweep.Expand(axes, false)
	if err := (&sweep.Manifest{Files: []string{"cell.yaml"}, Axes: axes, Variants: variants}).Write(dir); err != nil {
		t.Fatal(err)
	}
	Results = dir
	file, err := expfile.Parse("cell.yaml", []byte("model: random:tiny\nepochs: 2\nresolution: 40\ntargets:\n  - features: [x]\n"),
		variants[0].Settings(axes)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunFile(file, variants[0].Folder, false); err != nil {
		t.Fatal(err)
	}
	if err := Sweep(dir, "similarity", "loss"); err != nil {
		t.Error(err)
	}
	view, err := sweepview.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile(` (style|align|cellpadding)="[^"]*"`).ReplaceAllString(sweepTable(view), "")
	for _, want := range []string{"<th>targets.0.features.0</th>", "<td>&lt;b&gt;x&lt;/b&gt;</td><td>finished</td><td>2/2</td>",
		"<td>y</td><td>pending</td>"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %s:\n%s", want, table)
		}
	}
	if images := sweepImages(view); strings.Count(images, "<img") != 1 || !strings.Contains(images, "targets.0.features.0=&lt;b&gt;") {
		t.Errorf("images: %.300s", images)
	}
	if err := ExportCharts(dir, t.TempDir()); err == nil || !strings.Contains(err.Error(), dir+" is a sweep folder, not a run") {
		t.Errorf("export of a sweep folder's charts: %v", err)
	}
	if err := Sweep(dir, "speed"); err == nil {
		t.Error("an unknown metric was accepted")
	}
	if err := Sweep(dir, "similarity:nosuch"); err == nil || !strings.Contains(err.Error(), "no variant has") {
		t.Errorf("a metric of a target that no run has: %v", err)
	}
	if cs, err := sweepCharts(view, []string{"similarity", "similarity:nosuch", "loss"}); len(cs) != 2 || err == nil ||
		!strings.HasPrefix(err.Error(), "similarity:nosuch: ") {
		t.Errorf("a metric that no run has among good ones: %d charts, %v; want the 2 good ones and its error", len(cs), err)
	}
	if err := CompareFolders("file://" + filepath.ToSlash(dir)); err == nil || !strings.Contains(err.Error(), "is a sweep folder") {
		t.Errorf("CompareFolders of a sweep folder: %v", err)
	}
	if err := Sweep("file://"+filepath.ToSlash(dir), "similarity"); err != nil {
		t.Errorf("the sweep through a file:// store: %v", err)
	}
	if err := Sweep(t.TempDir()); !os.IsNotExist(err) {
		t.Errorf("a folder without a sweep: %v", err)
	}
	os.WriteFile(filepath.Join(dir, sweep.ManifestFile), []byte("{bad"), 0o644)
	url := "file://" + filepath.ToSlash(dir)
	if err := Sweep(url); err == nil || !strings.Contains(err.Error(), url+"/sweep.json: invalid") {
		t.Errorf("a damaged sweep.json in a store: %v", err)
	}
}

// TestWinRateBarsOfConstraintsAlone names a target of constraints alone as such, without a table.
func TestWinRateBarsOfConstraintsAlone(t *testing.T) {
	stats := &workbench.Stats{Targets: []*workbench.TargetStats{{Name: "frame", Select: "all", Windows: 6}}}
	if got := winRateBars(stats); got != "<p><b>frame</b> (constraints only, 6 windows)</p>" {
		t.Errorf("bars %q", got)
	}
}

// TestInterruptSavesAndResumeFinishes interrupts a notebook run as Jupyter does (SIGINT to the
// program) once its folder exists: the run stops cleanly with its image and state saved and
// says how to continue; Resume then finishes it with the image an uninterrupted run makes.
func TestInterruptSavesAndResumeFinishes(t *testing.T) {
	Results = t.TempDir()
	guard := make(chan os.Signal, 1) // a SIGINT after the run's own handler is gone must not end the test
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	const text = "model: random:tiny\nepochs: 1500\nresolution: 40\ntargets:\n  - features: [x]\n"
	go func() {
		for {
			if entries, _ := os.ReadDir(Results); len(entries) > 0 {
				time.Sleep(50 * time.Millisecond)
				_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	run, err := RunYAML(text, "name=cut")
	if err == nil || !strings.Contains(err.Error(), "notebook.Resume(") || run == nil || run.Step() >= 1500 {
		t.Fatalf("interrupted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run.Dir, "image.png")); err != nil {
		t.Errorf("the interrupted run left no image: %v", err)
	}
	resumed, err := Resume(run.Dir, 0)
	if err != nil || resumed.Step() != 1500 {
		t.Fatalf("resumed: %v", err)
	}
	whole, err := RunYAML(text, "name=whole")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decodePNG(t, filepath.Join(run.Dir, "image.png")), decodePNG(t, filepath.Join(whole.Dir, "image.png"))) {
		t.Error("the resumed run's image differs from the uninterrupted run's")
	}
}

// decodePNG is the picture of a PNG file (its text chunks, which name the run, left aside).
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestUnwritableFolderStopsTheRun puts a file where a run's folder was once it has saved: the
// run stops at its next save, not at its end, and says how to continue.
func TestUnwritableFolderStopsTheRun(t *testing.T) {
	Results = t.TempDir()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if matches, _ := filepath.Glob(filepath.Join(Results, "*", "stats.json")); len(matches) > 0 {
				dir := filepath.Dir(matches[0])
				for { // the run may make the folder again between the two
					_ = os.RemoveAll(dir)
					if os.WriteFile(dir, nil, 0o644) == nil {
						return
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	run, err := RunYAML("model: random:tiny\nepochs: 3000\nsnapshot_interval: 1\nresolution: 40\ntargets:\n  - features: [x]\n")
	if err == nil || !strings.Contains(err.Error(), "could not be written") || !strings.Contains(err.Error(), "notebook.Resume(") ||
		run == nil || run.Step() >= 3000 {
		t.Fatalf("a run whose folder went: %v", err)
	}
}

// TestRunYAMLRefusesASweep runs a file with a sweep: block, which is many runs, not one.
func TestRunYAMLRefusesASweep(t *testing.T) {
	Results = t.TempDir()
	_, err := RunYAML("model: random:tiny\nepochs: 1\nresolution: 40\nsweep:\n  vary:\n    seed: 1..2\ntargets:\n  - features: [x]\n")
	if err == nil || !strings.Contains(err.Error(), "clipwork sweep") {
		t.Errorf("a file with a sweep: %v", err)
	}
}

// TestResultsBesideTheNotebooks: runs of this checkout's notebooks go to its results folder,
// those of a notebook elsewhere beside it, and $CLIPWORK_RESULTS wins.
func TestResultsBesideTheNotebooks(t *testing.T) {
	t.Setenv("CLIPWORK_RESULTS", "")
	root := t.TempDir()
	for dir, want := range map[string]string{"notebooks": filepath.Join("..", "results"), "mine": "results"} {
		os.Mkdir(filepath.Join(root, dir), 0o755)
		t.Chdir(filepath.Join(root, dir))
		if got := defaultResults(); got != want {
			t.Errorf("in %s: %s, want %s", dir, got, want)
		}
	}
	t.Setenv("CLIPWORK_RESULTS", "/somewhere")
	if got := defaultResults(); got != "/somewhere" {
		t.Errorf("with $CLIPWORK_RESULTS: %s", got)
	}
}
