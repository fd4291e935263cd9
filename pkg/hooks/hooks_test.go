package hooks

import (
	"context"
	"crypto/rand"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestCommands(t *testing.T) {
	assert.Equal(t, []string{"git", "config", "core.hooksPath", ".githooks"}, InstallCommand().Args)
	assert.Contains(t, StagedScan("/repo").Args, "--staged")
	assert.NotContains(t, HistoryScan("/repo").Args, "--staged")
	assert.Equal(t, "/repo", HistoryScan("/repo").Args[len(HistoryScan("/repo").Args)-1])
}

// fakeToken builds a GitHub personal access token shape at run time, so
// no such literal ever sits in this repository.
func fakeToken(t *testing.T) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 36)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		require.NoError(t, err)
		b[i] = alphabet[n.Int64()]
	}
	return "gh" + "p_" + string(b)
}

func git(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestIntegrationPlantedSecretIsCaught plants a fake token in a scratch
// repository: the pre-commit hook refuses the commit naming file and line,
// and the history scan finds it once it was committed anyway.
func TestIntegrationPlantedSecretIsCaught(t *testing.T) {
	testenv.RequireCommand(t, "git", "go")
	module, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "gitleaks")
	build := exec.Command("go", "build", "-o", bin, "github.com/zricethezav/gitleaks/v8")
	build.Dir = module
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	repo := t.TempDir()
	_, err = git(t, repo, nil, "init", "-q", "-b", "main")
	require.NoError(t, err)
	hooks := filepath.Join(repo, Dir)
	require.NoError(t, os.MkdirAll(hooks, 0o755))
	hook, err := os.ReadFile(filepath.Join(module, Dir, "pre-commit"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(hooks, "pre-commit"), hook, 0o755))
	require.NoError(t, Install(context.Background(), run.Local{}, repo))

	env := []string{"GITLEAKS=" + bin}
	require.NoError(t, os.WriteFile(filepath.Join(repo, "README.md"), []byte("clean\n"), 0o644))
	_, err = git(t, repo, nil, "add", ".")
	require.NoError(t, err)
	msg, err := git(t, repo, env, "commit", "-q", "-m", "clean")
	require.NoError(t, err, "a clean commit passes the hook: %s", msg)

	leak := "services/app/config.yml"
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "services/app"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, leak), []byte("name: app\ngithub_token: "+fakeToken(t)+"\n"), 0o644))
	_, err = git(t, repo, nil, "add", ".")
	require.NoError(t, err)
	msg, err = git(t, repo, env, "commit", "-q", "-m", "leak")
	require.Error(t, err, "the hook must block the commit")
	assert.Contains(t, msg, leak)
	assert.Regexp(t, `Line:\s+2`, msg)
	assert.Contains(t, msg, "contain a secret")
	log, _ := git(t, repo, nil, "log", "--oneline")
	assert.Equal(t, 1, strings.Count(log, "\n"), "nothing was committed")

	// Committed anyway (hooks skipped): the history scan finds it.
	_, err = git(t, repo, nil, "commit", "-q", "--no-verify", "-m", "leak")
	require.NoError(t, err)
	scan := HistoryScan(repo)
	history := exec.Command(bin, scan.Args[3:]...) // the same scan through the built binary
	report, err := history.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the history scan must fail: %s", report)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(report), leak)
}
