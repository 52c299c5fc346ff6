package atomicfile

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLongNamesFit writes a file whose name is as long as a file system allows: its temporary
// name must fit too.
func TestLongNamesFit(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("a", 255))
	if err := WriteFile(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "x" {
		t.Errorf("read back %q, %v", data, err)
	}
}

// TestLongMultiByteNames writes a file whose long name is made of two-byte characters: its
// temporary name must be cut between characters, not inside one.
func TestLongMultiByteNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a"+strings.Repeat("é", 127))
	err := Write(path, func(*bufio.Writer) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !utf8.ValidString(e.Name()) {
				t.Errorf("temporary name %q is not valid UTF-8", e.Name())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
