package backup

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// TestIntegrationResticRoundTrip drives the real restic CLI through the
// builders: init, backup with an exclude, list, restore, and the mapped
// errors for a wrong password and a missing repository.
func TestIntegrationResticRoundTrip(t *testing.T) {
	testenv.RequireCommand(t, "restic")
	ctx := context.Background()
	dir := t.TempDir()
	volumes := filepath.Join(dir, "volumes")
	for name, content := range map[string]string{"stack_app/_data/config.json": "{}", "stack_db/_data/ibdata1": "live"} {
		path := filepath.Join(volumes, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	restic := Restic{Host: DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + filepath.Join(dir, "repo"), "RESTIC_PASSWORD=secret", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "cache")}}
	r := run.Local{}

	_, err := resticOutput(ctx, r, restic.Snapshots())
	require.ErrorIs(t, err, ErrNoRepository)

	_, err = resticOutput(ctx, r, restic.Init())
	require.NoError(t, err)
	out, err := resticOutput(ctx, r, restic.Backup([]string{volumes}, []string{filepath.Join(volumes, "stack_db")}, []string{"test"}))
	require.NoError(t, err)
	sum, err := ParseBackup(out)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.TotalFilesProcessed, "the excluded volume is not backed up")

	out, err = resticOutput(ctx, r, restic.Snapshots())
	require.NoError(t, err)
	snaps, err := ParseSnapshots(out)
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	assert.Equal(t, sum.SnapshotID, snaps[0].ShortID)
	assert.Equal(t, []string{"test"}, snaps[0].Tags)

	target := filepath.Join(dir, "restored")
	_, err = resticOutput(ctx, r, restic.Restore(snaps[0].ID, target))
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(target, volumes, "stack_app/_data/config.json"))
	require.NoError(t, err)
	assert.Equal(t, "{}", string(data))
	assert.NoFileExists(t, filepath.Join(target, volumes, "stack_db/_data/ibdata1"))

	wrong := restic
	wrong.Env = []string{"RESTIC_REPOSITORY=" + filepath.Join(dir, "repo"), "RESTIC_PASSWORD=nope", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "cache")}
	_, err = resticOutput(ctx, r, wrong.Snapshots())
	require.ErrorIs(t, err, ErrWrongPassword)

	unreachable := restic
	unreachable.Env = []string{"RESTIC_REPOSITORY=rest:http://127.0.0.1:9/", "RESTIC_PASSWORD=secret"}
	_, err = resticOutput(ctx, r, unreachable.Snapshots())
	require.ErrorIs(t, err, ErrUnreachable)

	// None of the failures changed the repository.
	out, err = resticOutput(ctx, r, restic.Snapshots())
	require.NoError(t, err)
	after, err := ParseSnapshots(out)
	require.NoError(t, err)
	assert.Equal(t, snaps, after)
}
