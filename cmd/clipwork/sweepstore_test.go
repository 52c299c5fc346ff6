package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/internal/s3test"
	"github.com/clipwork/clipwork/workbench/store"
)

// TestSimulatedIndexedJobOnS3 runs the simulated Indexed Job (see simulateIndexedJob) into a
// SeaweedFS bucket: the killed task resumes from the state in the store, every variant finishes
// there with the image it has when run alone, and clipwork runs shows the sweep from the store.
func TestSimulatedIndexedJobOnS3(t *testing.T) {
	const steps = 60
	s3test.Start(t)
	t.Setenv("TMPDIR", t.TempDir()) // the tasks' working folders, a killed one's too
	ctx := context.Background()
	out := s3test.URL("job")
	bucket, err := store.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	simulateIndexedJob(t, out, steps, func(key string) ([]byte, error) { return bucket.Get(ctx, key) })
	dir, remove, err := store.LocalCopy(ctx, out+"/demo-sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	checkSameAsAlone(t, filepath.Dir(dir), steps, 0, 1, 2, 3)
	table := strings.Split(strings.TrimSpace(runCLI(t, "runs", out+"/demo-sweep")), "\n")
	if len(table) != 5 || strings.Count(strings.Join(table, "\n"), " finished ") != 4 {
		t.Errorf("runs of the sweep in the store:\n%s", strings.Join(table, "\n"))
	}
	if listing := runCLI(t, "runs", out); !strings.Contains(listing, "(clipwork runs "+out+"/demo-sweep)") {
		t.Errorf("runs of the store does not name the sweep by its URL:\n%s", listing)
	}
}

// TestSweepIntoFileStore runs one variant into a file:// store: it lands there as a plain run
// folder, a second task finds it finished in the store, and clipwork runs reads the store.
func TestSweepIntoFileStore(t *testing.T) {
	root := t.TempDir()
	out := "file://" + filepath.ToSlash(root) + "/sweeps"
	runCLI(t, append(demoSweep(out, 2), "--index", "0")...)
	if _, err := os.Stat(filepath.Join(root, "sweeps", "demo-sweep", demoFolders[0], "image.png")); err != nil {
		t.Fatal(err)
	}
	if again := runCLI(t, append(demoSweep(out, 2), "--index", "0")...); !strings.Contains(again, "finished, skipped") {
		t.Errorf("the second task ran the finished variant again:\n%s", again)
	}
	table := runCLI(t, "runs", out+"/demo-sweep")
	if strings.Count(table, " finished ") != 1 || strings.Count(table, " pending") != 3 {
		t.Errorf("runs of the file:// sweep:\n%s", table)
	}
}
