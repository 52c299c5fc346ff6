// Package store keeps run and sweep folders in an object store that many machines share: an
// S3-compatible bucket (s3://bucket/prefix: AWS, MinIO, SeaweedFS, Ceph, ...) or a folder named
// by a file:// URL. A folder's files are whole objects under the prefix, keyed by their paths in
// the folder; every write replaces a whole object, so readers never see a partial file.
//
// Runs work in a local folder as always; a Mirror uploads each file they save, and a task that
// takes a run over first downloads it (Fetch). Views read a local copy (LocalCopy).
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clipwork/clipwork/internal/atomicfile"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"
)

// IsURL says whether location names an object store (s3://..., file://...) rather than a
// plain folder.
func IsURL(location string) bool {
	scheme, _, ok := strings.Cut(location, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, `/\.`)
}

// CheckFolder refuses a folder that reads as a store URL with a slash missing, s3:/bucket/prefix
// or file:folder, which would otherwise be written as a local folder named s3: or file:.
func CheckFolder(location string) error {
	scheme, _, ok := strings.Cut(location, ":")
	if IsURL(location) || !ok || !strings.EqualFold(scheme, "s3") && !strings.EqualFold(scheme, "file") {
		return nil
	}
	return fmt.Errorf("%q reads as a store URL with a slash missing: write s3://bucket/prefix or file:///folder (or ./%s for a folder)",
		location, location)
}

// Store is the objects under one prefix of a bucket.
type Store struct {
	location string
	bucket   *blob.Bucket
	fileRoot string // a file:// store's folder ("" for S3)
}

// credentialsHelp says how an S3 store is reached, for error messages.
const credentialsHelp = "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION, and for a " +
	"service other than AWS its address in AWS_ENDPOINT_URL (or add ?endpoint=URL&region=R to the URL)"

// Open opens the store at location, s3://bucket/prefix or file:///folder, and checks that
// its bucket can be reached.
func Open(ctx context.Context, location string) (*Store, error) {
	bucketURL, err := bucketURL(location)
	if err != nil {
		return nil, err
	}
	bucket, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open the store: %w (%s)", location, err, help(location))
	}
	s := &Store{location: location, bucket: bucket}
	if u, err := url.Parse(location); err == nil && u.Scheme == "file" {
		s.fileRoot = filepath.FromSlash(u.Path)
	}
	if err := s.checkAccess(ctx); err != nil {
		bucket.Close()
		return nil, err
	}
	return s, nil
}

// OpenToWrite is Open for a store that is to be written: a file:// store's folder is created
// first.
func OpenToWrite(ctx context.Context, location string) (*Store, error) {
	if _, err := bucketURL(location); err != nil {
		return nil, err
	}
	if u, err := url.Parse(location); err == nil && u.Scheme == "file" {
		if err := os.MkdirAll(filepath.FromSlash(u.Path), 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", location, err)
		}
	}
	return Open(ctx, location)
}

// bucketURL is gocloud's URL of location's bucket, its path as the key prefix: a file:// store
// is a plain folder tree (no metadata files beside the objects), and an S3 service reached at
// an endpoint of its own is addressed path-style, as MinIO, SeaweedFS and Ceph expect.
func bucketURL(location string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("%q is not a store URL: %w (write s3://bucket/prefix or file:///folder)", location, err)
	}
	if err := checkPath(location, u); err != nil {
		return "", err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", fmt.Errorf("%q: its query cannot be read: %w (write ?endpoint=URL&region=R)", location, err)
	}
	switch u.Scheme {
	case "file":
		q.Set("metadata", "skip")
		q.Set("no_tmp_dir", "true")
		u.RawQuery = q.Encode()
		return u.String(), nil
	case "s3":
		if u.Host == "" {
			return "", fmt.Errorf("%q names no bucket: write s3://bucket/prefix", location)
		}
		if prefix := strings.Trim(u.Path, "/"); prefix != "" {
			q.Set("prefix", prefix+"/")
		}
		if !q.Has("use_path_style") && (q.Has("endpoint") || os.Getenv("AWS_ENDPOINT_URL") != "") {
			q.Set("use_path_style", "true")
		}
		u.Path, u.RawQuery = "", q.Encode()
		return u.String(), nil
	}
	return "", fmt.Errorf("%q: stores are s3://bucket/prefix or file:///folder, not %s://", location, u.Scheme)
}

// checkPath refuses a file:// URL that names a host (file://results/x is the folder /x, not
// results/x) and a path with . or .. elements, which would be keys that no folder can hold.
func checkPath(location string, u *url.URL) error {
	if u.Scheme == "file" && u.Host != "" && u.Host != "localhost" {
		return fmt.Errorf("%q names the host %q: a file:// URL takes an absolute path, file:///folder", location, u.Host)
	}
	for _, elem := range strings.Split(u.Path, "/") {
		if elem == "." || elem == ".." {
			return fmt.Errorf("%q: a store's path has no . or .. elements: write it without them", location)
		}
	}
	return nil
}

