package runstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// OpenToResume opens the run folder path to go on with it, as clipwork run --resume and the
// notebooks' Resume do: locked for this process (Close releases it), its experiment from its
// config.yaml (with steps, when above 0, as the run's new length) and its saved state.
func OpenToResume(path string, steps int) (*Dir, *expfile.File, *workbench.State, error) {
	dir, err := Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := dir.Lock(); err != nil {
		return nil, nil, nil, err
	}
	var settings []string
	if steps > 0 {
		settings = append(settings, fmt.Sprintf("epochs=%d", steps))
	}
	file, err := expfile.Load([]string{filepath.Join(dir.Path, ConfigFile)}, settings...)
	if err != nil && writtenUnreadable(dir) {
		err = fmt.Errorf("%s was run from Go with a value that a file cannot express (see the comment at the top of its %s), "+
			"so it cannot be resumed from the folder: %w", dir.Path, ConfigFile, err)
	}
	if err == nil {
		var state *workbench.State
		if state, err = dir.ReadState(); err == nil && steps > 0 && steps < state.Step {
			err = fmt.Errorf("%s has already done %d steps, more than %d", dir.Path, state.Step, steps)
		}
		if err == nil {
			return dir, file, state, nil
		}
	}
	dir.Close()
	return nil, nil, nil, err
}

// Continue restores a saved state into run, refusing one from another run, and records or
// checks the run's inputs: a new run (state nil) records its feature images' digests; a resumed
// one returns a note for each that changed since it started (it follows them as they are now),
// and one where its new number of steps moves the resolution away from the saved image's.
func (d *Dir) Continue(run *workbench.Run, state *workbench.State) (notes []string, err error) {
	if state == nil {
		return nil, d.WriteInputs(run.Experiment())
	}
	if err := run.Restore(state); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	if w, h := run.NextSize(); w != state.Width || h != state.Height {
		notes = append(notes, fmt.Sprintf("note: with %d steps, the resolution at step %d is %dx%d, where the saved image is %dx%d: "+
			"the run resizes it there, and its optimiser starts afresh, as at any change of resolution",
			run.Experiment().Steps, state.Step, w, h, state.Width, state.Height))
	}
	changed, err := d.ChangedInputs(run.Experiment())
	for _, path := range changed {
		notes = append(notes, fmt.Sprintf("note: the feature image %s changed since the run started; "+
			"the resumed run follows it as it is now", path))
	}
	return notes, err
}

// writtenUnreadable tells whether the run's config.yaml says it cannot be read back (see
// unreadableHeader).
func writtenUnreadable(dir *Dir) bool {
	config, _ := os.ReadFile(filepath.Join(dir.Path, ConfigFile))
	return bytes.HasPrefix(config, []byte(unreadableMark))
}
