package git

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

func TestParseStatus(t *testing.T) {
	out := []byte(" M magefile.go\x00?? services/new.yml\x00R  new.go\x00old.go\x00")
	assert.Equal(t, []Change{
		{" M", "magefile.go"},
		{"??", "services/new.yml"},
		{"R ", "new.go"},
	}, parseStatus(out))
	assert.Empty(t, parseStatus(nil))
}

func TestDirtyErrorNamesEveryChange(t *testing.T) {
	err := &DirtyError{Changes: []Change{{" M", "a.go"}, {"??", "b.txt"}}}
	assert.Contains(t, err.Error(), "2 uncommitted change(s)")
	assert.Contains(t, err.Error(), " M a.go")
	assert.Contains(t, err.Error(), "?? b.txt")
}

func TestCommands(t *testing.T) {
	assert.Equal(t, []string{"git", "pull", "--recurse-submodules"}, PullCommand().Args)
	assert.Equal(t, []string{"git", "push", "--recurse-submodules=check"}, PushCommand().Args)
}

// scratchRepo makes a git repository with one commit, outside the project.
func scratchRepo(t *testing.T) (string, run.Runner) {
	t.Helper()
	testenv.RequireCommand(t, "git")
	dir := t.TempDir()
	r := run.Local{Dir: dir}
	ctx := context.Background()
	for _, args := range [][]string{
		{"git", "init", "-q", "-b", "main"},
		{"git", "config", "user.email", "test@example.com"},
		{"git", "config", "user.name", "test"},
	} {
		_, err := run.Output(ctx, r, run.Command{Args: args})
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "services", "db"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "services", "db", "docker-compose.db.yml"), []byte("services: {}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("hi\n"), 0o644))
	for _, args := range [][]string{{"git", "add", "."}, {"git", "commit", "-q", "-m", "init"}} {
		_, err := run.Output(ctx, r, run.Command{Args: args})
		require.NoError(t, err)
	}
	return dir, r
}

func TestIntegrationTrackedAndCheck(t *testing.T) {
	dir, r := scratchRepo(t)
	ctx := context.Background()

	files, err := Tracked(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"README.md", "services/db/docker-compose.db.yml"}, files)
	require.NoError(t, Check(ctx, r))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "untracked.txt"), []byte("x"), 0o644))
	err = Check(ctx, r)
	var dirty *DirtyError
	require.ErrorAs(t, err, &dirty)
	assert.Equal(t, []Change{{" M", "README.md"}, {"??", "untracked.txt"}}, dirty.Changes)
}

func TestIntegrationTrackedOutsideRepoFails(t *testing.T) {
	testenv.RequireCommand(t, "git")
	_, err := Tracked(context.Background(), run.Local{Dir: t.TempDir()})
	require.ErrorContains(t, err, "is this a git repository")
}