// help is what to check when the store at location cannot be reached.
func help(location string) string {
	if strings.HasPrefix(location, "s3://") {
		return credentialsHelp
	}
	return "check the folder's path and permissions"
}

// checkAccess fails with what to do when the bucket is missing or refuses the credentials.
func (s *Store) checkAccess(ctx context.Context) error {
	if s.fileRoot != "" { // gocloud's check lists the folder, which files vanishing meanwhile fail
		if info, err := os.Stat(s.fileRoot); err != nil || !info.IsDir() {
			return fmt.Errorf("%s: no such folder: create it first, or fix the URL", s.location)
		}
		return nil
	}
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return fmt.Errorf("%s: cannot reach the store: %w (%s)", s.location, err, help(s.location))
	}
	if !ok {
		return fmt.Errorf("%s: the bucket does not exist: create it first (e.g. aws s3 mb s3://BUCKET), or fix the URL", s.location)
	}
	return nil
}

// Location is the store's URL as it was opened.
func (s *Store) Location() string { return s.location }

// Close releases the store's connections.
func (s *Store) Close() error { return s.bucket.Close() }

// Put writes data as the object key, whole: it appears only once complete.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := s.bucket.WriteAll(ctx, key, data, nil); err != nil {
		return fmt.Errorf("%s: cannot write %s: %w", s.location, key, err)
	}
	return nil
}

// PutFile uploads the file at path as the object key.
func (s *Store) PutFile(ctx context.Context, key, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return s.Put(ctx, key, data)
}

// Get reads the object key; a missing one is an error that errors.Is matches with
// os.ErrNotExist.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%s: no object %s: %w", s.location, key, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read %s: %w", s.location, key, err)
	}
	return data, nil
}

// Keys lists the keys of the objects under prefix, in order: the object prefix itself and those
// in the folder prefix ("" for all).
func (s *Store) Keys(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := s.each(ctx, prefix, func(obj *blob.ListObject) error {
		keys = append(keys, obj.Key)
		return nil
	})
	return keys, err
}

// Folders lists the names of the store's top folders, in order.
func (s *Store) Folders(ctx context.Context) ([]string, error) {
	var names []string
	iter := s.bucket.List(&blob.ListOptions{Delimiter: "/"})
	for {
		obj, err := iter.Next(ctx)
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: cannot list: %w", s.location, err)
		}
		if obj.IsDir {
			names = append(names, strings.TrimSuffix(obj.Key, "/"))
		}
	}
}

// each calls fn with the object prefix and every object in the folder prefix, in order.
func (s *Store) each(ctx context.Context, prefix string, fn func(*blob.ListObject) error) error {
	prefix = strings.Trim(path.Clean("/"+filepath.ToSlash(prefix)), "/")
	iter := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := iter.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: cannot list %s: %w", s.location, prefix, err)
		}
		if prefix != "" && obj.Key != prefix && !strings.HasPrefix(obj.Key, prefix+"/") {
			continue
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
}

// Delete removes the objects under prefix (see Keys) but leases (IsLease), which their
// holders release.
func (s *Store) Delete(ctx context.Context, prefix string) error {
	keys, err := s.Keys(ctx, prefix)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if IsLease(key) {
			continue
		}
		if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("%s: cannot delete %s: %w", s.location, key, err)
		}
	}
	return nil
}

// Fetch downloads the objects under prefix (see Keys) into dir, each to its key's path under
// dir, each file written atomically with the object's time, except those whose file names are
// in except. It returns how many it fetched.
func (s *Store) Fetch(ctx context.Context, prefix, dir string, except ...string) (int, error) {
	n := 0
	err := s.each(ctx, prefix, func(obj *blob.ListObject) error {
		name := path.Base(obj.Key)
		if slices.Contains(except, name) || IsLease(name) && name != LeaseFile {
			return nil // a lease being written
		}
		err := s.fetchObject(ctx, obj, dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil // deleted since the listing (a released lease)
		}
		n++
		return err
	})
	return n, err
}

func (s *Store) fetchObject(ctx context.Context, obj *blob.ListObject, dir string) error {
	if !filepath.IsLocal(filepath.FromSlash(obj.Key)) {
		return fmt.Errorf("%s: the object %q would land outside %s: refused", s.location, obj.Key, dir)
	}
	data, err := s.Get(ctx, obj.Key)
	if err != nil {
		return err
	}
	local := filepath.Join(dir, filepath.FromSlash(obj.Key))
	if err := writeCopy(local, data, obj.ModTime); err != nil {
		return fmt.Errorf("%s: cannot copy the object %q: %w", s.location, obj.Key, err)
	}
	return nil
}

// writeCopy writes data to the file local, its folders created, with the time modTime.
func writeCopy(local string, data []byte, modTime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(local, data); err != nil {
		return err
	}
	return os.Chtimes(local, modTime, modTime)
}
