package runstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clipwork/clipwork/workbench/store"
	"golang.org/x/sys/unix"
)

// LockFile is the file in a run folder that the process writing the run holds an exclusive
// lock on (flock), and into which it writes its pid. The system drops the lock when the process
// ends, however it ends, so a run whose lock is free has no writer.
const LockFile = ".lock"

// ErrRunBusy is returned by Lock when another process writes the run: store.ErrLeaseHeld, the
// same condition where the run is kept in a store.
var ErrRunBusy = store.ErrLeaseHeld

// Lock takes the run folder for this process until Close: a second writer, in this process or
// another, gets ErrRunBusy.
func (d *Dir) Lock() error {
	if d.lock != nil {
		return nil
	}
	f, err := openLock(d.Path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("%s: cannot open the run's lock: %w", d.Path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%s: %w (%s); wait for it to end or stop it first", d.Path, ErrRunBusy, lockHolder(d.Path, string(owner)))
		}
		return fmt.Errorf("%s: cannot lock the run: %w", d.Path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	d.lock = f
	lockedHere.Store(lockKey(d.Path), true)
	return nil
}

// lockedHere holds the runs this process has locked, by lockKey, for lockHolder: a pid alone
// does not tell this process from another container's of the same number.
var lockedHere sync.Map

// lockKey is a run folder's path as lockedHere keys it.
func lockKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// lockHolder names the process that holds the lock of the run at path, whose pid its lock file
// holds: this one (another run of the same program, a notebook's say), another, or one that has
// not written its pid yet.
func lockHolder(path, owner string) string {
	if _, here := lockedHere.Load(lockKey(path)); here {
		return "this process, in another run of it"
	}
	if pid := strings.TrimSpace(owner); pid != "" {
		return "pid " + pid
	}
	return "a process that has just taken it"
}

// LockWaiting is Lock, waiting up to wait while another process holds the lock.
func (d *Dir) LockWaiting(wait time.Duration) error {
	const poll = 50 * time.Millisecond // flock waits without a deadline, or not at all
	for ; ; wait -= poll {
		err := d.Lock()
		if err == nil || !errors.Is(err, ErrRunBusy) || wait <= 0 {
			return err
		}
		time.Sleep(poll)
	}
}

// openLock opens the run folder's lock file without following a link and without waiting on
// a pipe, and refuses anything but a plain file: a run folder from elsewhere could hold a .lock
// linking to a file that writing the pid would destroy, or a FIFO that would block forever.
func openLock(dir string, flag int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), flag|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o644)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a link, not a lock file: remove it", LockFile)
	}
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a plain file: remove it", LockFile)
	}
	return f, nil
}

// Close releases the lock Lock took (a no-op without one).
func (d *Dir) Close() error {
	if d.lock == nil {
		return nil
	}
	lockedHere.Delete(lockKey(d.Path))
	err := d.lock.Close() // Closing the descriptor releases the flock.
	d.lock = nil
	return err
}

// Live says whether a process (this one or another) writes the run now.
func (d *Dir) Live() bool {
	if d.lock != nil {
		return true
	}
	f, err := openLock(d.Path, os.O_RDONLY)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// DisplayStatus is the run's status for people: stats.json's, except that a run recorded as
// running whose writer is gone (killed, or its machine restarted) is "stopped (resumable from
// step N)". A copy of a run in a store tells its writer by the lease (store.LeaseHolder): a live
// one is "running (pid P on HOST)". A folder with neither a lock file nor a lease was written
// elsewhere, so whether its writer lives cannot be told: a running run there is "running? (step
// N when saved)".
func (d *Dir) DisplayStatus(s *Summary) string {
	if s.Status != StatusRunning || d.Live() {
		return s.Status
	}
	holder, live, leased := store.LeaseHolder(d.Path)
	_, err := os.Stat(filepath.Join(d.Path, LockFile))
	switch {
	case live:
		return fmt.Sprintf("running (%s)", holder)
	case !leased && errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("running? (step %d when saved)", s.StepsDone)
	}
	return fmt.Sprintf("stopped (resumable from step %d)", s.StepsDone)
}
