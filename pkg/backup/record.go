package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
)

// What a drill compares is recorded when the backup is taken: each
// service's counts (tables and rows, keys) right before and after its dump,
// in the dumps area, so it travels in the snapshot. The files and bytes a
// drill restores are compared with restic's own listing of the snapshot.

// RecordFile holds the counts, in the dumps area.
const RecordFile = ".selfhosted-counts.json"

// Record is what a backup counted when it dumped.
type Record struct {
	Taken    time.Time                   `json:"taken"`
	Services map[string]map[string]Range `json:"services"`
}

func writeRecord(dumpsDir string, r Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dumpsDir, RecordFile), data, 0o600)
}

// ReadRecord reads the counts in a dumps area (an empty record when a
// backup counted nothing).
func ReadRecord(dumpsDir string) (Record, error) {
	var r Record
	data, err := os.ReadFile(filepath.Join(dumpsDir, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{Services: map[string]map[string]Range{}}, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("read %s: %w", RecordFile, err)
	}
	if r.Services == nil {
		r.Services = map[string]map[string]Range{}
	}
	return r, nil
}

// Tags a backup puts on its snapshot besides the caller's.
const (
	// CheckedTag: every dump of the snapshot passed its checks.
	CheckedTag = "checked"
	// ProjectTagPrefix starts the tag naming the compose project.
	ProjectTagPrefix = "project="
)

// treeContent counts the regular files and their bytes below dir, as restic
// counts a snapshot's.
func treeContent(dir string) (files, size int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		size += info.Size()
		return nil
	})
	return files, size, err
}

func sortStrings(s []string) { sort.Strings(s) }
