package runstore

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

func TestCreateNeverOverwrites(t *testing.T) {
	root := t.TempDir()
	var paths []string
	for range 3 {
		d, err := Create(root, "demo")
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(d.Path))
	}
	if paths[0] != "demo" || paths[1] != "demo-1" || paths[2] != "demo-2" {
		t.Errorf("run folders %v", paths)
	}
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, nil, 0o644)
	if _, err := Create(blocked, "demo"); err == nil {
		t.Error("created a run under a file")
	}
}

// TestImageCarriesTextChunks writes a run's texts into its PNG: Latin-1 ones as tEXt, others
// as iTXt, so that every character survives.
func TestImageCarriesTextChunks(t *testing.T) {
	d, err := Create(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	texts := map[string]string{"clipwork:seed": "42", "clipwork:config": "epochs: 3\n", "clipwork:prompt": "café — 猫 🐱"}
	if err := d.WriteImage("image.png", img, texts); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(d.Path, "image.png"))
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("the PNG with text chunks does not decode: %v", err)
	}
	if !bytes.Contains(data, []byte("tEXtclipwork:seed\x0042")) || !bytes.Contains(data, []byte("epochs: 3")) {
		t.Error("text chunks missing")
	}
	if !bytes.Contains(data, []byte("iTXtclipwork:prompt\x00\x00\x00\x00\x00café — 猫 🐱")) {
		t.Error("a text beyond Latin-1 is not kept whole in an iTXt chunk")
	}
}

