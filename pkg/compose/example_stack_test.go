package compose

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

	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// TestExampleStackLintsClean renders the repository's services/ into a
// temporary copy and lints it: the example stack must stay clean.
func TestExampleStackLintsClean(t *testing.T) {
	root := exampleStack(t)
	_, err := secrets.Fill(context.Background(), root, run.Local{})
	require.NoError(t, err)
	_, err = render.Tree(context.Background(), render.Options{Root: root, CloudflareIPs: render.EmbeddedCloudflareIPs(), SkipGitignore: true})
	require.NoError(t, err)
	s, err := Load(context.Background(), root, nil)
	require.NoError(t, err)
	findings := Lint(s)
	assert.Empty(t, findings, messages(findings))
}

// exampleStack copies the repository's services/ and .env.example into a
// temporary stack root.
func exampleStack(t *testing.T) string {
	t.Helper()
	repo := filepath.Join("..", "..")
	root := t.TempDir()
	require.NoError(t, provision.CopyTree(filepath.Join(repo, "services"), filepath.Join(root, "services")))
	example, err := os.ReadFile(filepath.Join(repo, ".env.example"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env.example"), example, 0o644))
	// The stack's .env must win over a COMPOSE_PROJECT_NAME of the test's
	// environment; t.Setenv restores it afterwards.
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	os.Unsetenv("COMPOSE_PROJECT_NAME")
	return root
}

// TestIntegrationExampleStackFirstRun follows a fresh clone's first
// `go tool mage up` up to what this machine can do without an image
// registry: .env is created from .env.example with generated secrets, the
// templates render, and `docker compose config` accepts the whole stack.
func TestIntegrationExampleStackFirstRun(t *testing.T) {
	testenv.RequireCompose(t)
	root := exampleStack(t)
	ctx := context.Background()

	var out strings.Builder
	created, err := secrets.EnsureEnv(ctx, root, run.Local{}, &out)
	require.NoError(t, err)
	require.True(t, created)
	_, err = render.Tree(ctx, render.Options{Root: root, CloudflareIPs: render.EmbeddedCloudflareIPs(), SkipGitignore: true})
	require.NoError(t, err)

	p, err := Open(root, nil)
	require.NoError(t, err)
	p.Dir = root
	require.NoError(t, CheckConfig(ctx, run.Local{}, p))
	cfg, err := run.Output(ctx, run.Local{}, p.command("config"))
	require.NoError(t, err)
	for _, svc := range []string{"traefik", "authelia", "lldap", "mariadb", "redis", "uptime-kuma", "whoami"} {
		assert.Contains(t, string(cfg), "  "+svc+":", "service %s", svc)
	}
	assert.Contains(t, string(cfg), "selfhosted_public")
	s, err := Load(ctx, root, nil)
	require.NoError(t, err)
	assert.Empty(t, Lint(s), messages(Lint(s)))
}

// TestIntegrationFirstRunUp runs `go tool mage up` on a fresh clone of a
// stack built from the local test image: with no manual step, .env is
// created from .env.example with generated secrets, templates are
// rendered, and the stack starts on the local Docker.
func TestIntegrationFirstRunUp(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	module, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	root := t.TempDir()
	project := fmt.Sprintf("firstrun%d", time.Now().UnixNano()%1e9)
	files := map[string]string{
		".env.example": "# The project name.\nCOMPOSE_PROJECT_NAME=" + project + "\n# The cache password.\n# secret: 24\nCACHE_PASSWORD=\n",
		"services/cache/docker-compose.cache.yml.j2": `services:
  cache:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis", "--requirepass", "{{ env.CACHE_PASSWORD }}"]
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "redis-cli", "-a", "{{ env.CACHE_PASSWORD }}", "ping"], interval: 1s}
networks:
  private:
`,
	}
	testenv.WriteFiles(t, root, files)
	t.Cleanup(func() {
		exec.Command("docker", "compose", "--project-name", project, "down", "--volumes").Run()
	})
	cmd := exec.Command("go", "tool", "mage", "-w", root, "up")
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "SERVER=", "COMPOSE_PROJECT_NAME=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "Created .env from .env.example")
	assert.Contains(t, string(out), "CACHE_PASSWORD")

	env, err := os.ReadFile(filepath.Join(root, ".env"))
	require.NoError(t, err)
	password := strings.TrimSpace(strings.Split(strings.Split(string(env), "CACHE_PASSWORD=")[1], "\n")[0])
	assert.Len(t, password, 24)
	assert.NotContains(t, string(out), password, "secrets are never printed")
	assert.Eventually(t, func() bool {
		status, err := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", project+"-cache-1").Output()
		return err == nil && strings.TrimSpace(string(status)) == "healthy"
	}, 30*time.Second, 200*time.Millisecond, "the cache, started with the generated password, never became healthy")
}
