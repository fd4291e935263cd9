package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

// hostileDirs are DIRs no shell may ever see unquoted.
var hostileDirs = []string{
	"my stack",
	"my $(touch pwned) `touch pwned2` stack",
	`it's a "quoted" stack`,
	"glob * ? [ab] stack",
	"~tilde and ünïcode stack",
	"-dash",
}

func TestIntegrationHostileDIRsRunNothingAndDeleteNothingOutside(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	for _, name := range hostileDirs {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			// A sibling that an unquoted "my stack" would split into.
			sibling := filepath.Join(base, "my")
			require.NoError(t, os.MkdirAll(sibling, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(sibling, "precious"), []byte("keep"), 0o644))
			dir := filepath.Join(base, name)
			local := t.TempDir()
			c := connect(t, s)
			for i := 0; i < 5; i++ {
				writeLocal(t, local, map[string]string{"services/a/conf.yml": strings.Repeat("v", i+1), "services/b/x.yml": "b"}, nil)
				res, err := c.Push(ctx, dir, local, PushOptions{})
				require.NoError(t, err, "push %d", i)
				assert.Contains(t, res.Release, "T", "a release id")
			}
			sameTree(t, localTree(t, local), serverTree(t, dir))

			sess, err := c.Lock(ctx, dir, LockOptions{})
			require.NoError(t, err)
			assert.Len(t, sess.Releases(), 5)
			pruned, err := sess.Prune(ctx, map[string]bool{})
			require.NoError(t, err)
			assert.Len(t, pruned, 4, "every release but the current one")
			sess.Close()
			// Pruning runs in the background: wait for it with the next lock.
			sess, err = c.Lock(ctx, dir, LockOptions{})
			require.NoError(t, err)
			sess.Close()
			require.Eventually(t, func() bool {
				entries, _ := os.ReadDir(dir + ".releases")
				return len(entries) <= 4 // the release, its three records, the history
			}, 5e9, 1e8)

			assert.FileExists(t, filepath.Join(sibling, "precious"), "nothing outside DIR is deleted")
			for _, where := range []string{base, local, os.Getenv("HOME"), "/"} {
				for _, p := range []string{"pwned", "pwned2"} {
					assert.NoFileExists(t, filepath.Join(where, p), "nothing in DIR is executed")
				}
			}
			entries, err := os.ReadDir(base)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.ElementsMatch(t, []string{"my", name, name + ".releases", name + ".lock", name + ".lock.info"}, names, "nothing is written outside DIR, DIR.releases and DIR.lock")
		})
	}
}

func TestIntegrationPlantedSymlinkIsReplacedNotWrittenThrough(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	c := connect(t, s)
	local := t.TempDir()
	dir := filepath.Join(t.TempDir(), "stack")
	writeLocal(t, local, map[string]string{"conf/a.yml": "a1", "single.conf": "s1"}, nil)
	_, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)

	outside := filepath.Join(t.TempDir(), "outside")
	require.NoError(t, os.MkdirAll(outside, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	live, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(live, "conf")))
	require.NoError(t, os.Symlink(outside, filepath.Join(live, "conf")))
	require.NoError(t, os.Remove(filepath.Join(live, "single.conf")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(live, "single.conf")))

	writeLocal(t, local, map[string]string{"conf/a.yml": "a2", "conf/b.yml": "b"}, nil)
	_, err = c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)

	st, err := os.Stat(outside)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "the link's target keeps its mode")
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing was written into the link's target")
	secret, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	assert.Equal(t, "s", string(secret))
	fi, err := os.Lstat(filepath.Join(dir, "conf"))
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "the server has a real folder where the link was")
	sameTree(t, localTree(t, local), serverTree(t, dir))
}

// mountTmpfs mounts a small tmpfs for a full-disk test.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "a tmpfs mount (root)", strings.TrimSpace(string(out)))
	}
	// Client.Close does not wait for the server's shell to exit: it may
	// hold the lock file on this mount a moment longer.
	t.Cleanup(func() { retryFor(10*time.Second, func() error { return exec.Command("umount", dir).Run() }) })
	return dir
}

// retryFor calls f until it succeeds or d has passed.
func retryFor(d time.Duration, f func() error) {
	for deadline := time.Now().Add(d); f() != nil && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// serverDir is a folder to hold a server's DIR that a cut or killed push
// may still be writing into when the test ends: the server's side of a
// dropped connection (scp, tar, the shell) ends a moment after it.
func serverDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "selfhosted-server-")
	require.NoError(t, err)
	t.Cleanup(func() { retryFor(10*time.Second, func() error { return os.RemoveAll(dir) }) })
	return dir
}

func randomFile(t *testing.T, path string, size int) {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{".staging-*", ".upload-*", ".swap-*"} {
		m, _ := filepath.Glob(filepath.Join(dir+".releases", pattern))
		out = append(out, m...)
	}
	return out
}

