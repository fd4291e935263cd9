package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var env = map[string]any{"env": map[string]string{"DOMAIN": "example.com", "EMPTY": ""}}

func TestStringPinsJinjaOutput(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"attribute", "{{ env.DOMAIN }}", "example.com"},
		{"default call syntax", "{{ env.NOPE | default('x') }}", "x"},
		{"tojson", `{{ {'k': 1, 'a': ['a', "<&'>"]} | tojson }}`, `{"a": ["a", "\u003c\u0026\u0027\u003e"], "k": 1}`},
		{"concat", "{{ 'a' ~ 1 ~ true }}", "a1True"},
		{"is defined", "{{ env.NOPE is defined }} {{ env.NOPE is not defined }}", "False True"},
		{"floor division", "{{ 7 // 2 }} {{ 7 / 2 }}", "3 3.5"},
		{"booleans", "{{ true }} {{ false }} {{ none }}", "True False None"},
		{"python methods", "{{ 'a,b'.split(',') }} {{ ' x '.strip() }}", "['a', 'b'] x"},
		{"trim_blocks", "{% if true %}\nyes\n{% endif %}\nend", "yes\nend"},
		{"lstrip_blocks", "  {% if true %}\nyes\n  {% endif %}\n", "yes\n"},
		{"one trailing newline dropped", "a\n\n", "a\n"},
		{"raw", "{% raw %}{{ x }}{% endraw %}", "{{ x }}"},
		{"loop", "{% for x in ['a', 'b'] %}{{ loop.index }}{{ x }}{{ ',' if not loop.last }}{% endfor %}", "1a,2b"},
		{"set", "{% set x = env.DOMAIN | upper %}{{ x }}", "EXAMPLE.COM"},
		{"indent", "{{ 'a\nb' | indent(2) }}", "a\n  b"},
		{"comment", "a{# gone #}b", "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := String("t.j2", tc.src, env)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestIssue15Regressions pins the divergences the first differential
// fuzzing found (issue 15) to Jinja2's output.
func TestIssue15Regressions(t *testing.T) {
	data := map[string]any{
		"env":            map[string]string{"DOMAIN": "www.example.com"},
		"cloudflare_ips": []string{"1.1.1.0/24", "2.2.2.0/24", "3.3.3.0/24"},
	}
	for _, tc := range []struct{ name, src, want string }{
		{"loop in a nested for's iterable is the outer loop", "{% for y in (1, 2) %}{% for m in ([loop.index]) %}{{ m }}{% endfor %}{% endfor %}", "12"},
		{"range prints as range", "{{ range(3) }}|{{ range(3) ~ '' }}|{{ range(3)|length }}|{% for c in range(2)|string %}{{ c }}.{% endfor %}", "range(0, 3)|range(0, 3)|3|r.a.n.g.e.(.0.,. .2.)."},
		{"tuples print as tuples", "{{ () }}|{{ (1,) }}|{{ [(1, 2)] }}", "()|(1,)|[(1, 2)]"},
		{"is upper and is lower are isupper and islower", "{{ '' is upper }}|{{ '1' is lower }}|{{ 0 is lower }}|{{ 'A1' is upper }}", "False|False|False|True"},
		{"title is Jinja's", `{{ '"q' | title }}|{{ "it's" | title }}|{{ 'hello-world (x' | title }}`, `"q|It's|Hello-World (X`},
		{"postfix after slices", "{{ env.DOMAIN[4:].upper() }}|{{ cloudflare_ips[1:][0] }}|{{ 'abc'[::-1][0] }}", "EXAMPLE.COM|2.2.2.0/24|c"},
		{"sequence repetition", "{{ 2 * 'ab' }}|{{ 'ab' * true }}|{{ [1] * 2 }}|{{ 3 * (1,) }}", "abab|ab|[1, 1]|(1, 1, 1)"},
		{"tuple subscripts", "{{ {'a': 1}['a', 'b'] is defined }}|{{ {('a', 'b'): 2}['a', 'b'] }}", "False|2"},
		{"Markup in a printed container", "{{ {'a': [''] | tojson} }}|{{ ['<' | e] }}", `{'a': Markup('[""]')}|[Markup('&lt;')]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := String("t.j2", tc.src, data)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUndefinedIsAnErrorNamingFileLineAndVariable(t *testing.T) {
	for _, src := range []string{
		"ok\n{{ env.MISSING }}",
		"ok\n{% if env.MISSING %}x{% endif %}",
		"ok\n{{ env.MISSING | lower }}",
		"ok\n{% for x in env.MISSING %}{% endfor %}",
		"ok\n{{ 'a' ~ env.MISSING }}",
	} {
		_, err := String("services/app/c.yml.j2", src, env)
		var ue *UndefinedError
		require.ErrorAs(t, err, &ue, src)
		assert.Equal(t, 2, ue.Line, src)
		assert.Contains(t, err.Error(), "services/app/c.yml.j2:2:")
		assert.Contains(t, err.Error(), "env.MISSING")
	}
	_, err := String("t.j2", "{{ nothing }}", env)
	assert.ErrorContains(t, err, "undefined variable nothing")
}

func TestSyntaxErrorsNameFileLineAndColumn(t *testing.T) {
	for _, tc := range []struct {
		src, msg  string
		line, col int
	}{
		{"a\n  {{ env.X + }}", "expected an expression", 2, 14},
		{"{% if true %}\nno end", "never closed", 2, 1},
		{"x\n{% do x %}", "unknown tag 'do'", 2, 4},
		{"{% for (a, loop) in x %}{% endfor %}", "special loop variable", 1, 8},
		{"{% for x in y %}{% extends 'b.j2' %}{% endfor %}", "non top-level", 1, 20},
		{"{% for (a, 1) in x %}{% endfor %}", "can't assign", 1, 8},
		{"{% macro m(a=1, b) %}{% endmacro %}", "non-default argument", 1, 17},
		{"{% block a %}{% endblock %}{% block a %}{% endblock %}", "defined twice", 1, 37},
		{"{{ x | nosuchfilter }}", "unknown filter", 1, 8},
		{"{{ 'open }}", "never closed", 1, 4},
		{"line\n{% endif %}", "unexpected {% endif %}", 2, 4},
	} {
		_, err := Parse("bad.j2", tc.src)
		var se *SyntaxError
		require.ErrorAs(t, err, &se, tc.src)
		assert.Contains(t, se.Msg, tc.msg, tc.src)
		assert.Equal(t, "bad.j2", se.File)
		assert.Equal(t, tc.line, se.Line, tc.src)
		assert.Equal(t, tc.col, se.Col, tc.src)
	}
}

func TestRuntimeErrorsNameFileLineAndColumn(t *testing.T) {
	for _, tc := range []struct{ src, msg, where string }{
		{"x\n  {% autoescape true %}{% endautoescape %}", "not supported", "t.j2:2:3:"},
		{"{{ 99999999999999999999999 }}", "too large", "t.j2:1:1:"},
		{"a\n\n {{ 1 + 'a' }}", "unsupported operand", "t.j2:3:2:"},
		{"{% macro m() %}{{ 1 // 0 }}{% endmacro %}\n{{ m() }}", "division", "t.j2:1:16:"},
	} {
		_, err := String("t.j2", tc.src, nil)
		var re *RuntimeError
		require.ErrorAs(t, err, &re, tc.src)
		assert.ErrorContains(t, err, tc.msg, tc.src)
		assert.ErrorContains(t, err, tc.where, tc.src)
	}
}

// TestNeverTakenBranchesParse: what Jinja2 accepts when parsing must not be
// refused here because it would fail when it runs.
func TestNeverTakenBranchesParse(t *testing.T) {
	for _, src := range []string{
		"{% if false %}{% for (k, v) in nothing.items() %}{{ k }}{% endfor %}{% endif %}ok",
		"{% if false %}{{ 99999999999999999999999 }}{% endif %}ok",
		"{% if false %}{% autoescape true %}x{% endautoescape %}{% endif %}ok",
		"{% if false %}{% include 'missing.j2' %}{% import 'missing.j2' as m %}{% endif %}ok",
		"{% if false %}{{ undefined_function(1)[2].x }}{% endif %}ok",
		"{% if false %}{% extends 'missing.j2' %}{% endif %}ok",
	} {
		got, err := String("t.j2", src, nil)
		require.NoError(t, err, src)
		assert.Equal(t, "ok", got, src)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		mode := os.FileMode(0o644)
		if filepath.Ext(outputPath(name)) == ".sh" {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(path, []byte(content), mode))
	}
	return root
}

func TestTreeRendersEveryTemplateKeepingModesAndGitignore(t *testing.T) {
	root := writeTree(t, map[string]string{
		".env":                               "DOMAIN=example.com\nGREETING=\"hello ${DOMAIN}\" # comment\n",
		".gitignore":                         ".env\n",
		"services/b/docker-compose.b.yml.j2": "host: {{ env.DOMAIN }}\n",
		"services/a/run.sh.j2":               "#!/bin/sh\necho {{ env.GREETING }}\n",
		"services/a/static.yml":              "not a template\n",
	})
	res, err := Tree(context.Background(), Options{Root: root})
	require.NoError(t, err)
	assert.Equal(t, []string{"services/a/run.sh", "services/b/docker-compose.b.yml"}, res.Outputs)
	assert.Equal(t, res.Outputs, res.Written)

	data, _ := os.ReadFile(filepath.Join(root, "services/a/run.sh"))
	assert.Equal(t, "#!/bin/sh\necho hello example.com", string(data))
	st, _ := os.Stat(filepath.Join(root, "services/a/run.sh"))
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())

	gi, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
	assert.Equal(t, ".env\n\n"+gitignoreBegin+"\n/services/a/run.sh\n/services/b/docker-compose.b.yml\n"+gitignoreEnd+"\n", string(gi))

	// Rendering again keeps one block and writes nothing.
	res, err = Tree(context.Background(), Options{Root: root})
	require.NoError(t, err)
	assert.Empty(t, res.Written)

	// A changed value rewrites the outputs that use it only.
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("DOMAIN=example.org\nGREETING=hi\n"), 0o600))
	res, err = Tree(context.Background(), Options{Root: root})
	require.NoError(t, err)
	assert.Equal(t, []string{"services/a/run.sh", "services/b/docker-compose.b.yml"}, res.Written)
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("DOMAIN=example.org\nGREETING=hello\n"), 0o600))
	res, err = Tree(context.Background(), Options{Root: root})
	require.NoError(t, err)
	assert.Equal(t, []string{"services/a/run.sh"}, res.Written)
	gi2, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
	assert.Equal(t, string(gi), string(gi2))
}

func TestTreeWritesNothingWhenOneTemplateFails(t *testing.T) {
	root := writeTree(t, map[string]string{
		"services/a/good.yml.j2": "fine\n",
		"services/b/bad.yml.j2":  "{{ env.NOT_SET_ANYWHERE_XYZ }}\n",
	})
	_, err := Tree(context.Background(), Options{Root: root, Env: map[string]string{}})
	require.ErrorContains(t, err, "services/b/bad.yml.j2:1")
	assert.NoFileExists(t, filepath.Join(root, "services/a/good.yml"))
	assert.NoFileExists(t, filepath.Join(root, ".gitignore"))
}

func TestGitignoreReplacesOnlyTheManagedBlock(t *testing.T) {
	before := "a\n" + gitignoreBegin + "\n/old\n" + gitignoreEnd + "\nb\n"
	assert.Equal(t, "a\n"+gitignoreBegin+"\n/new\n"+gitignoreEnd+"\nb\n", Gitignore(before, []string{"new"}))
	assert.Equal(t, gitignoreBegin+"\n"+gitignoreEnd+"\n", Gitignore("", nil))

	// A block written by an older version, whose first line read otherwise.
	older := "a\n# BEGIN selfhosted render: generated from *.j2 templates (managed by `go tool mage render`, do not edit)\n/old\n" + gitignoreEnd + "\nb\n"
	assert.Equal(t, "a\n"+gitignoreBegin+"\n/new\n"+gitignoreEnd+"\nb\n", Gitignore(older, []string{"new"}))
	// The marker's words inside another line are not a block.
	assert.Equal(t, "x # BEGIN selfhosted render\n\n"+gitignoreBegin+"\n/new\n"+gitignoreEnd+"\n", Gitignore("x # BEGIN selfhosted render\n", []string{"new"}))
}

func TestTrackedErrorNamesTheFix(t *testing.T) {
	err := &TrackedError{Paths: []string{"services/a/x.yml"}}
	assert.Contains(t, err.Error(), "git rm --cached services/a/x.yml")
}

func TestCloudflareIPs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v4":
			w.Write([]byte("173.245.48.0/20\n103.21.244.0/22\n"))
		case "/v6":
			w.Write([]byte("2400:cb00::/32\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ips, err := CloudflareIPs(context.Background(), srv.Client(), []string{srv.URL + "/v4", srv.URL + "/v6"})
	require.NoError(t, err)
	assert.Equal(t, []string{"103.21.244.0/22", "173.245.48.0/20", "2400:cb00::/32"}, ips)

	_, err = CloudflareIPs(context.Background(), srv.Client(), []string{srv.URL + "/missing"})
	assert.ErrorContains(t, err, "404")

	ips, err = ParseCloudflareIPs("10.0.0.0/8, 1.1.1.0/24,10.0.0.0/8")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.1.1.0/24", "10.0.0.0/8"}, ips)
	_, err = ParseCloudflareIPs("10.0.0.0/8,nope")
	assert.ErrorContains(t, err, "nope")
}

func TestTreeAnnouncesTheCloudflareFallback(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	saved := CloudflareURLs
	CloudflareURLs = []string{srv.URL + "/v4"}
	defer func() { CloudflareURLs = saved }()

	root := writeTree(t, map[string]string{
		"services/a/ips.txt.j2":  "{{ cloudflare_ips | length }}",
		"services/b/also.txt.j2": "{{ cloudflare_ips[0] }}",
		"services/c/none.txt.j2": "no ranges here",
	})
	var warnings strings.Builder
	_, err := Tree(context.Background(), Options{Root: root, Env: map[string]string{}, HTTPClient: srv.Client(), Warnings: &warnings, SkipGitignore: true})
	require.NoError(t, err)
	data, _ := os.ReadFile(filepath.Join(root, "services/a/ips.txt"))
	assert.Equal(t, strconv.Itoa(len(EmbeddedCloudflareIPs())), string(data))
	assert.Equal(t, 1, strings.Count(warnings.String(), "\n"), "one warning for the whole run")
	assert.Contains(t, warnings.String(), "embedded")
	assert.Contains(t, warnings.String(), "404")
}

func TestTreeFetchesNothingWhenNoTemplateNeedsCloudflare(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fetched %s", r.URL)
	}))
	defer srv.Close()
	saved := CloudflareURLs
	CloudflareURLs = []string{srv.URL}
	defer func() { CloudflareURLs = saved }()
	root := writeTree(t, map[string]string{"services/a/x.txt.j2": "{# cloudflare_ips is only mentioned #}x"})
	_, err := Tree(context.Background(), Options{Root: root, Env: map[string]string{}, HTTPClient: srv.Client(), SkipGitignore: true})
	require.NoError(t, err)
}

func TestEmbeddedCloudflareIPsAreSortedCIDRs(t *testing.T) {
	ips := EmbeddedCloudflareIPs()
	require.Len(t, ips, 22)
	assert.IsNonDecreasing(t, ips)
}

func TestEnvParsesLikeComposeAndEnvironWins(t *testing.T) {
	root := writeTree(t, map[string]string{".env": "A=1\nB='single $A'\nC=\"double ${A}\\n\"\n# comment\nD=from-file\nE=${FROM_ENVIRON}\n"})
	got, err := Env(root, []string{"D=from-environ", "FROM_ENVIRON=x", "NOT_A_PAIR"})
	require.NoError(t, err)
	assert.Equal(t, "1", got["A"])
	assert.Equal(t, "single $A", got["B"])
	assert.Equal(t, "double 1\n", got["C"])
	assert.Equal(t, "from-environ", got["D"])
	assert.Equal(t, "x", got["E"])

	got, err = Env(root, nil)
	require.NoError(t, err)
	assert.Equal(t, "from-file", got["D"], "nothing overlays .env without an environ")
}
