// Package atomicfile writes files so that readers see either the old content
// or the new, never a half-written file: the data goes to a temporary file in
// the same folder, is synced, and is renamed over the target.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces name with data and gives it mode perm.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return write(name, perm, writeBytes(data), true)
}

// WriteFileUnsynced is WriteFile without the fsync: readers still see the
// old or the new content, but after a power loss the file may be empty. It
// is for files that can be generated again (rendered templates).
func WriteFileUnsynced(name string, data []byte, perm os.FileMode) error {
	return write(name, perm, writeBytes(data), false)
}

func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// Write atomically replaces name with what fill writes, and gives it mode
// perm. If fill fails, name is left untouched and the temporary file removed.
func Write(name string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(name, perm, fill, true)
}

func write(name string, perm os.FileMode, fill func(io.Writer) error, sync bool) (err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if sync {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
