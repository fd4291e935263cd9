package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

// stackOf writes compose files (by service folder) and a .env into a temp
// repository and loads it.
func stackOf(t *testing.T, files map[string]string) *Stack {
	t.Helper()
	stack := map[string]string{}
	for name, content := range files {
		stack[filepath.Join("services", name, "docker-compose."+name+".yml")] = content
	}
	return stackFiles(t, stack)
}

// stackFiles writes files (path relative to the stack root → content) and
// a .env into a temp repository and loads it.
func stackFiles(t *testing.T, files map[string]string) *Stack {
	t.Helper()
	root := t.TempDir()
	stack := map[string]string{".env": "COMPOSE_PROJECT_NAME=lint\n"}
	for name, content := range files {
		stack[name] = content
	}
	testenv.WriteFiles(t, root, stack)
	s, err := Load(context.Background(), root, nil)
	require.NoError(t, err)
	return s
}

// goodSSO is Authelia, defining the authelia@docker forwardAuth middleware.
const goodSSO = `
services:
  authelia:
    image: authelia/authelia:4.38
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "true"]}
    labels:
      traefik.enable: "true"
      traefik.http.routers.authelia.rule: Host(` + "`auth.example.com`" + `)
      traefik.http.routers.authelia.entrypoints: websecure
      traefik.http.routers.authelia.tls.certresolver: letsencrypt
      traefik.http.services.authelia.loadbalancer.server.port: "9091"
      selfhosted.lint.no-auth: "true"
      traefik.http.middlewares.authelia.forwardAuth.address: http://authelia:9091/api/authz/forward-auth
networks:
  public:
`

const goodApp = `
services:
  app:
    image: example/app:1.0
    restart: unless-stopped
    networks: [public, private]
    healthcheck: {test: ["CMD", "true"]}
    depends_on:
      db: {condition: service_healthy}
    labels:
      traefik.enable: "true"
      traefik.http.routers.app.rule: Host(` + "`app.example.com`" + `)
      traefik.http.routers.app.entrypoints: websecure
      traefik.http.routers.app.tls.certresolver: letsencrypt
      traefik.http.routers.app.middlewares: authelia@docker
      traefik.http.services.app.loadbalancer.server.port: "8080"
networks:
  public:
  private:
`

const goodDB = `
services:
  db:
    image: example/db:1.0
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
networks:
  private:
`

func messages(findings []Finding) string {
	var lines []string
	for _, f := range findings {
		lines = append(lines, f.String())
	}
	return strings.Join(lines, "\n")
}

func TestLintCleanStack(t *testing.T) {
	s := stackOf(t, map[string]string{"app": goodApp, "db": goodDB, "sso": goodSSO})
	assert.Empty(t, Lint(s), messages(Lint(s)))
}

func TestLintRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		service string
		rule    string
		sev     Severity
		says    string
	}{
		{"restart policy", map[string]string{"db": strings.Replace(goodDB, "restart: unless-stopped", "", 1)}, "db", RuleRestart, Error, "no restart policy"},
		{"explicit networks", map[string]string{"db": strings.Replace(goodDB, "networks: [private]", "", 1)}, "db", RuleNetworks, Error, "no explicit networks"},
		{"router rule", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "traefik.http.routers.app.rule", "traefik.http.routers.app.x", 1)}, "app", RuleRouterRule, Error, "has no rule"},
		{"entrypoint", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "traefik.http.routers.app.entrypoints: websecure", "", 1)}, "app", RuleRouterEntrypoint, Error, "no entrypoint"},
		{"cert resolver", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "traefik.http.routers.app.tls.certresolver: letsencrypt", "", 1)}, "app", RuleRouterTLS, Error, "no TLS certificate resolver"},
		{"router not behind SSO", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "authelia@docker", "headers@docker", 1), "sso": strings.Replace(goodSSO, "traefik.http.middlewares.authelia.forwardAuth.address: http://authelia:9091/api/authz/forward-auth", "traefik.http.middlewares.headers.headers.frameDeny: \"true\"", 1)}, "app", RuleRouterSSO, Error, "not behind SSO"},
		{"load-balancer port", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "traefik.http.services.app.loadbalancer.server.port: \"8080\"", "", 1)}, "app", RuleLoadBalancerPort, Error, "no load-balancer port"},
		{"public network", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "networks: [public, private]", "networks: [private]", 1)}, "app", RulePublicNetwork, Error, "not on the public network"},
		{"healthcheck", map[string]string{"db": strings.Replace(goodDB, `healthcheck: {test: ["CMD", "true"]}`, "", 1)}, "db", RuleHealthcheck, Warning, "no healthcheck"},
		{"service_healthy", map[string]string{"db": goodDB, "app": strings.Replace(goodApp, "condition: service_healthy", "condition: service_started", 1)}, "app", RuleDependsOnHealthy, Warning, "does not wait for it to be healthy"},
		{"missing dependency", map[string]string{"app": goodApp}, "app", RuleDependsOnMissing, Error, "not a service of the stack"},
		{"external network", map[string]string{"db": goodDB + "    external: true\n"}, "", RuleExternalNetwork, Warning, "network private is external"},
		{"traefik network", map[string]string{"proxy": `
services:
  proxy:
    image: traefik:v3.1
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "traefik", "healthcheck"]}
    command: ["--providers.docker.network=public"]
networks:
  public:
`}, "proxy", RuleTraefikNetwork, Error, "Compose names the public network lint_public"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings := Lint(stackOf(t, tc.files))
			var hit *Finding
			for i, f := range findings {
				if strings.Contains(f.Message, tc.says) {
					hit = &findings[i]
				}
			}
			require.NotNil(t, hit, "want a finding saying %q, got:\n%s", tc.says, messages(findings))
			assert.Equal(t, tc.service, hit.Service)
			assert.Equal(t, tc.rule, hit.Rule)
			assert.Equal(t, tc.sev, hit.Severity)
			assert.NotEmpty(t, hit.Fix)
			assert.Contains(t, hit.File, "services/")
		})
	}
}

