package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
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

// Lease timing: a writer renews its lease every leaseRenewal; one not renewed for LeaseStale
// belongs to a process that died (its machine lost, or killed), and another may take it over.
// Variables for the tests.
var (
	leaseRenewal = 20 * time.Second
	LeaseStale   = 2 * time.Minute
)

// heldTokens are the tokens of the leases this process holds (through any mirror).
var heldTokens sync.Map

// ErrLeaseHeld is returned by Hold while another live process writes the folder.
var ErrLeaseHeld = errors.New("another clipwork process is writing this run")

// ErrLeaseLost fails the uploads of a run whose lease another process took over (after this
// one failed to renew it in time): two writers would mix their files.
var ErrLeaseLost = errors.New("this process lost the run's lease to another process")

// leaseRecord is a lease object's content.
type leaseRecord struct {
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Token string    `json:"token"` // tells this holder from another process of the same host and pid
	Since time.Time `json:"since"`
}

// lease is a lease this mirror holds.
type lease struct {
	key    string
	record leaseRecord
	stop   chan struct{} // closed by release, to end the renewal
	ended  chan struct{} // closed by the renewal as it returns
	lost   chan struct{} // closed by the renewal when another process holds the object
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
	defer m.mu.Unlock()
	if l, ok := m.leases[key]; ok {
		return l.lost, nil
	}
	record, err := newLeaseRecord()
	if err != nil {
		return nil, err
	}
	if err := m.Store.takeLease(ctx, key, record, time.Now().Add(wait)); err != nil {
		return nil, err
	}
	l := &lease{key: key, record: record, stop: make(chan struct{}), ended: make(chan struct{}),
		lost: make(chan struct{})}
	if m.leases == nil {
		m.leases = map[string]*lease{}
	}
	m.leases[key] = l
	heldTokens.Store(record.Token, true)
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
	for {
		err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{IfNotExist: true})
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			if err != nil {
				return fmt.Errorf("%s: cannot write the lease %s: %w", s.location, key, err)
			}
			return nil
		}
		holder, age, err := s.readLease(ctx, key)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return err
		}
		if age > LeaseStale || holder.diedHere() {
			if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return fmt.Errorf("%s: cannot remove the stale lease %s: %w", s.location, key, err)
			}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w (host %s, pid %d, since %s, its lease renewed %v ago); wait for it to end or stop it "+
				"(a lease not renewed for %v is taken over)", Join(s.location, path.Dir(key)), ErrLeaseHeld,
				holder.Host, holder.PID, holder.Since.Format(time.RFC3339), age.Round(time.Second), LeaseStale)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// readLease reads the lease object key and how long ago it was last written; a missing one is
// an error that errors.Is matches with os.ErrNotExist.
func (s *Store) readLease(ctx context.Context, key string) (leaseRecord, time.Duration, error) {
	var record leaseRecord
	attrs, err := s.bucket.Attributes(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return record, 0, fmt.Errorf("%s: no lease %s: %w", s.location, key, os.ErrNotExist)
	}
	if err != nil {
		return record, 0, fmt.Errorf("%s: cannot read the lease %s: %w", s.location, key, err)
	}
	data, err := s.Get(ctx, key)
	if err != nil {
		return record, 0, err
	}
	if json.Unmarshal(data, &record) != nil {
		record.Host = "unknown (the lease cannot be read)"
	}
	return record, time.Since(attrs.ModTime), nil
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

// renew rewrites l's object every leaseRenewal until released (also where it went missing), and
// ends when the object names another holder, closing l.lost.
func (m *Mirror) renew(l *lease) {
	defer close(l.ended)
	ticker := time.NewTicker(leaseRenewal)
	defer ticker.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseRenewal)
		holder, _, err := m.Store.readLease(ctx, l.key)
		if err == nil && holder.Token != l.record.Token {
			cancel()
			close(l.lost)
			return
		}
		if data, err := json.Marshal(l.record); err == nil {
			m.Store.bucket.WriteAll(ctx, l.key, data, nil) // A failed renewal is retried at the next tick.
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
// mirror lost.
func (m *Mirror) lostLease(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.leases {
		if isClosed(l.lost) && isUnder(key, path.Dir(l.key)) {
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
