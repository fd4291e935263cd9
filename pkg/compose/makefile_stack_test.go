package compose

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/render"
)

// testdata/makefile-stack is a 13-role stack as it ran under a Makefile:
// Traefik v2 with --configFile and rendered static and dynamic files,
// Authelia, LLDAP, MySQL, Redis, Ghost, Portainer, AdGuard, Uptime Kuma,
// Flame, Dozzle, Whoogle, restic. Most routers use sso-proxy@file (or the
// admin@file chain around it); the blog and the status page are public,
// the SSO portal is Authelia's own router.

// movedStackEnv is the .env the stack ran with (no secret in it).
const movedStackEnv = `COMPOSE_PROJECT_NAME=oldstack
DOMAIN=example.org
ACME_EMAIL=admin@example.org
TZ=Europe/Paris
LLDAP_BASE_DN=dc=example,dc=org
LLDAP_LDAP_USER_PASS=not-a-secret-1
LLDAP_JWT_SECRET=not-a-secret-2
AUTHELIA_JWT_SECRET=not-a-secret-3
AUTHELIA_SESSION_SECRET=not-a-secret-4
AUTHELIA_STORAGE_ENCRYPTION_KEY=not-a-secret-5
MYSQL_ROOT_PASSWORD=not-a-secret-6
GHOST_DB_PASSWORD=not-a-secret-7
FLAME_PASSWORD=not-a-secret-8
RESTIC_REPOSITORY=/srv/restic
RESTIC_PASSWORD=not-a-secret-9
`

// movedStackErrors are the stack's real errors: two public routers, a
// database without a dump, a backup job without a restart policy.
var movedStackErrors = []string{
	"backup-dump services/database/docker-compose.mysql.yml mysql mysql",
	"restart services/backup/docker-compose.restic.yml restic ",
	"router-sso services/blog/docker-compose.ghost.yml ghost blog",
	"router-sso services/status-page/docker-compose.uptime-kuma.yml uptime-kuma status",
}

// wikiCompose adds a service whose router nothing protects.
const wikiCompose = `services:
  wiki:
    image: requarks/wiki:2
    restart: unless-stopped
    networks: [public]
    healthcheck: {test: ["CMD", "true"]}
    labels:
      traefik.enable: "true"
      traefik.http.routers.wiki.rule: Host(` + "`wiki.${DOMAIN}`" + `)
      traefik.http.routers.wiki.entrypoints: websecure
      traefik.http.routers.wiki.tls.certresolver: letsencrypt
      traefik.http.services.wiki.loadbalancer.server.port: "3000"
networks:
  public:
`

// movedStack copies the Makefile stack into a temporary stack root with its .env.
func movedStack(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, provision.CopyTree(filepath.Join("testdata", "makefile-stack"), root))
	testenv.WriteFiles(t, root, map[string]string{".env": movedStackEnv})
	t.Setenv("COMPOSE_PROJECT_NAME", "") // the stack's .env must win
	os.Unsetenv("COMPOSE_PROJECT_NAME")
	return root
}

func errorKeys(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		if f.Severity == Error {
			out = append(out, f.Rule+" "+f.File+" "+f.Service+" "+f.Subject)
		}
	}
	sort.Strings(out)
	return out
}

