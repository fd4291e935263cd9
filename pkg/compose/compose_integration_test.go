package compose

import (
	"context"
	"errors"
	"fmt"
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

// A small stack: an app that depends on a healthy PostgreSQL, a named
// volume, a public and a private network.
const itDB = `
services:
  db:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-postgres"]
    restart: unless-stopped
    networks: [private]
    volumes: ["data:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
      interval: 1s
      timeout: 5s
      retries: 60
networks:
  private:
volumes:
  data:
`

const itApp = `
services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [public, private]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    depends_on:
      db: {condition: service_healthy}
networks:
  public:
  private:
`

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run.Output(context.Background(), run.Local{}, run.Command{Args: append([]string{"docker"}, args...)})
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func dockerOK(args ...string) bool {
	_, err := run.Output(context.Background(), run.Local{}, run.Command{Args: append([]string{"docker"}, args...)})
	return err == nil
}

func containerOf(t *testing.T, p Project, service string) string {
	t.Helper()
	out, err := run.Output(context.Background(), run.Local{}, p.Containers(service))
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestIntegrationComposeVerbs(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	ctx := context.Background()
	root := t.TempDir()
	name := fmt.Sprintf("composeit%d", time.Now().UnixNano()%1e9)
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("COMPOSE_PROJECT_NAME="+name+"\n"), 0o600))
	for svc, content := range map[string]string{"db": itDB, "app": itApp} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "services", svc), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "services", svc, "docker-compose."+svc+".yml"), []byte(content), 0o644))
	}
	p, err := Open(root, nil)
	require.NoError(t, err)
	p.Dir = root
	r := run.Local{}
	t.Cleanup(func() { _ = r.Run(ctx, p.DownEverything(), run.Streams{}) })

	require.NoError(t, CheckConfig(ctx, r, p))

	// up waits for db to be healthy before it starts app.
	require.NoError(t, r.Run(ctx, p.Up(), run.Streams{}))
	db, app := containerOf(t, p, "db"), containerOf(t, p, "app")
	assert.Equal(t, "healthy", docker(t, "inspect", "-f", "{{.State.Health.Status}}", db))
	assert.Equal(t, "running", docker(t, "inspect", "-f", "{{.State.Status}}", app))
	// db's probes went from failing to passing before app started (Docker
	// keeps the last five probes; with every kept one passing the
	// transition has scrolled out and there is nothing left to compare).
	appStartedAt, err := time.Parse(time.RFC3339Nano, docker(t, "inspect", "-f", "{{.State.StartedAt}}", app))
	require.NoError(t, err)
	probes := strings.Fields(docker(t, "inspect", "-f", "{{range .State.Health.Log}}{{.ExitCode}}@{{.End.Format \"2006-01-02T15:04:05.999999999Z07:00\"}} {{end}}", db))
	sawFailure := false
	for _, probe := range probes {
		code, end, _ := strings.Cut(probe, "@")
		if code != "0" {
			sawFailure = true
			continue
		}
		if sawFailure {
			healthyAt, err := time.Parse(time.RFC3339Nano, end)
			require.NoError(t, err)
			assert.False(t, appStartedAt.Before(healthyAt), "app started at %s, before db was healthy at %s", appStartedAt, healthyAt)
			break
		}
	}

	t.Run("names carry the project prefix", func(t *testing.T) {
		assert.True(t, dockerOK("network", "inspect", name+"_public"))
		assert.True(t, dockerOK("network", "inspect", name+"_private"))
		assert.True(t, dockerOK("volume", "inspect", name+"_data"))
	})

	t.Run("exec and run exit codes reach the caller", func(t *testing.T) {
		err := r.Run(ctx, p.Exec("app", false, "sh", "-c", "exit 7"), run.Streams{})
		assert.Equal(t, 7, run.ExitCode(err))
		err = r.Run(ctx, p.Run("app", false, "sh", "-c", "exit 5"), run.Streams{})
		assert.Equal(t, 5, run.ExitCode(err))
		out, err := run.Output(ctx, r, p.Exec("db", false, "psql", "-U", "postgres", "-tAc", "SELECT 1"))
		require.NoError(t, err)
		assert.Equal(t, "1", strings.TrimSpace(string(out)))
	})

	t.Run("restart touches only SERVICE", func(t *testing.T) {
		before := docker(t, "inspect", "-f", "{{.State.StartedAt}}", app)
		dbBefore := docker(t, "inspect", "-f", "{{.State.StartedAt}}", db)
		require.NoError(t, r.Run(ctx, p.Restart("db"), run.Streams{}))
		assert.Equal(t, before, docker(t, "inspect", "-f", "{{.State.StartedAt}}", app))
		assert.NotEqual(t, dbBefore, docker(t, "inspect", "-f", "{{.State.StartedAt}}", db))
	})

	t.Run("down, up and rm are scoped to SERVICE", func(t *testing.T) {
		require.NoError(t, r.Run(ctx, p.Down("app"), run.Streams{}))
		assert.Empty(t, containerOf(t, p, "app"))
		assert.Equal(t, "running", docker(t, "inspect", "-f", "{{.State.Status}}", containerOf(t, p, "db")))
		require.NoError(t, r.Run(ctx, p.Up("app"), run.Streams{}))
		assert.NotEmpty(t, containerOf(t, p, "app"))
		require.NoError(t, r.Run(ctx, p.Stop("app"), run.Streams{}))
		require.NoError(t, r.Run(ctx, p.Rm("app"), run.Streams{}))
		assert.Empty(t, containerOf(t, p, "app"))
		assert.NotEmpty(t, containerOf(t, p, "db"))
	})

	t.Run("volumes lists SERVICE's mounts", func(t *testing.T) {
		var out strings.Builder
		require.NoError(t, Volumes(ctx, r, p, "db", &out))
		assert.Contains(t, out.String(), name+"_data")
		assert.Contains(t, out.String(), "/var/lib/postgresql/data")
	})

	t.Run("ports and mem list the stack's containers", func(t *testing.T) {
		for _, c := range []run.Command{p.Ports(), p.Mem()} {
			out, err := run.Output(ctx, r, c)
			require.NoError(t, err, c.String())
			assert.Contains(t, string(out), name+"-db-1", c.String())
		}
	})

	t.Run("check-config names the invalid file", func(t *testing.T) {
		bad := filepath.Join(root, "services", "zz", "docker-compose.zz.yml")
		require.NoError(t, os.MkdirAll(filepath.Dir(bad), 0o755))
		require.NoError(t, os.WriteFile(bad, []byte("services:\n  zz:\n    image: x\n    ports: 12\n"), 0o644))
		defer os.RemoveAll(filepath.Dir(bad))
		broken, err := Open(root, nil)
		require.NoError(t, err)
		broken.Dir = root
		err = CheckConfig(ctx, r, broken)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "services/zz/docker-compose.zz.yml")
	})

	t.Run("down-everything removes volumes only after confirmation", func(t *testing.T) {
		declined := errors.New("declined")
		err := DownEverything(ctx, r, p, func(string) error { return declined }, run.Streams{})
		require.ErrorIs(t, err, declined)
		require.Error(t, DownEverything(ctx, r, p, nil, run.Streams{}), "no way to ask: no")
		assert.True(t, dockerOK("volume", "inspect", name+"_data"))
		assert.NotEmpty(t, containerOf(t, p, "db"))

		require.NoError(t, DownEverything(ctx, r, p, func(string) error { return nil }, run.Streams{}))
		assert.False(t, dockerOK("volume", "inspect", name+"_data"))
		assert.False(t, dockerOK("network", "inspect", name+"_public"))
	})
}
