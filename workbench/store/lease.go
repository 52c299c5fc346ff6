package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// LeaseFile is the object in a run folder of a store that names the process writing the run:
// a store has no file locks, so a writer creates it only where none exists, renews it while the
// run goes and deletes it at the end. A mirror's downloads leave it out; a LocalCopy keeps it,
// with its time, to tell a live run from a dead one (LeaseHolder).
const LeaseFile = ".lease"

// IsLease says whether the object key is a lease or a lease being written.
func IsLease(key string) bool {
	name := path.Base(key)
	return name == LeaseFile || strings.HasPrefix(name, LeaseFile+".") && strings.HasSuffix(name, ".tmp")
}

// Lease timing: a writer renews its lease every leaseRenewal; one not renewed for LeaseStale
// belongs to a process that died (its machine lost, or killed), and another may take it over;
// a taker waits leaseSettle after writing to see whether another taker wrote after it.
// Variables for the tests.
var (
	leaseRenewal = 20 * time.Second
	LeaseStale   = 2 * time.Minute
	leaseSettle  = time.Second
)

// heldTokens are the tokens of the leases this process holds (through any mirror).
var heldTokens sync.Map

// ErrLeaseHeld is returned by Hold while another live process writes the folder.
var ErrLeaseHeld = errors.New("another clipwork process is writing this run")

// ErrLeaseLost fails the uploads of a run whose lease another process took over, or that this
// one could not renew for LeaseStale (frozen, or cut off from the store): two writers would
// mix their files.
var ErrLeaseLost = errors.New("this process lost the run's lease")

// leaseRecord is a lease object's content.
type leaseRecord struct {
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Token string    `json:"token"` // tells this holder from another process of the same host and pid
	Since time.Time `json:"since"`
}

// String names the holder for messages.
func (r leaseRecord) String() string {
	if r.Host == "" {
		return "an unknown process (its lease cannot be read)"
	}
	return fmt.Sprintf("pid %d on %s, since %s", r.PID, r.Host, r.Since.Format(time.RFC3339))
}

// lease is a lease this mirror holds.
type lease struct {
	key     string
	record  leaseRecord
	every   time.Duration // the renewal's interval
	renewed atomic.Int64  // when the object was last written, in Unix nanoseconds
	stop    chan struct{} // closed by release, to end the renewal
	ended   chan struct{} // closed by the renewal as it returns
	lost    chan struct{} // closed by the renewal when another process holds the object
}

// expired says whether l was lost, or not renewed for LeaseStale, so that another process
// may hold it now.
func (l *lease) expired() bool {
	// A renewal's interval short of LeaseStale: the store stamps a write when it starts, and
	// another process may judge the lease stale that much earlier than this one.
	return isClosed(l.lost) || time.Since(time.Unix(0, l.renewed.Load())) > LeaseStale-l.every
}

// Hold takes the lease of path, a run folder in Local, for this process until Release or
// Close: it fails with ErrLeaseHeld while another live process holds it, waiting up to wait for
// that one to end or its lease to go stale. lost is closed should another process take it over
// (this one failed to renew it in time), after which uploads under path fail with ErrLeaseLost.
// Holding a folder this mirror already holds does nothing.
func (m *Mirror) Hold(ctx context.Context, path string, wait time.Duration) (lost <-chan struct{}, err error) {
	key, err := m.key(path)
	if err != nil {
		return nil, err
	}
	key = leaseKey(key)
	m.mu.Lock()
	l, ok := m.leases[key]
	m.mu.Unlock()
	if ok {
		return l.lost, nil
	}
	record, err := newLeaseRecord()
	if err != nil {
		return nil, err
	}
	heldTokens.Store(record.Token, true) // before the object exists, so that diedHere never takes it for a dead one's
	started := time.Now()
	if err := m.Store.takeLease(ctx, key, record, time.Now().Add(wait)); err != nil {
		heldTokens.Delete(record.Token)
		return nil, err
	}
	l = &lease{key: key, record: record, every: leaseRenewal, stop: make(chan struct{}), ended: make(chan struct{}),
		lost: make(chan struct{})}
	l.renewed.Store(started.UnixNano()) // a takeover wrote it a settling pause before now
	m.mu.Lock()
	if m.leases == nil {
		m.leases = map[string]*lease{}
	}
	m.leases[key] = l
	m.mu.Unlock()
	go m.renew(l)
	return l.lost, nil
}

// Release ends the lease of path that Hold took (nothing where none is held), deleting its
// object unless another process took it over.
func (m *Mirror) Release(path string) {
	key, err := m.key(path)
	if err != nil {
		return
	}
	m.mu.Lock()
	l, ok := m.leases[leaseKey(key)]
	delete(m.leases, leaseKey(key))
	m.mu.Unlock()
	if ok {
		m.release(l)
	}
}