func TestLintOptOutLabels(t *testing.T) {
	noAuth := strings.Replace(goodApp, "traefik.http.routers.app.middlewares: authelia@docker", "selfhosted.lint.no-auth: \"true\"", 1)
	assert.Empty(t, Lint(stackOf(t, map[string]string{"db": goodDB, "app": noAuth})))
	noHealth := strings.Replace(goodDB, `healthcheck: {test: ["CMD", "true"]}`, "labels: {selfhosted.lint.no-healthcheck: \"true\"}", 1)
	assert.Empty(t, Lint(stackOf(t, map[string]string{"db": noHealth})))
}

func TestLintReportsDependencyCycle(t *testing.T) {
	cyclic := `
services:
  a:
    image: x
    restart: always
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
    depends_on: {b: {condition: service_healthy}}
  b:
    image: x
    restart: always
    networks: [private]
    healthcheck: {test: ["CMD", "true"]}
    depends_on: {a: {condition: service_healthy}}
networks:
  private:
`
	findings := Lint(stackOf(t, map[string]string{"a": cyclic}))
	assert.Contains(t, messages(findings), "depends_on cycle: a → b → a")
}

func TestLoadRequiresProjectName(t *testing.T) {
	root := t.TempDir()
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "services", "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "services", "a", "docker-compose.a.yml"), []byte(goodDB), 0o644))
	_, err := Load(context.Background(), root, nil)
	var missing *MissingProjectNameError
	require.ErrorAs(t, err, &missing)
	assert.True(t, missing.NoFile)
	assert.ErrorContains(t, err, ".env does not exist, so COMPOSE_PROJECT_NAME is not set")

	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("DOMAIN=example.com\n"), 0o600))
	_, err = Load(context.Background(), root, nil)
	require.ErrorAs(t, err, &missing)
	assert.False(t, missing.NoFile)
	assert.ErrorContains(t, err, "COMPOSE_PROJECT_NAME is not set in ")
	assert.ErrorContains(t, err, "_public")
}

func TestFilesAreSortedAndRelative(t *testing.T) {
	s := stackOf(t, map[string]string{"b": goodDB, "a": strings.ReplaceAll(goodDB, "db:", "other:")})
	assert.Equal(t, []string{"services/a/docker-compose.a.yml", "services/b/docker-compose.b.yml"}, s.Project.Files)
	assert.Equal(t, "lint", s.Project.Name)
	assert.Equal(t, "services/b/docker-compose.b.yml", s.Sources["db"])
}

func TestLintTraefikNetworkUsesTheNetworksRealName(t *testing.T) {
	proxy := func(network, decl string) string {
		return `
services:
  proxy:
    image: traefik:v3.1
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "traefik", "healthcheck"]}
    command: ["--providers.docker.network=` + network + `"]
networks:
  public:` + decl + "\n"
	}
	for _, tc := range []struct {
		name, network, decl string
		ok                  bool
	}{
		{"Compose prefixes the project name", "lint_public", "", true},
		{"an unprefixed name is wrong", "public", "", false},
		{"an external network keeps its name", "public", " {external: true}", true},
		{"a network named by name: keeps that name", "web", " {name: web}", true},
		{"an external network with another name", "web", " {external: true, name: web}", true},
		{"the project name is wrong for an external network", "lint_public", " {external: true}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings := lintTraefikNetwork(stackOf(t, map[string]string{"proxy": proxy(tc.network, tc.decl)}))
			assert.Equal(t, tc.ok, len(findings) == 0, messages(findings))
		})
	}
}
