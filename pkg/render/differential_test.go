package render

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/jinja"
	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

// corpusContext is the context of testdata/jinja/context.json, as both
// renderers see it: objects keep their key order, as Python's json does.
func corpusContext(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "jinja", "context.json"))
	require.NoError(t, err)
	v, err := jinja.DecodeJSON(raw)
	require.NoError(t, err)
	d := v.(*jinja.Dict)
	ctx := map[string]any{}
	for _, k := range d.Keys() {
		ctx[k.(string)], _ = d.Get(k)
	}
	return ctx
}

// TestIntegrationJinjaDifferential renders the corpus with Jinja2 and with
// this package and compares the bytes. Templates at the top of
// testdata/jinja are rendered; lib/ holds what they include, import and
// extend.
func TestIntegrationJinjaDifferential(t *testing.T) {
	python := testenv.RequireJinja2(t)
	dir := filepath.Join("testdata", "jinja")
	out, err := exec.Command(python, filepath.Join("testdata", "jinja_render.py"), dir, filepath.Join(dir, "context.json")).Output()
	require.NoError(t, err, "the Jinja2 reference failed: %s", exitStderr(err))
	var want map[string]string
	require.NoError(t, json.Unmarshal(out, &want))
	require.NotEmpty(t, want)

	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	ctx := corpusContext(t)
	loader := NewLoader(os.DirFS(dir))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tpl, err := loader.Load(name)
			require.NoError(t, err)
			got, err := tpl.Execute(ctx)
			require.NoError(t, err)
			assert.Equal(t, want[name], got)
		})
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return strings.TrimSpace(string(bytes.TrimSpace(ee.Stderr)))
	}
	return ""
}
