package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/clipwork/clipwork/internal/s3test"
)

func TestIsURL(t *testing.T) {
	for location, want := range map[string]bool{
		"s3://bucket/prefix": true, "file:///tmp/x": true, "results": false, "/abs/folder": false,
		"./a://b": false, "C:\\runs": false, "": false,
	} {
		if got := IsURL(location); got != want {
			t.Errorf("IsURL(%q) = %v", location, got)
		}
	}
}

// TestBadURLsSayWhatToWrite checks that a URL that names no store is refused with the URL and
// the forms that work.
func TestBadURLsSayWhatToWrite(t *testing.T) {
	for _, location := range []string{"ftp://host/x", "s3:///prefix", "s3://bad bucket/x"} {
		_, err := Open(context.Background(), location)
		if err == nil || !strings.Contains(err.Error(), location) || !strings.Contains(err.Error(), "s3://bucket/prefix") {
			t.Errorf("Open(%q): %v", location, err)
		}
	}
}

// TestFileStore runs the store's operations on a file:// URL, which keeps a plain folder tree.
func TestFileStore(t *testing.T) {
	root := t.TempDir()
	location := "file://" + filepath.ToSlash(root) + "/sweeps"
	if _, err := Open(context.Background(), location); err == nil || !strings.Contains(err.Error(), location) {
		t.Errorf("opened a missing folder to read: %v", err)
	}
	s, err := OpenToWrite(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkOperations(t, s)
	var files []string
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if want := filepath.Join(root, "sweeps", "run", "image.png"); !slices.Equal(files, []string{want}) {
		t.Errorf("the file:// store's folder holds %v, want only %s", files, want)
	}
}

// checkOperations writes, lists, reads, fetches and deletes objects of s, leaving run/image.png.
func checkOperations(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for key, data := range map[string]string{"run/stats.json": "{}", "run/image.png": "png", "run/snapshots/step-1.png": "1", "other/x": "x"} {
		if err := s.Put(ctx, key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.Keys(ctx, "run")
	if want := []string{"run/image.png", "run/snapshots/step-1.png", "run/stats.json"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(run) = %v, %v; want %v", keys, err, want)
	}
	if _, err := s.Get(ctx, "run/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Get of a missing object: %v", err)
	}
	local := t.TempDir()
	if folders, err := s.Folders(ctx); err != nil || !slices.Equal(folders, []string{"other", "run"}) {
		t.Errorf("Folders() = %v, %v", folders, err)
	}
	if keys, _ := s.Keys(ctx, "run/stats.json"); !slices.Equal(keys, []string{"run/stats.json"}) {
		t.Errorf("Keys of one object: %v", keys)
	}
	if n, err := s.Fetch(ctx, "run", local); n != 3 || err != nil {
		t.Errorf("Fetch(run) = %d, %v", n, err)
	}
	if data, _ := os.ReadFile(filepath.Join(local, "run", "snapshots", "step-1.png")); string(data) != "1" {
		t.Errorf("fetched snapshot: %q", data)
	}
	if err := s.Delete(ctx, "run/snapshots"); err != nil {
		t.Fatal(err)
	}
	s.Delete(ctx, "other")
	s.bucket.Delete(ctx, "run/stats.json")
	if keys, _ := s.Keys(ctx, ""); !slices.Equal(keys, []string{"run/image.png"}) {
		t.Errorf("after deleting: %v", keys)
	}
}

// TestS3Store runs the store's operations on SeaweedFS, and checks the errors of a missing
// bucket and of refused credentials.
func TestS3Store(t *testing.T) {
	s3test.Start(t)
	ctx := context.Background()
	checkOperations(t, openStore(t, s3test.URL("ops")))
	if _, err := Open(ctx, "s3://no-such-bucket/x"); err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/x: the bucket does not exist") {
		t.Errorf("a missing bucket: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := Open(ctx, s3test.URL("ops")); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("refused credentials: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := Open(ctx, s3test.URL("ops")); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("no credentials: %v", err)
	}
}

// TestS3WritesAreWholeObjects replaces an object of a few megabytes again and again while
// another goroutine reads it: every read is one version, whole.
func TestS3WritesAreWholeObjects(t *testing.T) {
	s3test.Start(t)
	ctx := context.Background()
	s := openStore(t, s3test.URL("atomic"))
	versions := [][]byte{bytes.Repeat([]byte{'a'}, 3<<20), bytes.Repeat([]byte{'b'}, 5<<20)}
	if err := s.Put(ctx, "state", versions[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 8 {
			if err := s.Put(ctx, "state", versions[(i+1)%2]); err != nil {
				t.Error(err)
			}
		}
	})
	for range 8 {
		data, err := s.Get(ctx, "state")
		if err != nil || !bytes.Equal(data, versions[0]) && !bytes.Equal(data, versions[1]) {
			t.Errorf("a read saw %d bytes, not one whole version (%v)", len(data), err)
		}
	}
	wg.Wait()
}

// TestMirrorAndLocalCopy uploads a working folder's saves, pulls them into another, forgets a
// folder, and reads the store as a local copy.
func TestMirrorAndLocalCopy(t *testing.T) {
	s3test.Start(t)
	ctx := context.Background()
	writer := openMirror(t, "mirror")
	path := filepath.Join(writer.Local, "sweep", "variant", "state.safetensors")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("state"), 0o644)
	if err := writer.Saved(path); err != nil {
		t.Fatal(err)
	}
	if url := writer.URL(path); url != s3test.URL("mirror/sweep/variant/state.safetensors") {
		t.Errorf("URL of the saved file: %s", url)
	}
	if err := writer.Saved(filepath.Join(t.TempDir(), "elsewhere")); err == nil {
		t.Error("a file outside the working folder was uploaded")
	}
	reader := openMirror(t, "mirror")
	if err := reader.Pull(ctx, "sweep/variant"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(reader.Local, "sweep", "variant", "state.safetensors")); string(data) != "state" {
		t.Errorf("pulled %q", data)
	}
	dir, remove, err := LocalCopy(ctx, s3test.URL("mirror/sweep"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "variant", "state.safetensors")); err != nil || filepath.Base(dir) != "sweep" {
		t.Error(err)
	}
	remove()
	if _, _, err := LocalCopy(ctx, s3test.URL("mirror/sweep"), "state.safetensors"); err == nil || !strings.Contains(err.Error(), "nothing is stored") {
		t.Errorf("LocalCopy of nothing but an excepted file: %v", err)
	}
	if err := reader.Forget(ctx, filepath.Join(reader.Local, "sweep", "variant")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LocalCopy(ctx, s3test.URL("mirror/sweep")); err == nil || !strings.Contains(err.Error(), "nothing is stored") {
		t.Errorf("LocalCopy of an empty prefix: %v", err)
	}
}

// TestForgetRefusesAllButFoldersInside forgets the working folder itself and folders outside
// it: each is refused, and the store's objects are kept.
func TestForgetRefusesAllButFoldersInside(t *testing.T) {
	ctx := context.Background()
	s, err := OpenToWrite(ctx, "file://"+filepath.ToSlash(t.TempDir())+"/sweeps")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMirror(s)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := s.Put(ctx, "run/state", []byte("state")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{m.Local, filepath.Join(m.Local, "."), filepath.Dir(m.Local), "", "."} {
		if err := m.Forget(ctx, path); err == nil {
			t.Errorf("Forget(%q) was not refused", path)
		}
	}
	if keys, err := s.Keys(ctx, ""); err != nil || !slices.Equal(keys, []string{"run/state"}) {
		t.Errorf("after the refusals the store holds %v (%v)", keys, err)
	}
	if _, err := os.Stat(m.Local); err != nil {
		t.Errorf("the working folder: %v", err)
	}
}

func openMirror(t *testing.T, prefix string) *Mirror {
	t.Helper()
	m, err := NewMirror(openStore(t, s3test.URL(prefix)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(m.Local) })
	return m
}

// openStore opens the store at location for the test; it closes when the test ends.
func openStore(t *testing.T, location string) *Store {
	t.Helper()
	s, err := Open(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestJoinAndLastElement(t *testing.T) {
	for _, c := range [][3]string{
		{"s3://b/runs?endpoint=http://x:1", "demo-sweep", "s3://b/runs/demo-sweep?endpoint=http://x:1"},
		{"s3://b", "demo", "s3://b/demo"},
		{"file:///tmp/r/", "demo", "file:///tmp/r/demo"},
		{"results", "demo", filepath.Join("results", "demo")},
	} {
		if got := Join(c[0], c[1]); got != c[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for location, want := range map[string][2]string{
		"s3://b/runs/demo?region=r": {"s3://b/runs?region=r", "demo"}, "file:///tmp/r/": {"file:///tmp", "r"}, "s3://b": {"s3://b", ""},
	} {
		if parent, name := Split(location); parent != want[0] || name != want[1] {
			t.Errorf("Split(%q) = %q, %q; want %q", location, parent, name, want)
		}
	}
	for location, want := range map[string]string{"s3://b/runs/demo-sweep/": "demo-sweep", "s3://b": "b", "file:///tmp/x?a=1": "x"} {
		if got := lastElement(location); got != want {
			t.Errorf("lastElement(%q) = %q, want %q", location, got, want)
		}
	}
}

// TestURLPathsAreRefusedBeforeWriting checks that a file:// URL with a host (file://results/x
// is the folder /x) and a path with .. elements (keys that no folder can hold again) are refused
// before anything is created.
func TestURLPathsAreRefusedBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	for location, want := range map[string]string{
		"file://results" + dir + "/x":     `names the host "results"`,
		"file://" + dir + "/a/../x":       "no . or .. elements",
		"s3://bucket/../x":                "no . or .. elements",
		"s3://bucket/a/..%2f..%2fb":       "no . or .. elements",
		"s3://bucket/a/./b?region=eu-x-1": "no . or .. elements",
		"s3://bucket/x?endpoint=%%":       "its query cannot be read",
	} {
		_, err := OpenToWrite(context.Background(), location)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), location) {
			t.Errorf("OpenToWrite(%q): %v, want %q", location, err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("refused URLs created %v", entries)
	}
}

// TestFoldersThatReadAsURLs checks that s3:/bucket/x and file:x, store URLs with a slash
// missing, are refused as folders, and that real folders and URLs pass.
func TestFoldersThatReadAsURLs(t *testing.T) {
	for _, location := range []string{"s3:/bucket/x", "S3:bucket", "file:results", "file:/tmp/x"} {
		if err := CheckFolder(location); err == nil || !strings.Contains(err.Error(), "slash missing") {
			t.Errorf("CheckFolder(%q): %v", location, err)
		}
	}
	for _, location := range []string{"results", "./s3:/x", "/tmp/a:b", "s3://bucket/x", "file:///tmp/x", "C:/results"} {
		if err := CheckFolder(location); err != nil {
			t.Errorf("CheckFolder(%q): %v", location, err)
		}
	}
}

// TestShownErrorKeepsWhatItMatches checks that an error's local path is shown as the URL and
// that the error still matches os.ErrNotExist.
func TestShownErrorKeepsWhatItMatches(t *testing.T) {
	_, err := os.ReadFile("/tmp/clipwork-copy-1/run/stats.json")
	shown := ShownError(err, "/tmp/clipwork-copy-1/run", "s3://b/run")
	if !errors.Is(shown, os.ErrNotExist) || !strings.Contains(shown.Error(), "s3://b/run/stats.json") {
		t.Errorf("%v", shown)
	}
	if ShownError(nil, "a", "b") != nil || ShownError(err, "x", "x") != err {
		t.Error("ShownError changed what it had no need to")
	}
}
