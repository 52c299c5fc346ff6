package digest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileIsSHA256: the digest of "abc" is SHA-256's published test vector; a missing file
// is an error.
func TestFileIsSHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "abc")
	os.WriteFile(path, []byte("abc"), 0o644)
	if got, err := File(path); err != nil || got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("digest %s, %v", got, err)
	}
	if _, err := File(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file has a digest")
	}
}
