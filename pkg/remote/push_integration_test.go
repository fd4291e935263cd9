package remote

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

func writeLocal(t *testing.T, root string, files map[string]string, modes map[string]os.FileMode) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		mode := modes[name]
		if mode == 0 {
			mode = 0o644
		}
		require.NoError(t, os.WriteFile(path, []byte(content), mode))
		require.NoError(t, os.Chmod(path, mode))
	}
}

// serverTree is the manifest of what DIR points to on the "server".
func serverTree(t *testing.T, dir string) Manifest {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	m, err := LocalManifest(real, nil)
	require.NoError(t, err)
	return m
}

func localTree(t *testing.T, root string) Manifest {
	t.Helper()
	ignore, err := Ignore(root)
	require.NoError(t, err)
	m, err := LocalManifest(root, ignore)
	require.NoError(t, err)
	return m
}

// sameTree compares two manifests by path, type, mode, size and content.
func sameTree(t *testing.T, want, got Manifest) {
	t.Helper()
	strip := func(m Manifest) map[string]Entry {
		out := map[string]Entry{}
		for p, e := range m {
			e.MTime = 0
			if e.Dir {
				e.Size = 0
			}
			out[p] = e
		}
		return out
	}
	assert.Equal(t, strip(want), strip(got))
}

func TestIntegrationPushKeepsTheServerTreeIdentical(t *testing.T) {
	s := testenv.StartSSHD(t)
	c := connect(t, s)
	ctx := context.Background()
	local := t.TempDir()
	dir := filepath.Join(t.TempDir(), "stack")

	writeLocal(t, local, map[string]string{
		".env":                                "SECRET=1\n",
		"services/db/docker-compose.db.yml":   "services: {}\n",
		"services/db/backup.sh":               "#!/bin/sh\necho hi\n",
		"services/web/docker-compose.web.yml": "services: {}\n",
		"services/web/static/index.html":      "<h1>hi</h1>\n",
		".git/HEAD":                           "ref: refs/heads/main\n",
		".deployignore":                       ".git/\n*.swp\n",
		"services/web/notes.swp":              "editor junk",
	}, map[string]os.FileMode{"services/db/backup.sh": 0o755, ".env": 0o644})
	require.NoError(t, os.MkdirAll(filepath.Join(local, "services/empty"), 0o755))

	res, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	assert.Len(t, res.Plan.Upload, 6)
	got := serverTree(t, dir)
	sameTree(t, localTree(t, local), got)
	assert.Equal(t, os.FileMode(0o600), got[".env"].Mode, ".env is always 0600 on the server")
	assert.Equal(t, os.FileMode(0o755), got["services/db/backup.sh"].Mode)
	assert.NotContains(t, got, ".git/HEAD")
	assert.NotContains(t, got, "services/web/notes.swp")
	assert.Contains(t, got, "services/empty")

	// No change: nothing to send.
	res, err = c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	assert.True(t, res.Plan.Empty(), "%+v", res.Plan)

	// Change, delete a file and a folder, add, change a mode.
	writeLocal(t, local, map[string]string{"services/db/docker-compose.db.yml": "services: {db: {}}\n", "services/new/docker-compose.new.yml": "x\n"}, nil)
	require.NoError(t, os.RemoveAll(filepath.Join(local, "services/web")))
	require.NoError(t, os.Chmod(filepath.Join(local, "services/db/backup.sh"), 0o700))
	previous, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	before := serverTree(t, dir)
	res, err = c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"services/web"}, res.Plan.Delete)
	sameTree(t, localTree(t, local), serverTree(t, dir))
	// The previous release was not touched through its hard links.
	old, err := LocalManifest(previous, nil)
	require.NoError(t, err)
	sameTree(t, before, old)
}

func TestIntegrationPushCutMidUploadLeavesTheOldTree(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	local := t.TempDir()
	dir := filepath.Join(serverDir(t), "stack")
	files := map[string]string{}
	for i := 0; i < 30; i++ {
		files[filepath.Join("services", "app", "f"+itoa(i)+".txt")] = "v1 " + itoa(i)
	}
	writeLocal(t, local, files, nil)
	c := connect(t, s)
	_, err := c.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	v1 := serverTree(t, dir)

	for p := range files {
		files[p] = "v2 " + p
	}
	writeLocal(t, local, files, nil)
	cut := connect(t, s)
	var sent atomic.Int32
	_, err = cut.Push(ctx, dir, local, PushOptions{onFile: func(Entry) {
		if sent.Add(1) == 5 {
			cut.Close() // the connection dies mid-upload
		}
	}})
	require.Error(t, err)
	sameTree(t, v1, serverTree(t, dir))

	// The next push completes normally: no stale lock, no stale staging.
	again := connect(t, s)
	_, err = again.Push(ctx, dir, local, PushOptions{})
	require.NoError(t, err)
	sameTree(t, localTree(t, local), serverTree(t, dir))
	leftovers, _ := filepath.Glob(dir + ".releases/.staging-*")
	assert.Empty(t, leftovers)
}

func TestIntegrationConcurrentPushesDoNotInterleave(t *testing.T) {
	s := testenv.StartSSHD(t)
	ctx := context.Background()
	local := t.TempDir()
	dir := filepath.Join(t.TempDir(), "stack")
	writeLocal(t, local, map[string]string{"a.txt": "a", "b.txt": "b", "c.txt": "c"}, nil)

	first, second := connect(t, s), connect(t, s)
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		var once atomic.Bool
		_, err := first.Push(ctx, dir, local, PushOptions{Who: "alice@laptop", onFile: func(Entry) {
			if once.CompareAndSwap(false, true) {
				close(started)
			}
			time.Sleep(700 * time.Millisecond)
		}})
		done <- err
	}()
	<-started
	_, err := second.Push(ctx, dir, local, PushOptions{Who: "bob@laptop", LockWait: time.Second})
	var le *LockError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, le.Holder, "alice@laptop")
	assert.False(t, le.Since.IsZero())
	require.NoError(t, <-done)

	_, err = second.Push(ctx, dir, local, PushOptions{Who: "bob@laptop"})
	require.NoError(t, err, "the lock is free once the first push ends")
}
