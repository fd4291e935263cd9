package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
