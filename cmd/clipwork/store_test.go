package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/internal/s3test"
	"github.com/clipwork/clipwork/workbench/store"
)

// TestSimulatedIndexedJobOnS3 runs the Kubernetes Job of a sweep into a SeaweedFS bucket (see
// simulateCluster): the killed task resumes from the state in the store, every variant finishes
// there with the image it has when run alone, and clipwork runs shows the sweep from the store.
func TestSimulatedIndexedJobOnS3(t *testing.T) {
	const steps = 60
	out, read := s3Store(t, "job")
	simulateCluster(t, jobTasks(t, append(demoSweep(out, steps), "--env-secret", "clipwork-s3")...), read)
	checkSweepInStore(t, out, steps)
}

// TestSimulatedSlurmArrayOnS3 runs the sbatch script of a sweep, one bash per array index,
// into a SeaweedFS bucket, with a task killed and requeued, as TestSimulatedIndexedJobOnS3.
func TestSimulatedSlurmArrayOnS3(t *testing.T) {
	const steps = 60
	out, read := s3Store(t, "slurm")
	simulateCluster(t, slurmTasks(t, demoSweep(out, steps)...), read)
	checkSweepInStore(t, out, steps)
}

// checkSweepInStore checks the demo sweep in the store at out: every variant's image is the one
// it has when run alone, and clipwork runs shows the sweep and names it by its URL.
func checkSweepInStore(t *testing.T, out string, steps int) {
	t.Helper()
	dir, remove, err := store.LocalCopy(context.Background(), out+"/demo-sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	checkSameAsAlone(t, filepath.Dir(dir), steps, 0, 1, 2, 3)
	table := strings.Split(strings.TrimSpace(runCLI(t, "runs", out+"/demo-sweep")), "\n")
	if len(table) != 7 || strings.Count(strings.Join(table, "\n"), " finished ") != 4 { // a header, 4 variants, 2 headers given whole
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

// checkRunInStore runs the demo twice into the store at out, the second run taking the name
// demo-1, resumes the first from the store with more steps, and compares the two from there.
// read reads a file of the store by its key.
func checkRunInStore(t *testing.T, out string, read func(key string) ([]byte, error)) {
	t.Helper()
	args := []string{"run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "2",
		"--resolution", "40", "--out", out, "--quiet"}
	if first := runCLI(t, args...); !strings.Contains(first, "run "+out+"/demo: ") {
		t.Errorf("the run does not name its folder in the store:\n%s", first)
	}
	runCLI(t, args...)
	if _, err := read("demo-1/image.png"); err != nil {
		t.Errorf("the second run: %v", err)
	}
	runCLI(t, "run", "--resume", out+"/demo", "--steps", "3", "--quiet")
	var stats struct {
		StepsDone int `json:"steps_done"`
	}
	data, _ := read("demo/stats.json")
	if json.Unmarshal(data, &stats); stats.StepsDone != 3 {
		t.Errorf("after resuming from the store: %s", data)
	}
	if table := runCLI(t, "compare", out+"/demo", out+"/demo-1"); !strings.Contains(table, "3/3") || !strings.Contains(table, "demo-1") {
		t.Errorf("compare of runs in the store:\n%s", table)
	}
	for _, run := range []string{"demo", "demo-1"} {
		if _, err := read(run + "/" + store.LeaseFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s's lease outlived the runs: %v", run, err)
		}
	}
}

// TestResumeOfARunAnotherProcessWrites checks that --resume refuses a run in a store whose
// lease another live process holds, naming it, and touches nothing there.
func TestResumeOfARunAnotherProcessWrites(t *testing.T) {
	root := t.TempDir()
	out := "file://" + filepath.ToSlash(root)
	runCLI(t, "run", "../../experiments/demo.yaml", "--model", "random:tiny", "--steps", "2", "--resolution", "40",
		"--out", out, "--quiet")
	lease := filepath.Join(root, "demo", store.LeaseFile)
	if err := os.WriteFile(lease, []byte(`{"host": "elsewhere", "pid": 42, "token": "t"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(root, "demo", "stats.json"))
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--resume", out + "/demo", "--steps", "4", "--quiet"}, &stdout, &stderr)
	if msg := stderr.String(); code == 0 || !strings.Contains(msg, "another clipwork process is writing this run") ||
		!strings.Contains(msg, "pid 42 on elsewhere") || !strings.Contains(msg, out+"/demo") {
		t.Errorf("--resume of a run another process writes: exit %d\n%s%s", code, stdout.String(), msg)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "demo", "stats.json")); !bytes.Equal(before, after) {
		t.Error("the refused resume changed the run's stats.json")
	}
	if data, _ := os.ReadFile(lease); !strings.Contains(string(data), "elsewhere") {
		t.Errorf("the refused resume changed the other process's lease: %s", data)
	}
}

// TestRunIntoFileStore runs, resumes and compares runs in a file:// store.
func TestRunIntoFileStore(t *testing.T) {
	root := t.TempDir()
	checkRunInStore(t, "file://"+filepath.ToSlash(root), func(key string) ([]byte, error) {
		return os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
	})
}

// TestRunIntoS3 runs, resumes and compares runs in a SeaweedFS bucket.
func TestRunIntoS3(t *testing.T) {
	out, read := s3Store(t, "runs")
	checkRunInStore(t, out, read)
}

// s3Store starts SeaweedFS and returns the URL of prefix in its bucket and a reader of the
// objects there by key. Temporary folders (the working folders of runs in the store, a killed
// process's too) are the test's.
func s3Store(t *testing.T, prefix string) (string, func(key string) ([]byte, error)) {
	s3test.Start(t)
	t.Setenv("TMPDIR", t.TempDir())
	ctx := context.Background()
	out := s3test.URL(prefix)
	bucket, err := store.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	return out, func(key string) ([]byte, error) { return bucket.Get(ctx, key) }
}

// TestNewRunTakesOnlyAFreeFolder: a new run's folder in a store is free only where no process
// holds its lease and nothing is stored in it (a run of that name written since the store was
// listed), so the run moves on to the next name rather than writing into another run.
func TestNewRunTakesOnlyAFreeFolder(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "written"), 0o755)
	os.WriteFile(filepath.Join(root, "written", "config.yaml"), []byte("epochs: 1\n"), 0o644)
	mirror, err := openMirror(context.Background(), "file://"+filepath.ToSlash(root))
	if err != nil {
		t.Fatal(err)
	}
	defer mirror.Close()
	f := runFlags{out: mirror.Local, mirror: mirror}
	for name, want := range map[string]bool{"written": false, "empty": true} {
		free, err := f.takeFreeFolder(context.Background(), filepath.Join(mirror.Local, name))
		if err != nil || free != want {
			t.Errorf("%s: free %v (%v), want %v", name, free, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "written", store.LeaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lease of a folder found taken was kept: %v", err)
	}
	dir, err := f.newRunFolder(context.Background(), "written")
	if err != nil || filepath.Base(dir.Path) != "written-1" {
		t.Errorf("a new run named as a written folder: %v (%v), want written-1", dir, err)
	}
}
