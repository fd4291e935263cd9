package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// A stack whose services show what converging does: web mounts a file and
// a folder of the tree and is healthy only while conf/healthy exists;
// other mounts a file that never changes; db mounts nothing and reads FOO
// from .env.
const (
	webService = `services:
  web:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    volumes:
      - ./services/web/site.conf:/site.conf:ro
      - ./services/web/conf:/conf:ro
    healthcheck: {test: ["CMD", "test", "-f", "/conf/healthy"], interval: 1s, retries: 2}
networks:
  private:
`
	otherService = `services:
  other:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    volumes: ["./services/other/o.conf:/o.conf:ro"]
    healthcheck: {test: ["CMD", "test", "-f", "/o.conf"], interval: 1s}
networks:
  private:
`
	dbService = `services:
  db:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    environment:
      FOO: ${FOO}
    healthcheck: {test: ["CMD", "true"], interval: 1s}
networks:
  private:
`
)

// fixture is a stack repository, a loopback "server" and a project name of
// their own.
type fixture struct {
	t       *testing.T
	repo    string
	dir     string
	project string
	sshd    *testenv.SSHD
	client  *remote.Client
	out     *syncBuffer
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "git")
	f := &fixture{t: t, repo: t.TempDir(), project: fmt.Sprintf("conv%d", time.Now().UnixNano()%1e9), out: &syncBuffer{}}
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "srv", "stack")
	}
	f.dir = dir
	testenv.StackRepo(t, f.repo, map[string]string{
		".gitignore":                              ".env\n",
		".env.example":                            "# The project.\nCOMPOSE_PROJECT_NAME=demo\n# A value db reads.\nFOO=\n",
		".env":                                    "COMPOSE_PROJECT_NAME=" + f.project + "\nFOO=one\n",
		"services/web/docker-compose.web.yml":     webService,
		"services/web/site.conf":                  "site v0\n",
		"services/web/conf/page":                  "page v0\n",
		"services/web/conf/healthy":               "yes\n",
		"services/other/docker-compose.other.yml": otherService,
		"services/other/o.conf":                   "other v0\n",
		"services/db/docker-compose.db.yml":       dbService,
	})
	t.Cleanup(func() {
		exec.Command("docker", "compose", "--project-name", f.project, "down", "--volumes", "--remove-orphans", "--timeout", "1").Run()
		if t.Failed() {
			t.Logf("output:\n%s", f.out.Log())
		}
	})
	f.sshd = testenv.StartSSHD(t)
	c, err := remote.Connect(context.Background(), f.sshd.Alias, remote.ConnectOptions{Config: f.sshd.Config})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	f.client = c
	return f
}

func (f *fixture) stack() *Stack {
	f.t.Helper()
	s, err := Open(f.repo, Options{Server: f.client, Dir: f.dir, Out: f.out})
	require.NoError(f.t, err)
	return s
}

// commit writes files (an empty content deletes) and commits them.
func (f *fixture) commit(files map[string]string) {
	f.t.Helper()
	for name, content := range files {
		path := filepath.Join(f.repo, name)
		if content == "" {
			require.NoError(f.t, os.RemoveAll(path))
			continue
		}
		require.NoError(f.t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(f.t, os.WriteFile(path, []byte(content), 0o644))
	}
	testenv.Git(f.t, f.repo, "add", "-A")
	testenv.Git(f.t, f.repo, "commit", "-q", "-m", "change")
}

func (f *fixture) deploy(o DeployOptions) (*DeployResult, error) {
	f.t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 40 * time.Second
	}
	return f.stack().Deploy(context.Background(), o)
}

// container is a service's container as the Engine sees it.
type container struct {
	ID      string
	Started string
	Health  string
}

func (f *fixture) container(service string) container {
	f.t.Helper()
	out := docker(f.t, "ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project="+f.project, "--filter", "label=com.docker.compose.service="+service)
	ids := strings.Fields(out)
	require.Len(f.t, ids, 1, "containers of %s", service)
	fields := strings.Fields(docker(f.t, "inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", ids[0]))
	return container{ID: fields[0], Started: fields[1], Health: fields[2]}
}

// read returns a file as a service's running container sees it.
func (f *fixture) read(service, path string) string {
	f.t.Helper()
	out, err := exec.Command("docker", "exec", f.project+"-"+service+"-1", "cat", path).CombinedOutput()
	require.NoError(f.t, err, "%s", out)
	return string(out)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// releases lists the release folders on the "server".
func (f *fixture) releases() []string {
	f.t.Helper()
	entries, err := os.ReadDir(f.dir + ".releases")
	require.NoError(f.t, err)
	var out []string
	for _, e := range entries {
		if e.IsDir() && remote.ValidReleaseID(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func (f *fixture) current() string {
	f.t.Helper()
	target, err := os.Readlink(f.dir)
	require.NoError(f.t, err)
	return filepath.Base(target)
}

type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	log   bytes.Buffer // each write with the time since the first, for a failing test's log
	start time.Time
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() {
		s.start = time.Now()
	}
	fmt.Fprintf(&s.log, "%6.2fs %s", time.Since(s.start).Seconds(), p)
	return s.b.Write(p)
}

func (s *syncBuffer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func gitOut(t *testing.T, dir string, args ...string) string { return testenv.Git(t, dir, args...) }
