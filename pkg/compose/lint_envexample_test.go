package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

func TestLintEnvExample(t *testing.T) {
	compose := strings.Replace(goodDB, "image: example/db:1.0", "image: example/db:${DB_VERSION:-1.0}\n    environment: {PASS: \"${DB_PASSWORD}\", LITERAL: \"$$NOT_A_VAR\", SHORT: $SHORT_FORM}", 1)
	s := stackOf(t, map[string]string{"db": compose})
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, "services", "db", "app.conf.j2"), []byte("{{ env.DOMAIN }} {{ env['API_KEY'] }} {{ env.DB_PASSWORD }}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, ".env.example"), []byte("# the version\nDB_VERSION=1.0\n# secret: 32\nDB_PASSWORD=\n"), 0o644))

	findings := lintEnvExample(s)
	var got []string
	for _, f := range findings {
		assert.Equal(t, Warning, f.Severity)
		assert.Equal(t, RuleEnvExample, f.Rule)
		assert.Contains(t, f.Fix, ".env.example")
		got = append(got, f.File+" "+strings.TrimSuffix(strings.Fields(f.Message)[1], ","))
	}
	assert.Equal(t, []string{
		"services/db/app.conf.j2 API_KEY",
		"services/db/app.conf.j2 DOMAIN",
		"services/db/docker-compose.db.yml SHORT_FORM",
	}, got)
}

func TestLintEnvExampleWithoutVariablesNeedsNoExample(t *testing.T) {
	assert.Empty(t, lintEnvExample(stackOf(t, map[string]string{"db": goodDB})))
}

func TestTemplateVariablesReadThroughEnvGet(t *testing.T) {
	names := map[string]bool{}
	templateNames(`{{ env.get('SMTP_HOST', 'localhost') }} {{ env.get("SMTP_PORT") }} {{ env.get(name) }} {{ env["A"] }} {% for k, v in env.items() %}`, names)
	assert.Equal(t, map[string]bool{"SMTP_HOST": true, "SMTP_PORT": true, "A": true}, names)
}

// skeletonStack is a stack moved from a Makefile: compose files reading
// ${VAR} forms, a compose template not rendered yet, a config template.
var skeletonStack = map[string]string{
	"services/blog/docker-compose.ghost.yml": `services:
  ghost:
    image: ghost:${GHOST_VERSION:-5}
    environment:
      database__connection__password: ${GHOST_DB_PASSWORD}
      url: https://blog.$DOMAIN
      literal: $$NOT_A_VARIABLE
`,
	"services/dns/docker-compose.adguard.yml.j2": `services:
  adguard:
    image: adguard/adguardhome:{{ env.ADGUARD_VERSION }}
    environment: {TZ: "${TZ?set the time zone}"}
`,
	"services/reverse-proxy/traefik.dynamic.yml.j2": `{{ env['CF_API_TOKEN'] }} {{ env.get('SMTP_PASS', '') }} {{ env.DOMAIN }}`,
}

func TestWriteEnvExampleWritesASkeleton(t *testing.T) {
	root := filepath.Join(t.TempDir(), "My Stack")
	testenv.WriteFiles(t, root, skeletonStack)

	added, err := WriteEnvExample(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"COMPOSE_PROJECT_NAME", "ADGUARD_VERSION", "CF_API_TOKEN", "DOMAIN", "GHOST_DB_PASSWORD", "GHOST_VERSION", "SMTP_PASS", "TZ"}, added)

	data, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	vars, err := secrets.ParseExample(data)
	require.NoError(t, err, "the skeleton is a valid .env.example")
	byName := map[string]secrets.Variable{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	assert.Equal(t, "mystack", byName["COMPOSE_PROJECT_NAME"].Example, "Compose's default project name: the folder's")
	for name, secret := range map[string]bool{"GHOST_DB_PASSWORD": true, "CF_API_TOKEN": true, "SMTP_PASS": true, "DOMAIN": false, "TZ": false, "GHOST_VERSION": false} {
		assert.Equal(t, secret, byName[name].Secret, name)
		assert.Empty(t, byName[name].Example, "names only: %s", name)
	}
	assert.Equal(t, 32, byName["GHOST_DB_PASSWORD"].Length)
	assert.Contains(t, string(data), "# TODO: what DOMAIN is (read by services/blog/docker-compose.ghost.yml, services/reverse-proxy/traefik.dynamic.yml.j2).\nDOMAIN=\n")
	assert.NotContains(t, string(data), "NOT_A_VARIABLE")
}

func TestWriteEnvExampleAppendsOnlyMissingNames(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, root, skeletonStack)
	existing := "# Our project.\nCOMPOSE_PROJECT_NAME=blog\n\n# The domain.\nDOMAIN=example.org\n# secret: 24\nGHOST_DB_PASSWORD=\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env.example"), []byte(existing), 0o600))

	added, err := WriteEnvExample(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"ADGUARD_VERSION", "CF_API_TOKEN", "GHOST_VERSION", "SMTP_PASS", "TZ"}, added)
	data, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), existing), "existing lines are never rewritten")
	info, err := os.Stat(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	added, err = WriteEnvExample(root)
	require.NoError(t, err)
	assert.Empty(t, added, "a complete .env.example is left alone")
	again, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again))
}

func TestWriteEnvExampleRefusesABrokenFile(t *testing.T) {
	root := t.TempDir()
	testenv.WriteFiles(t, root, skeletonStack)
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env.example"), []byte("not an assignment\n"), 0o644))
	_, err := WriteEnvExample(root)
	require.ErrorContains(t, err, "not a NAME=value line")
	data, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	assert.Equal(t, "not an assignment\n", string(data))
}

func TestLintAfterTheSkeletonListsNoMissingVariable(t *testing.T) {
	s := stackOf(t, map[string]string{"db": strings.Replace(goodDB, "image: example/db:1.0", "image: example/db:${DB_VERSION:-1.0}", 1)})
	require.NotEmpty(t, lintEnvExample(s))
	_, err := WriteEnvExample(s.Root)
	require.NoError(t, err)
	assert.Empty(t, lintEnvExample(s))
}
