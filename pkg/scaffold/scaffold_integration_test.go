package scaffold

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
)

const appService = `services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    volumes: ["data:/data"]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
networks:
  private:
volumes:
  data:
`

// A team's stack in its own repository: scaffolded, then run with nothing
// but its own go.mod, magefile and `go tool mage`, here and on a server,
// the backup program built from the version of selfhosted it requires.
func TestIntegrationAStackInItsOwnRepository(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "git")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "the backup repository lives in /var/backups/selfhosted")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "our-stack")
	require.NoError(t, Create(ctx, dir, Options{Skeleton: true, Replace: testenv.ModuleDir(t), Environ: append(os.Environ(), testenv.GitEnv...)}))
	err := Create(ctx, dir, Options{Skeleton: true, Replace: testenv.ModuleDir(t)})
	var notEmpty *NotEmptyError
	require.ErrorAs(t, err, &notEmpty, "a folder that is not empty is refused")

	project := fmt.Sprintf("own%d", time.Now().UnixNano()%1e9)
	resticRepo := filepath.Join("/var/backups/selfhosted", project)
	t.Cleanup(func() {
		os.RemoveAll(resticRepo)
		exec.Command("docker", "compose", "--project-name", project, "down", "--volumes", "--remove-orphans", "--timeout", "1").Run()
	})
	testenv.WriteFiles(t, dir, map[string]string{
		"services/app/docker-compose.app.yml": appService,
		".env.example": strings.NewReplacer("COMPOSE_PROJECT_NAME=stack", "COMPOSE_PROJECT_NAME="+project,
			"RESTIC_IMAGE=restic/restic:0.17.3", "RESTIC_IMAGE="+testenv.DebianImage, "RESTIC_REPOSITORY=", "RESTIC_REPOSITORY="+resticRepo).Replace(skeletonEnv) +
			"# No backup when the container starts.\nBACKUP_ON_START=false\n",
	})
	mage := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", append([]string{"tool", "mage"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), testenv.GitEnv...), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go tool mage %v:\n%s", args, out)
		return string(out)
	}
	assert.Contains(t, mage(nil, "-l"), "deploy")
	mage(nil, "up") // creates .env (generated secrets), renders, starts
	mage(nil, "render")
	assert.Contains(t, mage(nil, "lint"), "0 error(s)")
	assert.Contains(t, testenv.Docker(t, "ps", "--filter", "label=com.docker.compose.project="+project, "--format", "{{.Names}}"), project+"-app-1")
	mage([]string{"CONFIRM=yes"}, "down-everything")

	// Deploy from this repository to a server, and back up there.
	origin := t.TempDir()
	testenv.Git(t, origin, "init", "-q", "--bare")
	testenv.Git(t, dir, "add", ".")
	testenv.Git(t, dir, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "our stack")
	testenv.Git(t, dir, "remote", "add", "origin", origin)
	testenv.Git(t, dir, "push", "-q", "-u", "origin", "HEAD")
	s := testenv.StartSSHD(t)
	server := []string{"SERVER=" + s.Alias, "SSH_CONFIG=" + s.Config, "DIR=" + filepath.Join(t.TempDir(), "srv"), "SSH_AUTH_SOCK="}
	srv := server[2][len("DIR="):]
	out := mage(server, "deploy")
	assert.Contains(t, out, "is live")
	assert.FileExists(t, filepath.Join(srv, "services/backup/bin/selfhosted-backup"), "the backup program, built for the server and uploaded")
	mage(server, "init")
	mage(server, "backup")
	assert.Contains(t, mage(server, "list-snapshots"), "one-shot")
}
