package magecache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A record of a fake build: one package folder with one file, an embed
// pattern, and a file that must stay missing.
func writeRecord(t *testing.T) (record, pkg string) {
	t.Helper()
	dir := t.TempDir()
	pkg = filepath.Join(dir, "pkg")
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "data"), 0o755))
	src := filepath.Join(pkg, "a.go")
	require.NoError(t, os.WriteFile(src, []byte("package pkg\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "data", "x.yml"), []byte("x"), 0o644))
	exe := filepath.Join(dir, "targets")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	st, err := os.Stat(src)
	require.NoError(t, err)
	patterns := []string{"data/*.yml"}
	b := Targets{Exe: exe, Env: buildEnv(), Deps: []Stamp{
		{Path: src, Size: st.Size(), MTime: st.ModTime().UnixNano()},
		{Path: filepath.Join(dir, "go.work"), MTime: -1},
		{Path: pkg, Dir: true, Patterns: patterns, List: listing(pkg, patterns)},
	}}
	data, err := json.Marshal(b)
	require.NoError(t, err)
	record = filepath.Join(dir, "record.json")
	require.NoError(t, os.WriteFile(record, data, 0o600))
	return record, pkg
}

func TestFreshUntilAFileTheTargetsWereBuiltFromChanges(t *testing.T) {
	later := time.Now().Add(time.Minute)
	for _, c := range []struct {
		name   string
		change func(t *testing.T, pkg string)
		fresh  bool
	}{
		{"nothing", func(t *testing.T, pkg string) {}, true},
		{"an unrelated file in the folder", func(t *testing.T, pkg string) {
			require.NoError(t, os.WriteFile(filepath.Join(pkg, "notes.txt"), []byte("x"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(pkg, "a_test.go"), []byte("package pkg"), 0o644))
		}, true},
		{"a source edited", func(t *testing.T, pkg string) {
			require.NoError(t, os.WriteFile(filepath.Join(pkg, "a.go"), []byte("package pkg // edited\n"), 0o644))
		}, false},
		{"a source touched", func(t *testing.T, pkg string) {
			require.NoError(t, os.Chtimes(filepath.Join(pkg, "a.go"), later, later))
		}, false},
		{"a Go file added", func(t *testing.T, pkg string) {
			require.NoError(t, os.WriteFile(filepath.Join(pkg, "b.go"), []byte("package pkg\n"), 0o644))
		}, false},
		{"a source removed", func(t *testing.T, pkg string) {
			require.NoError(t, os.Remove(filepath.Join(pkg, "a.go")))
		}, false},
		{"an embedded file added", func(t *testing.T, pkg string) {
			require.NoError(t, os.WriteFile(filepath.Join(pkg, "data", "y.yml"), []byte("y"), 0o644))
		}, false},
		{"a missing file appeared", func(t *testing.T, pkg string) {
			require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(pkg), "go.work"), []byte("go 1.26\n"), 0o644))
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			record, pkg := writeRecord(t)
			c.change(t, pkg)
			_, fresh := Fresh(record)
			assert.Equal(t, c.fresh, fresh)
		})
	}
}

func TestFreshRefusesAnotherToolchainOrBuildEnvironment(t *testing.T) {
	record, _ := writeRecord(t)
	t.Setenv("GOFLAGS", "-tags=other")
	_, fresh := Fresh(record)
	assert.False(t, fresh)
}
