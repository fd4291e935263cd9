package render

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

// corpusContext is the context of testdata/jinja/context.json, as both
// renderers see it.
func corpusContext(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "jinja", "context.json"))
	require.NoError(t, err)
	var ctx map[string]any
	require.NoError(t, json.Unmarshal(raw, &ctx))
	return normalizeJSON(ctx).(map[string]any)
}

// normalizeJSON turns encoding/json's float64 integers into ints, as Python
// reads them.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	case nil:
		return none{}
	}
	return v
}

// TestIntegrationJinjaDifferential renders the corpus with Jinja2 and with
// this package and compares the bytes.
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
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			got, err := String(name, string(src), ctx)
			require.NoError(t, err)
			assert.Equal(t, want[name], got)
		})
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
