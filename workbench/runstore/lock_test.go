package runstore

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipwork/clipwork/workbench/store"
	"golang.org/x/sys/unix"
)

// TestLockAllowsOneWriter locks a new run (Create does), refuses a second writer naming the
// owner (this process), and frees the run on Close; another process's pid is named, and a
// holder that has not written its pid yet is said to have just taken the lock.
func TestLockAllowsOneWriter(t *testing.T) {
	d, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	other := &Dir{Path: d.Path}
	err = other.Lock()
	if !errors.Is(err, ErrRunBusy) || !strings.Contains(err.Error(), "this process") {
		t.Fatalf("second writer: %v, want ErrRunBusy naming this process", err)
	}
	if got := lockHolder("elsewhere", "12\n") + "; " + lockHolder("elsewhere", ""); got != "pid 12; a process that has just taken it" {
		t.Errorf("holders named %q", got)
	}
	running := &Summary{Status: StatusRunning, StepsDone: 7}
	if !other.Live() || other.DisplayStatus(running) != StatusRunning {
		t.Errorf("a locked run reads as %q (live %v)", other.DisplayStatus(running), other.Live())
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if other.Live() {
		t.Error("the run is live after its writer closed it")
	}
	if got := other.DisplayStatus(running); got != "stopped (resumable from step 7)" {
		t.Errorf("an abandoned running run reads as %q", got)
	}
	if err := other.Lock(); err != nil {
		t.Errorf("after Close another writer cannot lock: %v", err)
	}
	other.Close()
	os.Remove(filepath.Join(d.Path, LockFile))
	if got := other.DisplayStatus(running); got != "running? (step 7 when saved)" {
		t.Errorf("a running run written elsewhere reads as %q", got)
	}
	lease := filepath.Join(d.Path, store.LeaseFile)
	os.WriteFile(lease, []byte(`{"host": "node-3", "pid": 12}`), 0o644)
	if got := other.DisplayStatus(running); got != "running (pid 12 on node-3)" {
		t.Errorf("a copy of a run in a store with a live lease reads as %q", got)
	}
	then := time.Now().Add(-store.LeaseStale - time.Minute)
	os.Chtimes(lease, then, then)
	if got := other.DisplayStatus(running); got != "stopped (resumable from step 7)" {
		t.Errorf("a copy of a run in a store with a stale lease reads as %q", got)
	}
}

// holdLockEnv names the run folder the test binary, started as a child, locks and then holds
// until killed.
const holdLockEnv = "CLIPWORK_TEST_HOLD_LOCK"

// TestKilledWriterLeavesRunStopped starts a process that locks a run, kills it with SIGKILL (no
// chance to clean up) and checks that the run reads as stopped and can be taken again.
func TestKilledWriterLeavesRunStopped(t *testing.T) {
	if dir := os.Getenv(holdLockEnv); dir != "" {
		holdLock(dir)
		return
	}
	d, err := Create(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	child := exec.Command(os.Args[0], "-test.run", "^TestKilledWriterLeavesRunStopped$")
	child.Env = append(os.Environ(), holdLockEnv+"="+d.Path)
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "locked" {
		t.Fatalf("the child did not lock the run: %q %v", buf, err)
	}
	if !d.Live() {
		t.Error("the run is not live while another process holds it")
	}
	child.Process.Kill()
	child.Wait()
	if d.Live() {
		t.Error("the run is live after its writer was killed")
	}
	if err := d.Lock(); err != nil {
		t.Errorf("cannot take the run after its writer was killed: %v", err)
	}
	d.Close()
}

func holdLock(path string) {
	d := &Dir{Path: path}
	if err := d.Lock(); err != nil {
		os.Exit(3)
	}
	os.Stdout.WriteString("locked")
	time.Sleep(time.Minute)
	os.Exit(4)
}

// TestLockRefusesLinksAndPipes: a .lock that links elsewhere is refused and its target left
// untouched; a FIFO .lock is refused at once, by Lock and by Live, rather than blocking.
func TestLockRefusesLinksAndPipes(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim.txt")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	linked := t.TempDir()
	if err := os.Symlink(victim, filepath.Join(linked, LockFile)); err != nil {
		t.Fatal(err)
	}
	d := &Dir{Path: linked}
	if err := d.Lock(); err == nil || !strings.Contains(err.Error(), "is a link") {
		t.Errorf("a linked lock: %v", err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious" {
		t.Errorf("the link's target now holds %q", data)
	}
	piped := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(piped, LockFile), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		p := &Dir{Path: piped}
		p.Live()
		done <- p.Lock()
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a plain file") {
			t.Errorf("a FIFO lock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a FIFO lock blocked")
	}
}

// TestLockWaitingWaits: while another holder has a folder's lock, LockWaiting waits for it
// (a sweep does, rather than reading sweep.json beside a writer), then takes it.
func TestLockWaitingWaits(t *testing.T) {
	dir := t.TempDir()
	holder := &Dir{Path: dir}
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		time.Sleep(200 * time.Millisecond)
		holder.Close()
	}()
	waiter := &Dir{Path: dir}
	if err := waiter.LockWaiting(time.Minute); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("LockWaiting: %v after %v, want the lock once the holder let go", err, time.Since(start))
	}
	waiter.Close()
}
