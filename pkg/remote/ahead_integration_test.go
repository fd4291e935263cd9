package remote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// pushAhead pushes root to dir the way push-files does: the upload
// started ahead of the lock. It returns whether the guess held, and
// whether the lock's round trip ran PushAhead.WithUpload.
func pushAhead(t *testing.T, c *Client, dir, root string) (res *PushResult, staged, ranWith bool) {
	t.Helper()
	ctx := context.Background()
	listed := run.Command{Args: []string{"echo", "listed"}}
	sess, err := c.Lock(ctx, dir, LockOptions{PushAhead: &PushAhead{Root: root, WithUpload: listed}})
	require.NoError(t, err)
	defer sess.Close()
	staged = sess.ahead != nil && sess.ahead.staged
	ranWith = strings.TrimSpace(string(sess.With())) == "listed"
	res, err = sess.Push(ctx, root, PushOptions{})
	require.NoError(t, err)
	return res, staged, ranWith
}

// The second push of a tree starts its upload before the lock, on the
// guess that the server still holds the first; a guess gone wrong (another
// tree pushed in between, a rollback) costs a new start, never a wrong
// tree, and leaves nothing behind.
func TestIntegrationPushAheadOfTheLock(t *testing.T) {
	s := testenv.StartSSHD(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // where the guesses are kept
	c := connect(t, s)
	dir := filepath.Join(t.TempDir(), "stack")
	mine, theirs := t.TempDir(), t.TempDir()
	writeLocal(t, mine, map[string]string{"a.txt": "a", "sub/b.txt": "b"}, nil)
	writeLocal(t, theirs, map[string]string{"a.txt": "someone else's", "c.txt": "c"}, nil)

	first, staged, ranWith := pushAhead(t, c, dir, mine)
	assert.False(t, staged, "nothing to guess from on a first push")
	assert.False(t, ranWith, "WithUpload runs only when a guessed upload is under way")
	sameTree(t, localTree(t, mine), serverTree(t, dir))

	writeLocal(t, mine, map[string]string{"a.txt": "a, changed", "new.txt": "new"}, nil)
	second, staged, ranWith := pushAhead(t, c, dir, mine)
	assert.True(t, staged, "the guess held: staged in the lock's round trip")
	assert.True(t, ranWith, "a push making a new release reads WithUpload in the lock's round trip")
	assert.Equal(t, first.Release, second.Previous)
	sameTree(t, localTree(t, mine), serverTree(t, dir))

	// Nothing changed: nothing goes ahead.
	noop, staged, ranWith := pushAhead(t, c, dir, mine)
	assert.True(t, noop.UpToDate)
	assert.False(t, staged || ranWith, "a no-op push uploads nothing and pays nothing for WithUpload")

	// Someone else pushes another tree: the guess for mine is now wrong.
	other, err := c.Push(context.Background(), dir, theirs, PushOptions{})
	require.NoError(t, err)
	writeLocal(t, mine, map[string]string{"a.txt": "a, changed again"}, nil)
	third, staged, _ := pushAhead(t, c, dir, mine)
	assert.False(t, staged, "the server holds another release than guessed")
	assert.Equal(t, other.Release, third.Previous)
	sameTree(t, localTree(t, mine), serverTree(t, dir))

	// The receiver of the abandoned upload gave up and removed its marker.
	require.Eventually(t, func() bool { return len(leftovers(t, dir)) == 0 }, 5*time.Second, 50*time.Millisecond)

	// A file changed between the lock and the push: the upload ahead no
	// longer matches, and the push sends what the tree holds now.
	writeLocal(t, mine, map[string]string{"a.txt": "fourth"}, nil)
	ctx := context.Background()
	sess, err := c.Lock(ctx, dir, LockOptions{PushAhead: &PushAhead{Root: mine}})
	require.NoError(t, err)
	require.True(t, sess.ahead != nil && sess.ahead.staged)
	require.NoError(t, os.WriteFile(filepath.Join(mine, "a.txt"), []byte("fifth, written after the lock"), 0o644))
	_, err = sess.Push(ctx, mine, PushOptions{})
	sess.Close()
	require.NoError(t, err)
	sameTree(t, localTree(t, mine), serverTree(t, dir))
	assert.Empty(t, leftovers(t, dir))
}