// releaseAll ends every lease the mirror holds.
func (m *Mirror) releaseAll() {
	m.mu.Lock()
	leases := slices.Collect(maps.Values(m.leases))
	clear(m.leases)
	m.mu.Unlock()
	for _, l := range leases {
		m.release(l)
	}
}

// leaseKey is the lease object of the run folder key.
func leaseKey(folder string) string { return path.Join(folder, LeaseFile) }

// newLeaseRecord names this process, with a token of its own.
func newLeaseRecord() (leaseRecord, error) {
	host, _ := os.Hostname()
	token := make([]byte, 8)
	if _, err := rand.Read(token); err != nil {
		return leaseRecord{}, err
	}
	return leaseRecord{Host: host, PID: os.Getpid(), Token: hex.EncodeToString(token), Since: time.Now().UTC()}, nil
}

// takeLease creates the lease object key where none exists, taking over a stale one, and
// retries until deadline while a live process holds it.
func (s *Store) takeLease(ctx context.Context, key string, record leaseRecord, deadline time.Time) error {
	data, err := json.Marshal(record)
	if err != nil {
		return err
	}
	folder := Join(s.location, path.Dir(key))
	for unreadable := 0; ; {
		created, err := s.createExclusive(ctx, key, data)
		if err != nil || created {
			return err
		}
		holder, age, err := s.readLease(ctx, key)
		switch {
		case err == nil && holder.Token == record.Token: // a create that reported failure but landed (NFS)
			return nil
		case errors.Is(err, os.ErrNotExist) && unreadable < 3: // released meanwhile, or no object
			unreadable++
			if err := pause(ctx, 100*time.Millisecond); err != nil {
				return err
			}
			continue
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%s: %s exists but is no lease (a folder?): remove it", folder, LeaseFile)
		case err != nil:
			return err
		case age > LeaseStale || holder.diedHere():
			if taken, err := s.takeOver(ctx, key, holder, record, data); err != nil || taken {
				return err
			}
			continue
		case time.Now().After(deadline):
			return fmt.Errorf("%s: %w (%s; its lease renewed %v ago); wait for it to end or stop it "+
				"(a lease not renewed for %v is taken over)", folder, ErrLeaseHeld, holder, age.Round(time.Second), LeaseStale)
		}
		unreadable = 0
		if err := pause(ctx, time.Second); err != nil {
			return err
		}
	}
}

// takeOver replaces the stale lease of holder by record's (data), unless another process did
// first: after writing it waits leaseSettle and takes the lease only if the object still
// holds record's token (two takers at once both write, and the later one wins).
func (s *Store) takeOver(ctx context.Context, key string, holder, record leaseRecord, data []byte) (bool, error) {
	if now, _, err := s.readLease(ctx, key); err != nil || now.Token != holder.Token {
		return false, nil // taken or released meanwhile: look again
	}
	if err := s.writeObject(ctx, key, data); err != nil {
		return false, fmt.Errorf("%s: cannot write the lease %s: %w", s.location, key, err)
	}
	if err := pause(ctx, leaseSettle); err != nil {
		return false, err
	}
	now, _, err := s.readLease(ctx, key)
	return err == nil && now.Token == record.Token, nil
}

