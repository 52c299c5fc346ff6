package runstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// defaultSaveEvery and minSaveGap bound how often a run's state is written: a state holds the
// image and the optimiser's moments (tens of megabytes for a large image).
const (
	defaultSaveEvery = 10 * time.Second
	minSaveGap       = 2 * time.Second
)

// Recorder is the observer that keeps a run's folder up to date: snapshots when due, the
// statistics and resumable state every SaveEvery, and the final image, statistics and state
// when the run ends or stops (interrupted or failed).
type Recorder struct {
	Dir *Dir
	// Config is the resolved config.yaml, also stored in the image's PNG text chunks.
	Config []byte
	// Model names the run's model, or its ensemble's models joined by " + ".
	Model string
	// SnapshotEvery is in steps, SnapshotSeconds in seconds (0: off).
	SnapshotEvery   int
	SnapshotSeconds float64
	// SaveEvery is how often the statistics and state are saved during the run (default 10 s);
	// they are saved with each snapshot too, at most every minSaveGap.
	SaveEvery time.Duration
	// OnWriteError, when set, hears the first failed write (a full disk, a folder gone), so that
	// the run can stop there rather than compute results it cannot keep.
	OnWriteError func(error)

	started, lastSnapshot, lastSave time.Time
	errs                            []error
}

// NewRecorder makes the recorder of a run of file's experiment into dir, with the fully
// resolved config (every default, the models' names: one, or one per model of an ensemble)
// that config.yaml and image.png carry.
func NewRecorder(dir *Dir, file *expfile.File, run *workbench.Run, models ...string) (*Recorder, error) {
	resolved := *file
	resolved.Experiment = run.Experiment()
	if err := nameModels(&resolved.Experiment, models); err != nil {
		return nil, err
	}
	config, err := expfile.Marshal(&resolved)
	if err != nil {
		return nil, err
	}
	if _, err := expfile.Parse(ConfigFile, config); err != nil {
		config = append(unreadableHeader(err), config...)
	}
	return &Recorder{Dir: dir, Config: config, Model: strings.Join(models, " + "),
		SnapshotEvery: file.SnapshotEvery, SnapshotSeconds: file.SnapshotSeconds}, nil
}

// unreadableMark starts the comment of a config.yaml that cannot be read back.
const unreadableMark = "# This config cannot be read back"

// unreadableHeader is the comment that config.yaml starts with where a Go experiment's values
// (workbench.Func, whose description is written as its expression) cannot be read back as a
// file: why, and how to make such runs resumable.
func unreadableHeader(err error) []byte {
	lines := []string{unreadableMark + ": a value set from Go is a function whose description is no expression a",
		"# file can hold, so the run can be continued from Go (Run.Restore) but not with --resume. Describe",
		"# such values by the expression they compute (workbench.Func(\"0.5 * (1 - t)\", ...)) to make runs resumable."}
	for _, l := range strings.Split(err.Error(), "\n") {
		lines = append(lines, "# "+l)
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// nameModels sets the names of exp's model or ensemble to the models'.
func nameModels(exp *workbench.Experiment, models []string) error {
	if len(models) != len(exp.Models()) {
		return fmt.Errorf("the run has %d models, and %d names were given", len(exp.Models()), len(models))
	}
	if len(exp.Ensemble) == 0 {
		exp.Model = models[0]
		return nil
	}
	for i := range exp.Ensemble { // a copy of the run's (Run.Experiment)
		exp.Ensemble[i].Name = models[i]
	}
	return nil
}

// Observe implements workbench.Observer.
func (r *Recorder) Observe(e workbench.Event) {
	now := time.Now()
	switch e.Kind {
	case workbench.EventStart:
		r.started, r.lastSnapshot, r.lastSave = now, now, now
		if s, err := r.Dir.ReadSummary(); err == nil && e.Run.Step() > 0 && !s.Started.IsZero() {
			r.started = s.Started // a resumed run started when it first did
		}
		r.check(r.Dir.WriteFile(ConfigFile, r.Config))
		r.check(r.saveProgress(e.Run, StatusRunning, nil))
	case workbench.EventStep:
		step := e.Run.Step()
		snapshot := (r.SnapshotEvery > 0 && step%r.SnapshotEvery == 0) ||
			(r.SnapshotSeconds > 0 && now.Sub(r.lastSnapshot).Seconds() >= r.SnapshotSeconds)
		if snapshot {
			r.lastSnapshot = now
			r.check(r.writeImage(e.Run, filepath.Join(SnapshotsDir, fmt.Sprintf("step-%06d.png", step))))
		}
		every := r.SaveEvery
		if every == 0 {
			every = defaultSaveEvery
		}
		// with a snapshot too, so that a run killed outright resumes from about its newest one
		if since := now.Sub(r.lastSave); since >= every || snapshot && since >= minSaveGap {
			r.lastSave = now
			r.check(r.saveProgress(e.Run, StatusRunning, nil))
		}
	case workbench.EventEnd:
		r.check(r.finish(e.Run, StatusFinished, nil))
	case workbench.EventStop:
		status := StatusFailed
		if errors.Is(e.Err, context.Canceled) {
			status = StatusInterrupted
		}
		r.check(r.finish(e.Run, status, e.Err))
	}
}

// Err reports the first problem writing the folder, if any.
func (r *Recorder) Err() error { return errors.Join(r.errs...) }

func (r *Recorder) check(err error) {
	if err == nil {
		return
	}
	if len(r.errs) == 0 && r.OnWriteError != nil {
		r.OnWriteError(err)
	}
	r.errs = append(r.errs, err)
}

// finish writes the final image, statistics and state. A run whose image could not be written
// is recorded as failed, with the reason: never "finished" without its image.
func (r *Recorder) finish(run *workbench.Run, status string, cause error) error {
	if err := r.writeImage(run, ImageFile); err != nil {
		return errors.Join(err, r.saveProgress(run, StatusFailed, errors.Join(cause, err)))
	}
	return r.saveProgress(run, status, cause)
}

func (r *Recorder) saveProgress(run *workbench.Run, status string, cause error) error {
	return errors.Join(r.Dir.WriteSummary(r.summary(run, status, cause)), r.Dir.WriteState(run.State()))
}

func (r *Recorder) writeImage(run *workbench.Run, name string) error {
	img, err := run.Image()
	if err != nil {
		return err
	}
	return r.Dir.WriteImage(name, img, map[string]string{
		"Software": "clipwork", "clipwork:config": string(r.Config), "clipwork:seed": fmt.Sprint(run.Seed()),
		"clipwork:step": fmt.Sprint(run.Step()),
	})
}

func (r *Recorder) summary(run *workbench.Run, status string, cause error) *Summary {
	s := &Summary{Run: filepath.Base(r.Dir.Path), Status: status, Model: r.Model, Seed: run.Seed(), Steps: run.Steps(),
		StepsDone: run.Step(), Seconds: run.Elapsed().Seconds(), WindowsPerSecond: run.WindowsPerSecond(),
		Started: r.started, Models: run.Stats().Models, Targets: run.Stats().Targets, History: run.Stats().History}
	if cause != nil {
		s.Error = cause.Error()
	}
	return s
}
