package compose

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnsureEnvFile(t *testing.T) {
	root := t.TempDir()
	created, err := EnsureEnvFile(root)
	require.NoError(t, err)
	assert.False(t, created, "nothing to copy without .env.example")

	require.NoError(t, os.WriteFile(filepath.Join(root, ".env.example"), []byte("COMPOSE_PROJECT_NAME=demo\n"), 0o644))
	created, err = EnsureEnvFile(root)
	require.NoError(t, err)
	assert.True(t, created)
	st, err := os.Stat(filepath.Join(root, ".env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("COMPOSE_PROJECT_NAME=mine\n"), 0o600))
	created, err = EnsureEnvFile(root)
	require.NoError(t, err)
	assert.False(t, created)
	data, _ := os.ReadFile(filepath.Join(root, ".env"))
	assert.Equal(t, "COMPOSE_PROJECT_NAME=mine\n", string(data), "an existing .env is never overwritten")
}
