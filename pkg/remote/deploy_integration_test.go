package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/render"
)

const deployDB = `services:
  db:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    restart: unless-stopped
    networks: [private]
    volumes: ["data:/data"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 1s, retries: 30}
    labels:
      selfhosted.backup.dump: redis-cli SAVE
      selfhosted.backup.restore: "true"
networks:
  private:
volumes:
  data:
`

const deployApp = `services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    depends_on:
      db: {condition: service_healthy}
networks:
  private:
`

func sh(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// TestIntegrationDeployEndToEnd runs `go tool mage deploy` from a scratch
// stack repository onto the loopback sshd, whose Docker is this machine's.
func TestIntegrationDeployEndToEnd(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "git")
	s := testenv.StartSSHD(t)
	module, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)

	repo := t.TempDir()
	project := fmt.Sprintf("deployit%d", time.Now().UnixNano()%1e9)
	backupService, err := os.ReadFile(filepath.Join(module, "services", "backup", "docker-compose.backup.yml"))
	require.NoError(t, err)
	resticRepo := filepath.Join("/var/backups/selfhosted", project)
	t.Cleanup(func() { os.RemoveAll(resticRepo) })
	files := map[string]string{
		// hello.sh is rendered from its template: .gitignore lists it, as render keeps it.
		".gitignore":   ".env\n/services/backup/bin/\n/services/app/hello.sh\n",
		".env.example": "# The project name.\nCOMPOSE_PROJECT_NAME=demo\n# The backup image.\nRESTIC_IMAGE=restic/restic:0.17.3\n",
		".env": "COMPOSE_PROJECT_NAME=" + project + "\nRESTIC_IMAGE=" + testenv.DebianImage +
			"\nRESTIC_REPOSITORY=" + resticRepo + "\nRESTIC_PASSWORD=deploy\n",
		"services/backup/docker-compose.backup.yml": string(backupService),
		"services/db/docker-compose.db.yml":         deployDB,
		"services/app/docker-compose.app.yml":       deployApp,
		"services/app/hello.sh.j2":                  "#!/bin/sh\necho hello from {{ env.COMPOSE_PROJECT_NAME }}\n",
	}
	testenv.StackRepo(t, repo, files)
	require.NoError(t, os.Chmod(filepath.Join(repo, "services/app/hello.sh.j2"), 0o755))
	testenv.Git(t, repo, "commit", "-q", "-am", "executable template")
	// Render once so that .gitignore holds render's managed block before the deploy checks git.
	_, err = render.Tree(context.Background(), render.Options{Root: repo})
	require.NoError(t, err)
	testenv.Git(t, repo, "commit", "-q", "-am", "rendered paths ignored")
	git := testenv.GitEnv

	dir := filepath.Join(t.TempDir(), "srv", "stack")
	env := append(git, "SERVER="+s.Alias, "SSH_CONFIG="+s.Config, "DIR="+dir, "SSH_AUTH_SOCK=")
	t.Cleanup(func() {
		exec.Command("docker", "compose", "--project-name", project, "down", "--volumes", "--remove-orphans").Run()
	})
	out := sh(t, module, env, "go", "tool", "mage", "-w", repo, "deploy")
	assert.Contains(t, out, "push-files:")

	// The stack runs on the "server", from DIR.
	ps := sh(t, repo, nil, "docker", "ps", "--filter", "label=com.docker.compose.project="+project, "--format", "{{.Names}} {{.Status}}")
	assert.Contains(t, ps, project+"-db-1")
	assert.Contains(t, ps, project+"-app-1")
	hello := sh(t, repo, nil, filepath.Join(dir, "services/app/hello.sh"))
	assert.Equal(t, "hello from "+project+"\n", hello)
	target, err := os.Readlink(dir)
	require.NoError(t, err)
	assert.Contains(t, target, dir+".releases/")

	// Every compose verb runs remotely: exit codes come back.
	cmd := exec.Command("go", "tool", "mage", "-w", repo, "exec")
	cmd.Dir = module
	cmd.Env = append(os.Environ(), append(env, "SERVICE=app", "COMMAND=sh -c 'exit 9'")...)
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 9, ee.ExitCode())

	// Backups run on the "server" in the backup container, whose program
	// deploy built for the server's architecture and uploaded.
	for _, target := range []string{"init", "backup", "list-snapshots"} {
		out = sh(t, module, env, "go", "tool", "mage", "-w", repo, target)
	}
	assert.Contains(t, out, "one-shot", "list-snapshots shows the snapshot taken through SSH")
	out = sh(t, module, env, "go", "tool", "mage", "-w", repo, "restore-drill")
	assert.Contains(t, out, "re-hydrated from their dumps (db)", "the drill ran in the backup container on the server")

	// A dry run changes nothing and says so.
	out = sh(t, module, append(env, "DRY_RUN=1"), "go", "tool", "mage", "-w", repo, "push-files")
	assert.Contains(t, out, "0 to upload")
}

// kill -9 of `go tool mage push-files` in the middle of an upload leaves no
// local copy of the upload, and the next push leaves nothing on the server.
func TestIntegrationKilledPushLeavesNothingBehind(t *testing.T) {
	testenv.RequireCommand(t, "git")
	s := testenv.StartSSHD(t)
	module := testenv.ModuleDir(t)
	repo := t.TempDir()
	testenv.StackRepo(t, repo, map[string]string{
		".gitignore":                          ".env\n",
		".env":                                "COMPOSE_PROJECT_NAME=killed\n",
		"services/app/docker-compose.app.yml": "services: {app: {image: x}}\n",
	})
	for i := 0; i < 40; i++ {
		randomFile(t, filepath.Join(repo, "services", "app", "data", fmt.Sprintf("%02d.bin", i)), 1<<20)
	}
	dir := filepath.Join(serverDir(t), "stack")
	tmp := t.TempDir()
	env := append(os.Environ(), "SERVER="+s.Alias, "SSH_CONFIG="+s.Config, "DIR="+dir, "SSH_AUTH_SOCK=", "TMPDIR="+tmp)
	// Compile the targets first: the go tool's own temporary build files are not the push's.
	warm := exec.Command("go", "tool", "mage", "-l")
	warm.Dir, warm.Env = module, env
	out, err := warm.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.RemoveAll(tmp))
	require.NoError(t, os.MkdirAll(tmp, 0o700))

	cmd := exec.Command("go", "tool", "mage", "-w", repo, "push-files")
	cmd.Dir, cmd.Env = module, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	started := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		for {
			n, err := stdout.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "to upload") {
				close(started)
				io.Copy(io.Discard, stdout)
				return
			}
			if err != nil {
				close(started)
				return
			}
		}
	}()
	<-started
	time.Sleep(300 * time.Millisecond) // in the middle of 40 MB
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()

	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var left []string
	for _, e := range entries {
		// Mage runs `go build` on every call: the go tool's own work folder
		// is not the push's.
		if !strings.HasPrefix(e.Name(), "go-build") {
			left = append(left, e.Name())
		}
	}
	assert.Empty(t, left, "no local temporary copy of the upload survives kill -9")

	again := exec.Command("go", "tool", "mage", "-w", repo, "push-files")
	again.Dir, again.Env = module, env
	out, err = again.CombinedOutput()
	require.NoError(t, err, "the next push is not blocked by the killed one: %s", out)
	assert.Empty(t, leftovers(t, dir), "the next push removes what the killed one left")
	sameTree(t, localTree(t, repo), serverTree(t, dir))
}
