// Package atomicfile writes files so that readers see either the old content or the complete
// new one, never a partial file: through a temporary file in the same folder, synced to disk
// and renamed into place.
package atomicfile

import (
	"bufio"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// maxTempBase bounds the share of path's name in its temporary file's name, so that a name up
// to the usual limit of 255 bytes has a temporary name within it too.
const maxTempBase = 200

// tempBase is base cut to at most maxTempBase bytes, at a character boundary.
func tempBase(base string) string {
	if len(base) <= maxTempBase {
		return base
	}
	n := maxTempBase
	for n > 0 && !utf8.RuneStart(base[n]) {
		n--
	}
	return base[:n]
}

// Write creates or replaces path with what fill writes, atomically.
func Write(path string, fill func(w *bufio.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+tempBase(filepath.Base(path))+".tmp*")
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
	// On disk before it takes the name, so that a crash of the machine, not only of the
	// process, leaves the old file or the new one.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncFolder(filepath.Dir(path))
	return nil
}

// syncFolder flushes a folder's entries (a rename) to disk, where the system can.
func syncFolder(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// WriteFile creates or replaces path with data, atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
