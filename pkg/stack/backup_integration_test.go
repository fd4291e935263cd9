package stack

import (
	"context"
	"errors"
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
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

const mariadbService = "services:\n" + testenv.MariaDBService + `networks:
  private:
volumes:
  mysql:
`

// After `down-everything` nothing is left; a restore through the backup
// container on the server needs only the confirmation, and brings the
// rows back. A restore over live data needs FORCE, and says so by type.
func TestIntegrationRestoreAfterADisasterThroughTheBackupContainer(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "the backup container's repository lives in /var/backups/selfhosted")
	}
	module := testenv.ModuleDir(t)
	service, err := os.ReadFile(filepath.Join(module, backup.ComposeFile))
	require.NoError(t, err)
	repo := t.TempDir()
	project := fmt.Sprintf("disaster%d", time.Now().UnixNano()%1e9)
	resticRepo := filepath.Join("/var/backups/selfhosted", project)
	t.Cleanup(func() { os.RemoveAll(resticRepo) })
	testenv.StackRepo(t, repo, map[string]string{
		".gitignore":   ".env\n/services/backup/bin/\n",
		".env.example": "# The project.\nCOMPOSE_PROJECT_NAME=demo\n# The image.\nRESTIC_IMAGE=restic/restic:0.17.3\n",
		".env": "COMPOSE_PROJECT_NAME=" + project + "\nRESTIC_IMAGE=" + testenv.DebianImage + "\nRESTIC_REPOSITORY=" + resticRepo +
			"\nRESTIC_PASSWORD=disaster-secret\nBACKUP_ON_START=false\n",
		backup.ComposeFile:                  string(service),
		"services/db/docker-compose.db.yml": mariadbService,
	})
	sshd := testenv.StartSSHD(t)
	client, err := remote.Connect(context.Background(), sshd.Alias, remote.ConnectOptions{Config: sshd.Config})
	require.NoError(t, err)
	defer client.Close()
	out := &syncBuffer{}
	s, err := Open(repo, Options{Server: client, Dir: filepath.Join(t.TempDir(), "srv"), Out: out})
	require.NoError(t, err)
	t.Cleanup(func() {
		exec.Command("docker", "compose", "--project-name", project, "down", "--volumes", "--remove-orphans", "--timeout", "1").Run()
		if t.Failed() {
			t.Logf("output:\n%s", out.Log())
		}
	})
	ctx := context.Background()
	_, err = s.Deploy(ctx, DeployOptions{Timeout: time.Minute})
	require.NoError(t, err)
	mariadb := func(sql string) string {
		return strings.TrimSpace(testenv.Docker(t, "exec", project+"-mariadb-1", "mariadb", "-uroot", "-N", "-e", sql))
	}
	mariadb("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t SELECT seq FROM app.seq_1_to_10450")

	const cacheDir = "/var/cache/selfhosted/restic"
	cachedBefore, _ := os.ReadDir(cacheDir)
	require.NoError(t, s.InitRepository(ctx))
	require.NoError(t, s.Backup(ctx))
	// restic's cache outlives the one-shot container: a folder per repository.
	cachedAfter, err := os.ReadDir(cacheDir)
	require.NoError(t, err, "the backup container keeps restic's cache on the host")
	assert.Greater(t, len(cachedAfter), len(cachedBefore), "this repository's cache is kept")
	require.NoError(t, s.Drill(ctx, ""))
	assert.Contains(t, out.String(), "counts match for mariadb")

	// The disaster: every container and volume is gone.
	require.NoError(t, s.Runner().Run(ctx, s.Project.DownEverything(), s.streams()))
	yes := func(string) error { return nil }
	require.NoError(t, s.Restore(ctx, RestoreOptions{Confirm: yes}), "no FORCE after a disaster")
	assert.Equal(t, "10450", mariadb("SELECT COUNT(*) FROM app.t"))

	// Over live data, the refusal comes back typed, and nothing changed.
	mariadb("INSERT INTO app.t VALUES (20000)")
	err = s.Restore(ctx, RestoreOptions{Confirm: yes})
	require.True(t, errors.Is(err, backup.ErrExistingState), "%v", err)
	assert.Equal(t, "10451", mariadb("SELECT COUNT(*) FROM app.t"))
	require.NoError(t, s.Restore(ctx, RestoreOptions{Confirm: yes, Force: true}))
	assert.Equal(t, "10450", mariadb("SELECT COUNT(*) FROM app.t"))

	// An unknown snapshot comes back typed too; no secret in any of it.
	err = s.Restore(ctx, RestoreOptions{Confirm: yes, Force: true, Snapshot: "deadbeef"})
	require.True(t, errors.Is(err, backup.ErrNoSnapshot), "%v", err)
	err = s.Drill(ctx, "deadbeef")
	require.True(t, errors.Is(err, backup.ErrNoSnapshot), "%v", err)
	assert.NotContains(t, out.String(), "disaster-secret")
	assert.NotContains(t, err.Error(), "disaster-secret")

	// Refused without a way to ask.
	require.ErrorIs(t, s.Restore(ctx, RestoreOptions{}), ErrNotConfirmed)
}
