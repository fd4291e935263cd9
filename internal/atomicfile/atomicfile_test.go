package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileReplacesWithMode(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f.sh")
	require.NoError(t, os.WriteFile(name, []byte("old"), 0o644))
	require.NoError(t, WriteFile(name, []byte("new"), 0o755))
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "new", string(data))
	st, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
}

func TestWriteFailureKeepsOldContentAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "dump.sql")
	require.NoError(t, os.WriteFile(name, []byte("last good"), 0o600))
	err := Write(name, 0o600, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return errors.New("dump failed")
	})
	require.ErrorContains(t, err, "dump failed")
	data, _ := os.ReadFile(name)
	assert.Equal(t, "last good", string(data))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}
