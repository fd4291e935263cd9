package provision_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// TestIntegrationDebianImageRunsEachDatabase proves the test image every
// other integration test uses: each entrypoint starts its server on an empty
// data dir and answers a query.
func TestIntegrationDebianImageRunsEachDatabase(t *testing.T) {
	testenv.RequireImage(t, provision.DebianImage)
	ctx := context.Background()
	r := run.Local{}
	for entrypoint, query := range map[string][]string{
		"run-mariadb":  {"mariadb", "-uroot", "-N", "-e", "SELECT 40+2"},
		"run-postgres": {"psql", "-U", "postgres", "-tAc", "SELECT 40+2"},
		"run-redis":    {"redis-cli", "EVAL", "return 40+2", "0"},
	} {
		t.Run(entrypoint, func(t *testing.T) {
			name := fmt.Sprintf("testenv-%s-%d", entrypoint, time.Now().UnixNano())
			_, err := run.Output(ctx, r, run.Command{Args: []string{"docker", "run", "-d", "--name", name, provision.DebianImage, entrypoint}})
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
	testenv.RequireCommand(t, "go")
	if testing.Short() {
		t.Skip("building compose takes minutes; -short skips it")
	}
	dest := filepath.Join(t.TempDir(), "docker-compose")
	var log strings.Builder
	require.NoError(t, provision.BuildCompose(context.Background(), run.Local{}, provision.ComposeVersion, dest, &log), log.String())
	out, err := run.Output(context.Background(), run.Local{}, run.Command{Args: []string{dest, "version", "--short"}})
	require.NoError(t, err)
	assert.True(t, provision.IsComposeV2(string(out)), string(out))
}
