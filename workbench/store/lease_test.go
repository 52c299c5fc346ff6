package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clipwork/clipwork/internal/s3test"
)

// fileMirror is a mirror of a new file:// store, closed when t ends.
func fileMirror(t *testing.T, root string) *Mirror {
	t.Helper()
	s, err := OpenToWrite(context.Background(), "file://"+filepath.ToSlash(root))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMirror(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// writeLease writes a lease object for folder run as another process would, written age ago.
func writeLease(t *testing.T, root string, record leaseRecord, age time.Duration) {
	t.Helper()
	data, _ := json.Marshal(record)
	path := filepath.Join(root, "run", LeaseFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-age)
	os.Chtimes(path, then, then)
}

// TestLeaseKeepsASecondWriterOut checks that a run folder held by one process is refused to
// another, in a file:// store and in S3, with who holds it; that the lease object is gone once
// released, so that the next writer takes it; and that fetches leave it out.
func TestLeaseKeepsASecondWriterOut(t *testing.T) {
	root := t.TempDir()
	first, second := fileMirror(t, root), fileMirror(t, root)
	checkLeaseKeepsOut(t, first, second)
	if _, err := os.Stat(filepath.Join(root, "run", LeaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the released lease is still there: %v", err)
	}

	s3test.Start(t)
	var mirrors [2]*Mirror
	for i := range mirrors {
		s, err := OpenToWrite(context.Background(), s3test.URL("leases"))
		if err != nil {
			t.Fatal(err)
		}
		if mirrors[i], err = NewMirror(s); err != nil {
			t.Fatal(err)
		}
		defer mirrors[i].Close()
	}
	checkLeaseKeepsOut(t, mirrors[0], mirrors[1])
}

func checkLeaseKeepsOut(t *testing.T, first, second *Mirror) {
	t.Helper()
	ctx := context.Background()
	if _, err := first.Hold(ctx, filepath.Join(first.Local, "run"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Hold(ctx, filepath.Join(first.Local, "run"), 0); err != nil {
		t.Errorf("the holder could not hold its folder again: %v", err)
	}
	host, _ := os.Hostname()
	_, err := second.Hold(ctx, filepath.Join(second.Local, "run"), 0)
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "/run") {
		t.Errorf("a second writer got %v, want ErrLeaseHeld naming the folder and host %s", err, host)
	}
	if err := second.Pull(ctx, "run"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(second.Local, "run", LeaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pulling the folder pulled its lease: %v", err)
	}
	copied, remove, err := LocalCopy(ctx, second.Store.Location()+"/run")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if holder, live, ok := LeaseHolder(copied); !ok || !live || !strings.Contains(holder, host) {
		t.Errorf("a local copy tells the lease %q, live %v, ok %v; want live, held on %s", holder, live, ok, host)
	}
	first.Release(filepath.Join(first.Local, "run"))
	if _, err := second.Hold(ctx, filepath.Join(second.Local, "run"), 0); err != nil {
		t.Fatalf("the folder could not be taken once released: %v", err)
	}
	second.Release(filepath.Join(second.Local, "run"))
}

// TestLeaseWaitsForItsHolder checks that Hold with a wait takes the folder once its holder
// releases it.
func TestLeaseWaitsForItsHolder(t *testing.T) {
	root := t.TempDir()
	first, second := fileMirror(t, root), fileMirror(t, root)
	if _, err := first.Hold(context.Background(), filepath.Join(first.Local, "run"), 0); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(1500*time.Millisecond, func() { first.Close() }) // Close releases the lease too
	start := time.Now()
	if _, err := second.Hold(context.Background(), filepath.Join(second.Local, "run"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("took the folder after %v, before its holder released it", took)
	}
}

// TestLeaseOfADeadProcess checks which leases are taken over: one not renewed for LeaseStale,
// and one of a process of this machine that has ended, but not a fresh one of another machine.
func TestLeaseOfADeadProcess(t *testing.T) {
	host, _ := os.Hostname()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		record leaseRecord
		age    time.Duration
		taken  bool
	}{
		{"fresh, another machine", leaseRecord{Host: "elsewhere", PID: 1, Token: "x"}, 0, false},
		{"stale, another machine", leaseRecord{Host: "elsewhere", PID: 1, Token: "x"}, LeaseStale + time.Minute, true},
		{"ended process of this machine", leaseRecord{Host: host, PID: ended.Process.Pid, Token: "x"}, 0, true},
		{"this process's pid, an earlier life", leaseRecord{Host: host, PID: os.Getpid(), Token: "x"}, 0, true},
		{"fresh, no host named", leaseRecord{}, 0, false},
	} {
		root := t.TempDir()
		writeLease(t, root, c.record, c.age)
		m := fileMirror(t, root)
		_, err := m.Hold(context.Background(), filepath.Join(m.Local, "run"), 0)
		if taken := err == nil; taken != c.taken {
			t.Errorf("%s: taken %v (%v), want %v", c.name, taken, err, c.taken)
		}
	}
}

// TestLostLeaseStopsUploads checks that a holder whose lease another process took over hears
// so and uploads nothing more into the folder.
func TestLostLeaseStopsUploads(t *testing.T) {
	defer func(r time.Duration) { leaseRenewal = r }(leaseRenewal)
	leaseRenewal = 50 * time.Millisecond
	root := t.TempDir()
	m := fileMirror(t, root)
	lost, err := m.Hold(context.Background(), filepath.Join(m.Local, "run"), 0)
	if err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(m.Local, "run", "image.png")
	os.MkdirAll(filepath.Dir(image), 0o755)
	os.WriteFile(image, []byte("png"), 0o644)
	if err := m.Saved(image); err != nil {
		t.Fatal(err)
	}
	writeLease(t, root, leaseRecord{Host: "elsewhere", PID: 7, Token: "other"}, 0)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not hear that it lost the lease")
	}
	if err := m.Saved(image); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("an upload after the lease was lost: %v, want ErrLeaseLost", err)
	}
	m.Release(filepath.Join(m.Local, "run"))
	if data, _ := os.ReadFile(filepath.Join(root, "run", LeaseFile)); !strings.Contains(string(data), `"other"`) {
		t.Errorf("releasing a lost lease changed the new holder's: %s", data)
	}
}

// TestLeaseOutlivesForget checks that forgetting a held folder keeps its lease, and that a
// lease object gone missing is written again rather than taken as lost.
func TestLeaseOutlivesForget(t *testing.T) {
	defer func(r time.Duration) { leaseRenewal = r }(leaseRenewal)
	leaseRenewal = 50 * time.Millisecond
	root := t.TempDir()
	m := fileMirror(t, root)
	folder := filepath.Join(m.Local, "run")
	lost, err := m.Hold(context.Background(), folder, 0)
	if err != nil {
		t.Fatal(err)
	}
	lease := filepath.Join(root, "run", LeaseFile)
	if err := m.Forget(context.Background(), folder); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lease); err != nil {
		t.Errorf("forgetting the folder removed its lease: %v", err)
	}
	os.Remove(lease)
	time.Sleep(10 * leaseRenewal)
	if _, err := os.Stat(lease); err != nil || isClosed(lost) {
		t.Errorf("a missing lease was not written again (%v), or taken as lost (%v)", err, isClosed(lost))
	}
}

// TestOneOfManyTakersHoldsTheLease starts eight writers of one run folder at once, on a fresh
// folder and on one whose lease has gone stale: exactly one holds it each time.
func TestOneOfManyTakersHoldsTheLease(t *testing.T) {
	defer func(s time.Duration) { leaseSettle = s }(leaseSettle)
	leaseSettle = 200 * time.Millisecond
	for _, stale := range []bool{false, true} {
		for range 5 {
			root := t.TempDir()
			if stale {
				writeLease(t, root, leaseRecord{Host: "elsewhere", PID: 1, Token: "old"}, LeaseStale+time.Minute)
			}
			var won atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				m := fileMirror(t, root)
				wg.Go(func() {
					if _, err := m.Hold(context.Background(), filepath.Join(m.Local, "run"), 0); err == nil {
						won.Add(1)
					} else if !errors.Is(err, ErrLeaseHeld) {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("stale %v: %d writers hold the lease, want 1", stale, won.Load())
			}
		}
	}
}

// TestUnreadableLeases: a .lease that is a folder is refused with what to do, not waited on for
// ever; one of garbage names no holder it cannot know.
func TestUnreadableLeases(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run", LeaseFile), 0o755)
	m := fileMirror(t, root)
	done := make(chan error)
	go func() {
		_, err := m.Hold(context.Background(), filepath.Join(m.Local, "run"), 0)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "exists but is no lease (a folder?): remove it") {
			t.Errorf("a folder as the lease: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Hold hangs on a folder as the lease")
	}
	root = t.TempDir()
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	os.WriteFile(filepath.Join(root, "run", LeaseFile), []byte("garbage"), 0o644)
	m = fileMirror(t, root)
	if _, err := m.Hold(context.Background(), filepath.Join(m.Local, "run"), 0); err == nil ||
		!strings.Contains(err.Error(), "an unknown process (its lease cannot be read)") {
		t.Errorf("a garbage lease: %v", err)
	}
}
