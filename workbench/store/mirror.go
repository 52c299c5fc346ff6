package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Mirror is a local working folder whose files are kept in a store: the file Local/a/b is the
// object a/b.
type Mirror struct {
	Store *Store
	Local string

	mu     sync.Mutex
	leases map[string]*lease // by lease object key
}

// NewMirror makes a mirror of the store in a new temporary folder; Close removes the folder
// and closes the store.
func NewMirror(s *Store) (*Mirror, error) {
	local, err := os.MkdirTemp("", "clipwork-store-")
	if err != nil {
		return nil, err
	}
	return &Mirror{Store: s, Local: local}, nil
}

// uploadTimeout bounds one upload, so that a stalled store cannot block a run for ever.
const uploadTimeout = 5 * time.Minute

// Saved uploads the file at path, inside Local, whole: what a run folder calls after each save.
// An upload that takes longer than uploadTimeout is given up, with an error that says so.
func (m *Mirror) Saved(path string) error {
	key, err := m.key(path)
	if err != nil {
		return err
	}
	if err := m.lostLease(key); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	err = m.Store.PutFile(ctx, key, path)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("gave up uploading %s after %v: %w", m.URL(path), uploadTimeout, err)
	}
	return err
}

// URL is the store URL of path, a file or folder in Local, or path itself when it is elsewhere.
func (m *Mirror) URL(path string) string {
	key, err := m.key(path)
	if err != nil {
		return path
	}
	return Join(m.Store.Location(), key)
}

// key is the object key of the local file path.
func (m *Mirror) key(path string) (string, error) {
	rel, err := filepath.Rel(m.Local, path)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s is outside the store's working folder %s", path, m.Local)
	}
	return filepath.ToSlash(rel), nil
}

// Pull downloads the file or folder rel (a path under Local) from the store, leases left out.
func (m *Mirror) Pull(ctx context.Context, rel string) error {
	_, err := m.Store.Fetch(ctx, rel, m.Local, LeaseFile) // this process's own leases are in m.leases
	return err
}

// Forget removes the folder path, inside Local, both locally and from the store; Local itself
// is refused.
func (m *Mirror) Forget(ctx context.Context, path string) error {
	key, err := m.key(path)
	if err != nil {
		return err
	}
	if key == "." {
		return fmt.Errorf("refusing to forget the store's whole working folder %s", m.Local)
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return m.Store.Delete(ctx, key)
}

// Close releases the mirror's leases (see Hold), removes the local folder and closes the store.
func (m *Mirror) Close() error {
	m.releaseAll()
	return errors.Join(os.RemoveAll(m.Local), m.Store.Close())
}