func TestIntegrationFullDiskIsRefusedUpFrontWithTheNeed(t *testing.T) {
	disk := mountTmpfs(t, "3m")
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	c := connect(t, s)
	local := t.TempDir()
	dir := filepath.Join(disk, "stack")
	writeLocal(t, local, map[string]string{"a.yml": "a"}, nil)
	_, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	before := serverTree(t, dir)

	randomFile(t, filepath.Join(local, "big.bin"), 5<<20)
	_, err = c.Push(ctx, dir, local, PushOptions{})
	var space *SpaceError
	require.ErrorAs(t, err, &space)
	assert.False(t, space.During)
	assert.Greater(t, space.Need, int64(5<<20))
	assert.Less(t, space.Free, int64(3<<20))
	assert.Equal(t, disk, space.Mount)
	assert.Regexp(t, `^not enough space on .*: need [0-9.]+ MB on `+disk+`, [0-9.]+ MB free; nothing was uploaded$`, err.Error())
	sameTree(t, before, serverTree(t, dir))
	assert.Empty(t, leftovers(t, dir))
}

func TestIntegrationDiskFillingDuringTheUploadLeavesNothingBehind(t *testing.T) {
	disk := mountTmpfs(t, "8m")
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	c := connect(t, s)
	local := t.TempDir()
	dir := filepath.Join(disk, "stack")
	writeLocal(t, local, map[string]string{"a.yml": "a"}, nil)
	_, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	before := serverTree(t, dir)

	for _, n := range []string{"1", "2", "3"} {
		randomFile(t, filepath.Join(local, "data", n+".bin"), 1<<20)
	}
	filler := filepath.Join(disk, "filler")
	var filled atomic.Bool
	_, err = c.Push(ctx, dir, local, PushOptions{onFile: func(Entry) {
		if filled.CompareAndSwap(false, true) {
			// Someone else takes the space the push counted on.
			f, _ := os.Create(filler)
			defer f.Close()
			chunk := bytes.Repeat([]byte{1}, 64<<10)
			for {
				if _, err := f.Write(chunk); err != nil {
					return
				}
			}
		}
	}})
	var space *SpaceError
	require.ErrorAs(t, err, &space, "%v", err)
	assert.True(t, space.During)
	assert.Contains(t, err.Error(), "filled up during the upload")
	assert.Empty(t, leftovers(t, dir), "the partial upload is removed at once, not at the next push")
	sameTree(t, before, serverTree(t, dir))

	require.NoError(t, os.Remove(filler))
	_, err = c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	sameTree(t, localTree(t, local), serverTree(t, dir))
}

// A file rewritten with the same size after it was hashed is sent as it is
// when read, and the release records what was sent: the next push agrees.
func TestIntegrationFileRewrittenDuringThePushIsRecordedAsSent(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	c := connect(t, s)
	local := t.TempDir()
	dir := filepath.Join(t.TempDir(), "stack")
	writeLocal(t, local, map[string]string{"a.txt": "aaaa", "z.txt": "old!"}, nil)
	_, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)

	writeLocal(t, local, map[string]string{"a.txt": "AAAA", "z.txt": "mid!"}, nil)
	var once atomic.Bool
	res, err := c.Push(ctx, dir, local, PushOptions{onFile: func(e Entry) {
		if e.Path == "a.txt" && once.CompareAndSwap(false, true) {
			require.NoError(t, os.WriteFile(filepath.Join(local, "z.txt"), []byte("new!"), 0o644))
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"z.txt"}, res.Changed)
	got, err := os.ReadFile(filepath.Join(dir, "z.txt"))
	require.NoError(t, err)
	assert.Equal(t, "new!", string(got))
	again, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	assert.True(t, again.UpToDate, "the server records what was sent, so it agrees with the tree: %+v", again.Plan)
	sameTree(t, localTree(t, local), serverTree(t, dir))

	// A rewrite that changes the size stops the push before anything changes.
	before := serverTree(t, dir)
	writeLocal(t, local, map[string]string{"a.txt": "BBBB", "z.txt": "zzzz"}, nil)
	_, err = c.Push(ctx, dir, local, PushOptions{onFile: func(e Entry) {
		if e.Path == "a.txt" {
			require.NoError(t, os.WriteFile(filepath.Join(local, "z.txt"), []byte("longer now"), 0o644))
		}
	}})
	var changed *ChangedError
	require.ErrorAs(t, err, &changed)
	assert.Equal(t, "z.txt", changed.Path)
	sameTree(t, before, serverTree(t, dir))
	assert.Empty(t, leftovers(t, dir))
	_, err = c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	sameTree(t, localTree(t, local), serverTree(t, dir))
}

// OpenSSH asks for the key type known_hosts has for a server; so do we.
func TestIntegrationKnownECDSAKeyOfAServerThatAlsoHasEd25519(t *testing.T) {
	s := testenv.StartSSHD(t, testenv.SSHDOptions{HostKeys: []string{"ed25519", "ecdsa"}, Known: []string{"ecdsa"}})
	c, err := Connect(context.Background(), s.Alias, ConnectOptions{Config: s.Config})
	require.NoError(t, err)
	defer c.Close()
	out, err := exec.Command("ssh", "-F", s.Config, "-o", "BatchMode=yes", s.Alias, "true").CombinedOutput()
	require.NoError(t, err, "OpenSSH connects too: %s", out)
}
