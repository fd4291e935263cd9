package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noRestart is a service that breaks the old checklist (an error) and a
// newer rule (a warning: no healthcheck).
const noRestart = `
services:
  legacy:
    image: example/legacy:1
    networks: [private]
networks:
  private:
`

func findingRules(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, string(f.Severity)+" "+f.Rule+" "+f.Service)
	}
	return out
}

func TestStrictModeMakesTheNewerRulesErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string // LintConfigFile; "" for none
		want   []string
	}{
		{"without a lint configuration the newer rules are warnings", "",
			[]string{"error restart legacy", "warning healthcheck legacy"}},
		{"strict: false is the default", "strict: false\n",
			[]string{"error restart legacy", "warning healthcheck legacy"}},
		{"strict: true makes them errors", "# every rule enforced since the migration\nstrict: true\n",
			[]string{"error restart legacy", "error healthcheck legacy"}},
		{"a typo in the configuration is an error, not a lenient stack", "strcit: true\n",
			[]string{"error lint-config ", "error restart legacy", "warning healthcheck legacy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stackOf(t, map[string]string{"legacy": noRestart})
			if tc.config != "" {
				require.NoError(t, os.WriteFile(filepath.Join(s.Root, LintConfigFile), []byte(tc.config), 0o644))
			}
			assert.ElementsMatch(t, tc.want, findingRules(Lint(s)))
		})
	}
}

func TestStrictModeLeavesOtherWarningsAlone(t *testing.T) {
	s := ssoStack(t, map[string]string{ssoApp: appCompose("hosted-sso@file", "websecure")})
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, LintConfigFile), []byte("strict: true\n"), 0o644))
	assert.Contains(t, findingRules(Lint(s)), "warning router-sso-external app")
}

func TestBaselineFlow(t *testing.T) {
	s := stackOf(t, map[string]string{"legacy": noRestart})

	report, err := LintWithBaseline(s)
	require.NoError(t, err)
	assert.True(t, report.Failed(), "a stack with errors and no baseline fails")

	up, err := WriteBaseline(s)
	require.NoError(t, err)
	require.Len(t, up.Entries, 1, "only errors are written: warnings fail nothing")
	assert.Equal(t, BaselineEntry{Rule: RuleRestart, File: "services/legacy/docker-compose.legacy.yml", Service: "legacy", Reason: BaselineTODO, Line: up.Entries[0].Line}, up.Entries[0])
	data, err := os.ReadFile(filepath.Join(s.Root, BaselineFile))
	require.NoError(t, err)
	assert.Contains(t, string(data), "restart\tservices/legacy/docker-compose.legacy.yml\tlegacy\t\tTODO\n")
	assert.Equal(t, "restart\tservices/legacy/docker-compose.legacy.yml\tlegacy\t\tTODO", strings.Split(string(data), "\n")[up.Entries[0].Line-1])

	report, err = LintWithBaseline(s)
	require.NoError(t, err)
	assert.False(t, report.Failed(), "the baseline accepts the error")
	assert.Equal(t, []string{"warning healthcheck legacy"}, findingRules(report.Findings), "warnings stay visible")
	assert.Len(t, report.Accepted, 1)
	assert.Equal(t, 1, report.Unexplained)

	// A reason written by hand survives a rewrite; a reworded message
	// doesn't matter, the key does.
	explained := strings.Replace(string(data), "legacy\t\tTODO", "legacy\t\tmoved from the Makefile stack; restart policy in the next sprint", 1)
	explained = strings.Replace(explained, "# no restart policy", "# an old wording of the message", 1)
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, BaselineFile), []byte(explained), 0o644))
	report, err = LintWithBaseline(s)
	require.NoError(t, err)
	assert.False(t, report.Failed())
	assert.Zero(t, report.Unexplained)
	up, err = WriteBaseline(s)
	require.NoError(t, err)
	assert.Equal(t, "moved from the Makefile stack; restart policy in the next sprint", up.Entries[0].Reason)

	// A new error fails; a fixed one is reported as stale.
	fixed := strings.Replace(noRestart, "image: example/legacy:1", "image: example/legacy:1\n    restart: always", 1)
	testFile(t, s, "services/legacy/docker-compose.legacy.yml", fixed)
	testFile(t, s, "services/new/docker-compose.new.yml", strings.ReplaceAll(noRestart, "legacy", "new"))
	s = reload(t, s)
	report, err = LintWithBaseline(s)
	require.NoError(t, err)
	assert.True(t, report.Failed())
	assert.Equal(t, []string{"warning healthcheck legacy", "error restart new", "warning healthcheck new"}, findingRules(report.Findings))
	require.Len(t, report.Stale, 1)
	assert.Equal(t, RuleRestart, report.Stale[0].Rule)
	var out strings.Builder
	require.NoError(t, report.Print(&out))
	assert.Contains(t, out.String(), "baseline: .lint-baseline.tsv:")
	assert.Contains(t, out.String(), "restart in services/legacy/docker-compose.legacy.yml: service legacy no longer occurs")
	assert.Contains(t, out.String(), "lint: 2 service(s), 1 error(s), 2 warning(s), strict mode off")

	up, err = WriteBaseline(s)
	require.NoError(t, err)
	assert.Len(t, up.Dropped, 1)
	assert.Equal(t, "new", up.Entries[0].Service)
}

func TestReadBaselineRefusesAMalformedLine(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, BaselineFile), []byte("# comment\nrestart services/a.yml a\n"), 0o644))
	_, err := ReadBaseline(root)
	assert.ErrorContains(t, err, ".lint-baseline.tsv:2: want tab-separated rule, file, service, subject and reason")
}

func TestReadBaselineWithoutAFileIsEmpty(t *testing.T) {
	entries, err := ReadBaseline(t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func testFile(t *testing.T, s *Stack, name, content string) {
	t.Helper()
	path := filepath.Join(s.Root, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func reload(t *testing.T, s *Stack) *Stack {
	t.Helper()
	s, err := Load(t.Context(), s.Root, nil)
	require.NoError(t, err)
	return s
}
