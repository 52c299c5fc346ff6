package runstore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

// TestChangedInputsTellsEditedImages records two feature images, edits one and removes the
// other from the experiment: both are reported, an unchanged run reports none, and a run that
// recorded nothing (made before inputs.json) reports nothing.
func TestChangedInputsTellsEditedImages(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	os.WriteFile(a, []byte("a"), 0o644)
	os.WriteFile(b, []byte("b"), 0o644)
	exp := workbench.Experiment{Targets: []workbench.Target{{Features: []workbench.Feature{{Image: a}, {Image: b}, {Text: "x"}}}}}
	d, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := d.ChangedInputs(exp); err != nil || changed != nil {
		t.Errorf("before any record: %v, %v", changed, err)
	}
	if err := d.WriteInputs(exp); err != nil {
		t.Fatal(err)
	}
	if changed, err := d.ChangedInputs(exp); err != nil || len(changed) != 0 {
		t.Errorf("unchanged: %v, %v", changed, err)
	}
	os.WriteFile(a, []byte("a, edited"), 0o644)
	exp.Targets[0].Features = exp.Targets[0].Features[:1]
	if changed, err := d.ChangedInputs(exp); err != nil || !slices.Equal(changed, []string{a, b}) {
		t.Errorf("after editing a and dropping b: %v, %v", changed, err)
	}
}
