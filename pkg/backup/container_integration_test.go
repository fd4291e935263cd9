package backup

import (
	"context"
	"fmt"
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

// TestIntegrationBackupContainer runs the real services/backup compose
// service, on the local test image (it has restic) instead of restic's
// image, with the program built for this machine: init, a one-shot backup
// of a Redis service, and the snapshot list.
func TestIntegrationBackupContainer(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "the backup container's repository lives in /var/backups/selfhosted")
	}
	ctx := context.Background()
	module, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	root := t.TempDir()
	name := fmt.Sprintf("backupct%d", time.Now().UnixNano()%1e9)
	repo := filepath.Join("/var/backups/selfhosted", name)
	t.Cleanup(func() { os.RemoveAll(repo) })

	service, err := os.ReadFile(filepath.Join(module, "services", "backup", "docker-compose.backup.yml"))
	require.NoError(t, err)
	files := map[string]string{
		".env": "COMPOSE_PROJECT_NAME=" + name + "\nRESTIC_IMAGE=" + testenv.DebianImage + "\nRESTIC_REPOSITORY=" + repo + "/repo\nRESTIC_PASSWORD=container\n",
		"services/backup/docker-compose.backup.yml": string(service),
		"services/cache/docker-compose.cache.yml": `services:
  redis:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    restart: unless-stopped
    networks: [private]
    volumes: ["redis:/data"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 1s, retries: 30}
    labels:
      selfhosted.backup.dump: redis-cli SAVE
      selfhosted.backup.restore: "true"
networks:
  private:
volumes:
  redis:
`,
	}
	testenv.WriteFiles(t, root, files)
	build := BuildCommand(goarchHere(t), filepath.Join(root, BinaryPath))
	build.Dir = module
	_, err = run.Output(ctx, run.Local{}, build)
	require.NoError(t, err)

	p := openProject(t, root, name)
	t.Cleanup(func() { _ = run.Local{}.Run(ctx, p.DownEverything(), run.Streams{}) })
	require.NoError(t, run.Local{}.Run(ctx, p.UpWait("redis"), run.Streams{}))
	_, err = run.Output(ctx, run.Local{}, p.Exec("redis", "redis-cli", "SET", "k", "v"))
	require.NoError(t, err)

	for _, step := range [][]string{{"init"}, {"once"}} {
		out, err := run.Output(ctx, run.Local{}, p.Run("backup", step...))
		require.NoError(t, err, "%v: %s", step, out)
	}
	out, err := run.Output(ctx, run.Local{}, p.Run("backup", "snapshots"))
	require.NoError(t, err)
	assert.Contains(t, string(out), "one-shot")
	assert.Contains(t, string(out), "project="+name)
	// The dump hook ran inside Redis and the dumps volume is part of the snapshot.
	_, err = os.Stat(filepath.Join(DumpsDir(DefaultVolumesDir, name), "redis.dump"))
	assert.NoError(t, err)
}

func goarchHere(t *testing.T) string {
	out, err := exec.Command("uname", "-m").Output()
	require.NoError(t, err)
	arch, err := GOARCH(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	return arch
}