func TestMovedMakefileStackAdoptsTheLinterWithABaseline(t *testing.T) {
	root := movedStack(t)
	ctx := context.Background()

	added, err := WriteEnvExample(root)
	require.NoError(t, err)
	assert.Contains(t, added, "AUTHELIA_STORAGE_ENCRYPTION_KEY")
	assert.Contains(t, added, "REDIS_PASSWORD", "read through env.get() in Authelia's template")
	_, err = render.Tree(ctx, render.Options{Root: root, CloudflareIPs: render.EmbeddedCloudflareIPs(), SkipGitignore: true})
	require.NoError(t, err)
	s, err := Load(ctx, root, nil)
	require.NoError(t, err)

	report, err := LintWithBaseline(s)
	require.NoError(t, err)
	require.True(t, report.Failed())
	assert.Equal(t, movedStackErrors, errorKeys(report.Findings), messages(report.Findings))
	for _, f := range report.Findings {
		assert.NotEqual(t, RuleEnvExample, f.Rule, "the skeleton lists every variable: %s", f)
		if f.Rule == RuleRouterSSO {
			assert.Contains(t, f.Message, "the stack's SSO is sso-proxy@file (a forwardAuth to authelia)")
		}
	}

	up, err := WriteBaseline(s)
	require.NoError(t, err)
	assert.Len(t, up.Entries, len(movedStackErrors))
	report, err = LintWithBaseline(s)
	require.NoError(t, err)
	assert.False(t, report.Failed(), messages(report.Findings))
	assert.Len(t, report.Accepted, len(movedStackErrors))

	testenv.WriteFiles(t, root, map[string]string{"services/wiki/docker-compose.wiki.yml": wikiCompose})
	s, err = Load(ctx, root, nil)
	require.NoError(t, err)
	report, err = LintWithBaseline(s)
	require.NoError(t, err)
	assert.True(t, report.Failed())
	assert.Equal(t, []string{"router-sso services/wiki/docker-compose.wiki.yml wiki wiki"}, errorKeys(report.Findings))
}

// TestIntegrationMovedMakefileStackThroughMage runs the same adoption
// through the real targets, as a user would in the stack's folder.
func TestIntegrationMovedMakefileStackThroughMage(t *testing.T) {
	testenv.RequireCommand(t, "go", "git")
	module, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	root := movedStack(t)
	mage := func(target string) (string, error) {
		t.Helper()
		cmd := exec.Command("go", "tool", "mage", "-w", root, target)
		cmd.Dir = module
		// Unset, not empty: templates see an empty exported variable as
		// set, over the stack's .env.
		cmd.Env = []string{"SERVER=", "CLOUDFLARE_IPS=173.245.48.0/20,2400:cb00::/32"} // no network
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "COMPOSE_PROJECT_NAME=") && !strings.HasPrefix(kv, "SERVER=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := mage("envexample")
	require.NoError(t, err, out)
	assert.Contains(t, out, "added GHOST_DB_PASSWORD")

	out, err = mage("lint")
	require.Error(t, err, "the first lint of the moved stack fails:\n%s", out)
	assert.Contains(t, out, "router blog is not behind SSO")
	assert.Contains(t, out, "router status is not behind SSO")
	for _, falseAlarm := range []string{"router lldap", "router portainer", "router adguard", "router flame", "router dozzle", "router whoogle", "router dashboard", "router authelia", "[traefik-network]", "[middleware-undefined]", "[traefik-config]"} {
		assert.NotContains(t, out, falseAlarm)
	}
	assert.Contains(t, out, "lint: 4 error(s) not in .lint-baseline.tsv")

	out, err = mage("lintbaseline")
	require.NoError(t, err, out)
	assert.Contains(t, out, "wrote 4 entries to .lint-baseline.tsv")
	baseline, err := os.ReadFile(filepath.Join(root, BaselineFile))
	require.NoError(t, err)
	assert.Contains(t, string(baseline), "router-sso\tservices/blog/docker-compose.ghost.yml\tghost\tblog\tTODO\n")

	out, err = mage("lint")
	require.NoError(t, err, "the baseline accepts the stack's errors:\n%s", out)
	assert.Contains(t, out, "0 error(s)")
	assert.Contains(t, out, "4 finding(s) accepted by .lint-baseline.tsv (4 of its entries without a reason)")

	testenv.WriteFiles(t, root, map[string]string{"services/wiki/docker-compose.wiki.yml": wikiCompose})
	out, err = mage("lint")
	require.Error(t, err, "a new unprotected router fails:\n%s", out)
	assert.Contains(t, out, "router wiki is not behind SSO")
	assert.NotContains(t, out, "router blog")
	assert.Contains(t, out, "lint: 1 error(s) not in .lint-baseline.tsv")
	assert.Contains(t, out, "set label traefik.http.routers.wiki.middlewares=sso-proxy@file")
}
