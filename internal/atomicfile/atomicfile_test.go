package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