func TestStateRoundTrip(t *testing.T) {
	d, err := Create(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	s := &workbench.State{Step: 3, Width: 2, Height: 1, Params: []float32{1, 2, 3, 4, 5, 6},
		Moments: map[string][]float32{"m": make([]float32, 6), "v": {0, 0, 0, 0, 0, 1}}, Updates: 2, Windows: 12,
		Stats: &workbench.Stats{Targets: []*workbench.TargetStats{{Name: "a", Windows: 12}}}}
	if err := d.WriteState(s); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadState()
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 3 || got.Width != 2 || got.Params[5] != 6 || got.Moments["v"][5] != 1 || len(got.Moments) != 2 || got.Updates != 2 || got.Windows != 12 || got.Stats.Targets[0].Name != "a" {
		t.Errorf("state came back as %+v", got)
	}
}

// TestLargeStatisticsRoundTrip saves a state whose statistics are larger than the header would
// hold as text (a run of many features and steps): they come back whole.
func TestLargeStatisticsRoundTrip(t *testing.T) {
	d, err := Create(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	stats := &workbench.Stats{Targets: []*workbench.TargetStats{{Name: "a"}}}
	for step := range 20000 {
		sims := make([]float64, 40)
		for j := range sims {
			sims[j] = float64(step*40+j) / 1e6
		}
		stats.History = append(stats.History, workbench.StepRecord{Step: step, Loss: float64(step), Similarities: map[string][]float64{"a": sims}})
	}
	s := &workbench.State{Step: 20000, Width: 1, Height: 1, Params: []float32{0, 0, 0}, Moments: map[string][]float32{}, Stats: stats}
	if err := d.WriteState(s); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadState()
	if err != nil {
		t.Fatal(err)
	}
	st, err := clipmodel.OpenSafetensors(filepath.Join(d.Path, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, packed := st.Metadata["stats_gzip"]; !packed {
		t.Error("statistics over 1 MB were not kept gzipped")
	}
	last := got.Stats.History[len(got.Stats.History)-1]
	if len(got.Stats.History) != 20000 || last.Similarities["a"][39] != float64(19999*40+39)/1e6 {
		t.Errorf("the history came back with %d steps", len(got.Stats.History))
	}
}

// recordTinyRun runs steps steps of a tiny random-model experiment with rec (and its stop on
// the first failed write) as the observer, and returns the run and what Run returned.
func recordTinyRun(t *testing.T, steps int, prepare func(*Dir)) (*workbench.Run, *Recorder, error) {
	t.Helper()
	run, rec, dir := tinyRecorder(t, steps)
	defer dir.Close()
	prepare(dir)
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	rec.OnWriteError = stop
	return run, rec, run.Run(ctx, rec)
}

// TestFailedImageWriteIsNoFinishedRun makes image.png unwritable (a folder of that name): the
// run is recorded as failed with the reason, never as finished.
func TestFailedImageWriteIsNoFinishedRun(t *testing.T) {
	_, rec, _ := recordTinyRun(t, 2, func(d *Dir) {
		os.MkdirAll(filepath.Join(d.Path, ImageFile, "taken"), 0o755)
	})
	s, err := rec.Dir.ReadSummary()
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusFailed || !strings.Contains(s.Error, ImageFile) {
		t.Errorf("status %q, error %q: want failed, naming %s", s.Status, s.Error, ImageFile)
	}
	if rec.Err() == nil {
		t.Error("the recorder reports no error")
	}
}

// TestRunStopsAtTheFirstFailedWrite makes stats.json unwritable from the start: the run stops
// before its first step instead of computing results it cannot keep.
func TestRunStopsAtTheFirstFailedWrite(t *testing.T) {
	run, rec, err := recordTinyRun(t, 50, func(d *Dir) {
		os.MkdirAll(filepath.Join(d.Path, StatsFile, "taken"), 0o755)
	})
	if err == nil || !strings.Contains(err.Error(), StatsFile) {
		t.Errorf("Run returned %v, want the failed write of %s", err, StatsFile)
	}
	if run.Step() != 0 {
		t.Errorf("the run went on for %d steps after its folder failed", run.Step())
	}
	if rec.Err() == nil {
		t.Error("the recorder reports no error")
	}
}

// FuzzReadState feeds ReadState arbitrary state files (seeded with a real one): errors, never a
// panic, and never a state with values that are not finite.
func FuzzReadState(f *testing.F) {
	seed := &Dir{Path: f.TempDir()}
	if err := seed.WriteState(&workbench.State{Step: 2, Width: 2, Height: 1, Params: make([]float32, 6),
		Moments: map[string][]float32{"m": make([]float32, 6), "v": make([]float32, 6)}, Stats: &workbench.Stats{}}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(seed.Path, StateFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	d := &Dir{Path: f.TempDir()}
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(filepath.Join(d.Path, StateFile), file, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := d.ReadState()
		if err != nil {
			return
		}
		for _, values := range slices.Concat([][]float32{s.Params}, slices.Collect(maps.Values(s.Moments))) {
			if slices.IndexFunc(values, isNotFinite) >= 0 {
				t.Error("a state with values that are not finite was read")
			}
		}
	})
}

// TestOnSaveHearsEveryCompleteFile checks that OnSave hears each file once it is written, and
// that its error fails the write.
func TestOnSaveHearsEveryCompleteFile(t *testing.T) {
	d := &Dir{Path: t.TempDir()}
	var heard []string
	d.OnSave = func(path string) error {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("OnSave heard %s before it was written", path)
		}
		heard = append(heard, filepath.Base(path))
		return nil
	}
	d.WriteFile(ConfigFile, []byte("x"))
	d.WriteState(&workbench.State{Width: 1, Height: 1, Params: make([]float32, 3)})
	d.WriteImage(ImageFile, image.NewGray(image.Rect(0, 0, 1, 1)), nil)
	if want := []string{ConfigFile, StateFile, ImageFile}; !slices.Equal(heard, want) {
		t.Errorf("OnSave heard %v, want %v", heard, want)
	}
	d.OnSave = func(string) error { return fmt.Errorf("the store is gone") }
	if err := d.WriteFile(StatsFile, []byte("{}")); err == nil || !strings.Contains(err.Error(), "the store is gone") {
		t.Errorf("a failed OnSave: %v", err)
	}
}

// tinyRecorder is a run of steps steps of a tiny random-model experiment and its recorder, in a
// new run folder.
func tinyRecorder(t *testing.T, steps int) (*workbench.Run, *Recorder, *Dir) {
	t.Helper()
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	file, err := expfile.Parse("x.yaml", []byte(fmt.Sprintf("epochs: %d\nresolution: 32\ntargets:\n  - features: [a red circle]\n", steps)))
	if err != nil {
		t.Fatal(err)
	}
	return recorderOf(t, file, m)
}

// recorderOf is a new run of file's experiment on m, and its recorder into a new run folder.
func recorderOf(t *testing.T, file *expfile.File, m *clipmodel.Model) (*workbench.Run, *Recorder, *Dir) {
	t.Helper()
	run, err := workbench.NewRun(file.Experiment, m)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(dir, file, run, m.Name)
	if err != nil {
		t.Fatal(err)
	}
	return run, rec, dir
}

// TestSnapshotsSaveTheState: a snapshot saves the state and statistics too (once the last save
// is minSaveGap old), so that a run killed outright resumes from about its newest snapshot; a
// step without one waits for SaveEvery.
func TestSnapshotsSaveTheState(t *testing.T) {
	for _, every := range []int{1, 0} {
		run, rec, dir := tinyRecorder(t, 3)
		rec.SnapshotEvery, rec.SnapshotSeconds, rec.SaveEvery = every, 0, time.Hour
		rec.Observe(workbench.Event{Kind: workbench.EventStart, Run: run})
		if _, err := run.Advance(); err != nil {
			t.Fatal(err)
		}
		rec.lastSave = time.Now().Add(-time.Minute)
		rec.Observe(workbench.Event{Kind: workbench.EventStep, Run: run})
		s, err := dir.ReadState()
		dir.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{1: 1, 0: 0}[every]; s.Step != want {
			t.Errorf("snapshot every %d steps: the saved state is at step %d, want %d", every, s.Step, want)
		}
	}
}

// TestGoFunctionsMakeAConfigThatSaysSo: a Go experiment whose learning rate is a function
// described by no expression writes a config.yaml that starts by saying it cannot be read back
// and why, and resuming the folder says it was run from Go; one described by its expression
// reads back.
func TestGoFunctionsMakeAConfigThatSaysSo(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	for description, readable := range map[string]bool{"halving at the middle": false, "2 - (t > 0.5)": true} {
		file, err := expfile.Parse("x.yaml", []byte("epochs: 2\nresolution: 32\ntargets:\n  - features: [a red circle]\n"))
		if err != nil {
			t.Fatal(err)
		}
		file.Experiment.Learnrate = workbench.Func(description, func(e workbench.Env) float64 { return 2 - float64(bool2int(e.T > 0.5)) })
		run, rec, dir := recorderOf(t, file, m)
		if err := run.Run(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		dir.Close()
		resumed, _, _, err := OpenToResume(dir.Path, 4)
		if resumed != nil {
			resumed.Close()
		}
		if marked := strings.HasPrefix(string(rec.Config), unreadableMark); marked == readable || (err == nil) != readable ||
			!readable && !strings.Contains(err.Error(), "was run from Go with a value that a file cannot express") {
			t.Errorf("learnrate described as %q: config marked %v, resume error %v", description, marked, err)
		}
	}
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}
