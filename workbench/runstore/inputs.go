package runstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/internal/atomicfile"
	"github.com/clipwork/clipwork/internal/digest"
	"github.com/clipwork/clipwork/workbench"
)

// InputsFile records a digest of each image file a run's features read, so that a resumed run
// can tell when one changed since the run started (it embeds them again when it resumes).
const InputsFile = "inputs.json"

// WriteInputs records the digests of exp's feature image files (addresses, downloaded into the
// cache, are left out), where it has any.
func (d *Dir) WriteInputs(exp workbench.Experiment) error {
	digests, err := imageDigests(exp)
	if err != nil || len(digests) == 0 { // nothing to record: a run of texts writes no file
		return err
	}
	data, err := json.MarshalIndent(digests, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(d.Path, InputsFile)
	if err := atomicfile.WriteFile(path, append(data, '\n')); err != nil {
		return err
	}
	return d.saved(path)
}

// ChangedInputs lists the feature image files of exp whose content differs from what
// WriteInputs recorded, or that are new or gone; nothing where the run recorded no inputs.
func (d *Dir) ChangedInputs(exp workbench.Experiment) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, InputsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recorded map[string]string
	if err := json.Unmarshal(data, &recorded); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.Path, InputsFile), err)
	}
	now, err := imageDigests(exp)
	if err != nil {
		return nil, err
	}
	var changed []string
	for path, sum := range now {
		if recorded[path] != sum {
			changed = append(changed, path)
		}
	}
	for path := range recorded {
		if _, ok := now[path]; !ok {
			changed = append(changed, path)
		}
	}
	slices.Sort(changed)
	return changed, nil
}

// imageDigests are the SHA-256 digests of the feature image files of exp's active targets (the
// ones the run reads) by path.
func imageDigests(exp workbench.Experiment) (map[string]string, error) {
	digests := map[string]string{}
	for t := range exp.EnabledTargets() {
		for _, f := range t.Features {
			if f.Image == "" || clipmodel.IsURL(f.Image) || digests[f.Image] != "" {
				continue
			}
			sum, err := digest.File(f.Image)
			if err != nil {
				return nil, err
			}
			digests[f.Image] = sum
		}
	}
	return digests, nil
}
