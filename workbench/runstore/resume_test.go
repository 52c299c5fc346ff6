package runstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// TestContinueNotesAMovedResolution finishes a 10-step run whose resolution grows from 32 to 48
// at 70% of the run, and continues its state in the same experiment of 10 steps (no note) and
// of 20 (step 10 is back at 32x32: a note, and the run's next step resizes to it).
func TestContinueNotesAMovedResolution(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	newRun := func(steps int) *workbench.Run {
		file, err := expfile.Parse("grows.yaml", []byte(fmt.Sprintf(
			"epochs: %d\nresolution: 32 if t < 0.7 else 48\ntargets:\n  - features: [a red circle]\n", steps)))
		if err != nil {
			t.Fatal(err)
		}
		run, err := workbench.NewRun(file.Experiment, m)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	first := newRun(10)
	if err := first.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	state := first.State()
	for steps, want := range map[int]string{10: "", 20: "the resolution at step 10 is 32x32, where the saved image is 48x48"} {
		run := newRun(steps)
		notes, err := (&Dir{Path: t.TempDir()}).Continue(run, state)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(notes, "\n"); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%d steps: notes %q, want %q", steps, got, want)
		}
		if w, h := run.NextSize(); steps == 20 && (w != 32 || h != 32) {
			t.Errorf("%d steps: the next step works at %dx%d, want 32x32", steps, w, h)
		}
	}
}
