// Package atomicfile writes files so that readers see either the old content or the complete
// new one, never a partial file: through a temporary file in the same folder, renamed into place.
package atomicfile

import (
	"bufio"
	"os"
	"path/filepath"
)

// maxTempBase bounds the share of path's name in its temporary file's name, so that a name up
// to the usual limit of 255 bytes has a temporary name within it too.
const maxTempBase = 200

// Write creates or replaces path with what fill writes, atomically.
func Write(path string, fill func(w *bufio.Writer) error) error {
	base := filepath.Base(path)
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteFile creates or replaces path with data, atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
