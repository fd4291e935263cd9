package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestMissingPackages(t *testing.T) {
	out := "git install ok installed\nrestic deinstall ok config-files\nrsync:amd64 install ok installed\n"
	assert.Equal(t, []string{"restic", "debootstrap"}, MissingPackages([]string{"git", "restic", "rsync", "debootstrap"}, out))
	assert.Empty(t, MissingPackages([]string{"git"}, out))
}

func TestInstallCommands(t *testing.T) {
	cmds := InstallCommands([]string{"restic", "rsync"})
	require.Len(t, cmds, 2)
	assert.Equal(t, []string{"apt-get", "update", "-q"}, cmds[0].Args)
	assert.Equal(t, []string{"apt-get", "install", "-y", "-q", "--no-install-recommends", "restic", "rsync"}, cmds[1].Args)
	assert.Contains(t, cmds[1].Env, "DEBIAN_FRONTEND=noninteractive")
}

func TestIsComposeV2(t *testing.T) {
	assert.True(t, IsComposeV2("2.29.7\n"))
	assert.True(t, IsComposeV2("v2.30.0"))
	assert.False(t, IsComposeV2("1.29.2"))
	assert.False(t, IsComposeV2("docker: 'compose' is not a docker command."))
}

func TestJSONField(t *testing.T) {
	out := "{\n\t\"Path\": \"github.com/docker/compose/v2\",\n\t\"Dir\": \"/root/go/pkg/mod/github.com/docker/compose/v2@v2.29.7\"\n}"
	assert.Equal(t, "/root/go/pkg/mod/github.com/docker/compose/v2@v2.29.7", jsonField(out, "Dir"))
	assert.Equal(t, "", jsonField(out, "Zip"))
}

func TestImageCommands(t *testing.T) {
	d := DebootstrapCommand("/tmp/root", "http://mirror/debian")
	assert.Equal(t, []string{"debootstrap", "--variant=minbase", "--include=" + strings.Join(ImagePackages, ","), "bookworm", "/tmp/root", "http://mirror/debian"}, d.Args)
	imp := ImportCommand("abc")
	assert.Equal(t, DebianImage, imp.Args[len(imp.Args)-1])
	assert.Contains(t, imp.Args, "LABEL "+recipeLabel+"=abc")
	assert.Len(t, ImageRecipe(), 16)
}

// TestIntegrationDebianImageRunsEachDatabase proves the test image every
// other integration test uses: each entrypoint starts its server on an empty
// data dir and answers a query.
func TestIntegrationDebianImageRunsEachDatabase(t *testing.T) {
	RequireImage(t, DebianImage)
	ctx := context.Background()
	r := run.Local{}
	for entrypoint, query := range map[string][]string{
		"run-mariadb":  {"mariadb", "-uroot", "-N", "-e", "SELECT 40+2"},
		"run-postgres": {"psql", "-U", "postgres", "-tAc", "SELECT 40+2"},
		"run-redis":    {"redis-cli", "EVAL", "return 40+2", "0"},
	} {
		t.Run(entrypoint, func(t *testing.T) {
			name := fmt.Sprintf("testenv-%s-%d", entrypoint, time.Now().UnixNano())
			_, err := run.Output(ctx, r, run.Command{Args: []string{"docker", "run", "-d", "--name", name, DebianImage, entrypoint}})
			require.NoError(t, err)
			t.Cleanup(func() { _, _ = run.Output(ctx, r, run.Command{Args: []string{"docker", "rm", "-f", "-v", name}}) })
			var out []byte
			require.Eventually(t, func() bool {
				out, err = run.Output(ctx, r, run.Command{Args: append([]string{"docker", "exec", name}, query...)})
				return err == nil
			}, 60*time.Second, 300*time.Millisecond, "%s never answered: %v", entrypoint, err)
			assert.Equal(t, "42", strings.TrimSpace(string(out)))
		})
	}
}

// TestIntegrationBuildCompose builds the pinned Compose v2 plugin from the
// Go module proxy into a temporary folder (never over the installed one)
// and runs it.
func TestIntegrationBuildCompose(t *testing.T) {
	RequireCommand(t, "go")
	if testing.Short() {
		t.Skip("building compose takes minutes; -short skips it")
	}
	dest := filepath.Join(t.TempDir(), "docker-compose")
	var log strings.Builder
	require.NoError(t, BuildCompose(context.Background(), run.Local{}, ComposeVersion, dest, &log), log.String())
	out, err := run.Output(context.Background(), run.Local{}, run.Command{Args: []string{dest, "version", "--short"}})
	require.NoError(t, err)
	assert.True(t, IsComposeV2(string(out)), string(out))
}
