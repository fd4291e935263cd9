package backup

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestIntegrationUnlockRemovesOnlyStaleLocks(t *testing.T) {
	testenv.RequireCommand(t, "restic")
	testenv.RequireDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	restic := Restic{Host: DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + filepath.Join(dir, "repo"), "RESTIC_PASSWORD=pw", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "cache")}}
	engine, err := NewDockerEngine()
	require.NoError(t, err)
	defer engine.Close()
	o := Options{Restic: restic, Runner: run.Local{}, Engine: engine, DumpsDir: t.TempDir()}
	_, err = Output(ctx, run.Local{}, restic.Init())
	require.NoError(t, err)

	// A live lock: a backup reading stdin from a pipe this test holds open.
	live := exec.Command("restic", "backup", "--stdin", "--stdin-filename", "x", "--host", DefaultHost)
	live.Env = append(os.Environ(), restic.Env...)
	stdin, err := live.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, live.Start())
	waitForLock(t, o)
	locks, err := Unlock(ctx, o, UnlockOptions{})
	var lle *LiveLockError
	require.ErrorAs(t, err, &lle)
	assert.Contains(t, err.Error(), "PID")
	require.Len(t, locks, 1)
	assert.True(t, locks[0].Live)
	_, _ = stdin.Write([]byte("data"))
	stdin.Close()
	require.NoError(t, live.Wait(), "the live backup finishes normally: its lock was left alone")

	// A stale lock: a backup killed mid-way.
	data := filepath.Join(dir, "data")
	require.NoError(t, os.MkdirAll(data, 0o755))
	big := make([]byte, 64<<20)
	_, _ = rand.Read(big)
	require.NoError(t, os.WriteFile(filepath.Join(data, "big"), big, 0o644))
	killed := exec.Command("restic", "backup", "--host", DefaultHost, data)
	killed.Env = append(os.Environ(), restic.Env...)
	require.NoError(t, killed.Start())
	waitForLock(t, o)
	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()

	locks, err = Unlock(ctx, o, UnlockOptions{})
	require.NoError(t, err)
	require.Len(t, locks, 1)
	assert.False(t, locks[0].Live)
	assert.Contains(t, locks[0].Why, "gone")
	out, err := Output(ctx, run.Local{}, restic.ListLocks())
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the stale lock is gone")
}

func waitForLock(t *testing.T, o Options) {
	t.Helper()
	require.Eventually(t, func() bool {
		out, err := Output(context.Background(), run.Local{}, o.Restic.ListLocks())
		return err == nil && strings.TrimSpace(string(out)) != ""
	}, 20*time.Second, 20*time.Millisecond, "restic never took its lock")
}