// createExclusive writes data as the object key only where none exists, saying whether it did:
// S3's conditional write, and for a file:// store a hard link, which fails where the name is
// taken (gocloud's file store checks and then renames, which two processes can both pass).
func (s *Store) createExclusive(ctx context.Context, key string, data []byte) (bool, error) {
	if s.fileRoot == "" {
		err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{IfNotExist: true})
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: cannot write the lease %s: %w", s.location, key, err)
		}
		return true, nil
	}
	file := filepath.Join(s.fileRoot, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return false, err
	}
	tmp, err := s.tempFile(data)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, file)
	if err != nil && !errors.Is(err, os.ErrExist) { // a filesystem without hard links
		var f *os.File
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			_, err = f.Write(data)
			err = errors.Join(err, f.Close())
		}
	}
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// tempFile writes data to a new file at a file:// store's root, outside every run folder,
// whose listings would catch it vanishing.
func (s *Store) tempFile(data []byte) (string, error) {
	tmp, err := os.CreateTemp(s.fileRoot, LeaseFile+".*.tmp") // IsLease knows the name
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err := errors.Join(err, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// writeObject writes data as the object key, whole: for a file:// store through a file at its
// root renamed into place (gocloud's file store writes its temporary file beside the object,
// inside the run folder, where another process's listing trips on it).
func (s *Store) writeObject(ctx context.Context, key string, data []byte) error {
	if s.fileRoot == "" {
		return s.bucket.WriteAll(ctx, key, data, nil)
	}
	tmp, err := s.tempFile(data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.fileRoot, filepath.FromSlash(key))); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// readLease reads the lease object key and how long ago it was last written; a missing one is
// an error that errors.Is matches with os.ErrNotExist.
func (s *Store) readLease(ctx context.Context, key string) (leaseRecord, time.Duration, error) {
	var record leaseRecord
	r, err := s.bucket.NewReader(ctx, key, nil) // one request for the content and its time
	if gcerrors.Code(err) == gcerrors.NotFound {
		return record, 0, fmt.Errorf("%s: no lease %s: %w", s.location, key, os.ErrNotExist)
	}
	if err != nil {
		return record, 0, fmt.Errorf("%s: cannot read the lease %s: %w", s.location, key, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return record, 0, fmt.Errorf("%s: cannot read the lease %s: %w", s.location, key, err)
	}
	if json.Unmarshal(data, &record) != nil {
		record = leaseRecord{}
	}
	return record, time.Since(r.ModTime()), nil
}

// LeaseHolder reads the lease file in folder, a LocalCopy of a run folder in a store: who holds
// it and whether it is live (renewed within LeaseStale of now, by a process that has not ended
// where it ran on this machine); ok is false without one.
func LeaseHolder(folder string) (holder string, live, ok bool) {
	file := filepath.Join(folder, LeaseFile)
	info, err := os.Stat(file)
	if err != nil {
		return "", false, false
	}
	data, _ := os.ReadFile(file)
	var record leaseRecord
	if json.Unmarshal(data, &record) != nil || record.Host == "" {
		return "an unknown process", time.Since(info.ModTime()) <= LeaseStale, true
	}
	live = time.Since(info.ModTime()) <= LeaseStale && !record.diedHere()
	return fmt.Sprintf("pid %d on %s", record.PID, record.Host), live, true
}

// diedHere says whether the lease's holder was a process of this machine that no longer runs:
// a run killed and resumed on the same machine, or a container restarted in its pod (whose
// new process may have the old one's pid, but holds no lease of that token).
func (r leaseRecord) diedHere() bool {
	host, err := os.Hostname()
	if err != nil || r.Host != host || r.PID <= 0 {
		return false
	}
	if r.PID == os.Getpid() {
		_, held := heldTokens.Load(r.Token)
		return !held
	}
	return errors.Is(syscall.Kill(r.PID, 0), syscall.ESRCH)
}

// renew rewrites l's object every l.every until released (also where it went missing), and
// ends when the object names another holder, or when it could not be written for LeaseStale
// (another process may have taken it over), closing l.lost.
func (m *Mirror) renew(l *lease) {
	defer close(l.ended)
	ticker := time.NewTicker(l.every)
	defer ticker.Stop()
	data, _ := json.Marshal(l.record)
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.every)
		holder, _, err := m.Store.readLease(ctx, l.key)
		if err == nil && holder.Token != l.record.Token || l.expired() {
			cancel()
			close(l.lost)
			return
		}
		started := time.Now()
		if m.Store.writeObject(ctx, l.key, data) == nil { // a failed renewal is retried at the next tick
			l.renewed.Store(started.UnixNano())
		}
		cancel()
	}
}

// release stops the renewal of l, no longer among m.leases, and deletes its object, unless
// another process took it over.
func (m *Mirror) release(l *lease) {
	close(l.stop)
	<-l.ended // A renewal under way would write the object again after the delete.
	heldTokens.Delete(l.record.Token)
	ctx, cancel := context.WithTimeout(context.Background(), leaseRenewal)
	defer cancel()
	if holder, _, err := m.Store.readLease(ctx, l.key); err == nil && holder.Token == l.record.Token {
		m.Store.bucket.Delete(ctx, l.key)
	}
}

// lostLease returns ErrLeaseLost, naming the folder, when key lies in a folder whose lease this
// mirror lost or could not renew for LeaseStale (a process frozen that long goes on here).
func (m *Mirror) lostLease(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.leases {
		if l.expired() && isUnder(key, path.Dir(l.key)) {
			return fmt.Errorf("%s: %w", Join(m.Store.Location(), path.Dir(l.key)), ErrLeaseLost)
		}
	}
	return nil
}

// isUnder says whether key is folder or lies in it.
func isUnder(key, folder string) bool {
	rel, err := filepath.Rel(folder, key)
	return err == nil && filepath.IsLocal(rel)
}

// isClosed says whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
