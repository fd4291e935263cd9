package backup

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	_, err = resticOutput(ctx, run.Local{}, restic.Init())
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
	out, err := resticOutput(ctx, run.Local{}, restic.ListLocks())
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the stale lock is gone")
}

func waitForLock(t *testing.T, o Options) {
	t.Helper()
	require.Eventually(t, func() bool {
		out, err := resticOutput(context.Background(), run.Local{}, o.Restic.ListLocks())
		return err == nil && strings.TrimSpace(string(out)) != ""
	}, 20*time.Second, 20*time.Millisecond, "restic never took its lock")
}

// Locks taken inside containers are judged by their process, through the
// Engine: a restic killed in a container that keeps running leaves a lock
// that is removed; a restic still running in another container keeps its
// lock; another host's lock is never removed unless asked, and only once
// it is old.
func TestIntegrationUnlockJudgesContainerLocksByTheirProcess(t *testing.T) {
	testenv.RequireCommand(t, "restic")
	testenv.RequireImage(t, testenv.DebianImage)
	ctx := context.Background()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	restic := Restic{Host: DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + repo, "RESTIC_PASSWORD=pw", "RESTIC_CACHE_DIR=" + filepath.Join(dir, "cache")}}
	engine, err := NewDockerEngine()
	require.NoError(t, err)
	defer engine.Close()
	o := Options{Restic: restic, Runner: run.Local{}, Engine: engine, DumpsDir: t.TempDir()}
	_, err = resticOutput(ctx, run.Local{}, restic.Init())
	require.NoError(t, err)
	data := filepath.Join(dir, "data")
	require.NoError(t, os.MkdirAll(data, 0o755))
	big := make([]byte, 96<<20)
	_, _ = rand.Read(big)
	require.NoError(t, os.WriteFile(filepath.Join(data, "big"), big, 0o644))

	start := func(name string, extra ...string) string {
		args := append([]string{"run", "-d", "--rm", "--name", name, "-v", dir + ":" + dir, "-e", "RESTIC_REPOSITORY=" + repo, "-e", "RESTIC_PASSWORD=pw"}, extra...)
		args = append(args, testenv.DebianImage, "tini", "--", "sleep", "infinity")
		id := strings.TrimSpace(testenv.Docker(t, args...))
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
		return id
	}
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)

	// A restic killed inside a container that keeps running.
	killedIn := start("unlock-killed-" + suffix)
	exec.Command("docker", "exec", "-d", killedIn, "restic", "backup", "--host", DefaultHost, data).Run()
	waitForLock(t, o)
	testenv.Docker(t, "exec", killedIn, "pkill", "-9", "restic")

	// A restic still running in another container.
	liveIn := start("unlock-live-" + suffix)
	live := exec.Command("docker", "exec", "-i", liveIn, "restic", "backup", "--stdin", "--stdin-filename", "x", "--host", DefaultHost)
	stdin, err := live.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, live.Start())
	require.Eventually(t, func() bool {
		locks, err := Locks(ctx, o, UnlockOptions{})
		return err == nil && len(locks) == 2
	}, 30*time.Second, 100*time.Millisecond)

	locks, err := Unlock(ctx, o, UnlockOptions{})
	var lle *LiveLockError
	require.ErrorAs(t, err, &lle)
	require.Len(t, lle.Locks, 1)
	assert.Contains(t, lle.Locks[0].Why, "is running")
	assert.Contains(t, lle.Locks[0].Holder, liveIn[:12])
	require.Len(t, locks, 2)
	left, err := Locks(ctx, o, UnlockOptions{})
	require.NoError(t, err)
	require.Len(t, left, 1, "the killed restic's lock is gone; the live one stays")
	assert.True(t, left[0].Live)
	_, _ = stdin.Write([]byte("data"))
	stdin.Close()
	require.NoError(t, live.Wait(), "the live backup finishes normally")

	// Another host's lock: a container with a hostname of its own, gone.
	foreign := start("unlock-foreign-"+suffix, "--hostname", "elsewhere")
	exec.Command("docker", "exec", "-d", foreign, "restic", "backup", "--host", DefaultHost, data).Run()
	waitForLock(t, o)
	testenv.Docker(t, "rm", "-f", "unlock-foreign-"+suffix)
	locks, err = Unlock(ctx, o, UnlockOptions{})
	require.ErrorAs(t, err, &lle)
	require.Len(t, locks, 1)
	assert.Equal(t, "another host", locks[0].Holder)
	locks, err = Locks(ctx, o, UnlockOptions{Foreign: true})
	require.NoError(t, err)
	assert.True(t, locks[0].Live, "even when asked, a lock refreshed an hour ago is live")
	locks, err = Locks(ctx, o, UnlockOptions{Foreign: true, Now: time.Now().Add(3 * time.Hour)})
	require.NoError(t, err)
	assert.False(t, locks[0].Live, "asked, and unrefreshed for over two hours: stale")
}
