//go:build !mage

package selfhosted

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/selfhosted-go/selfhosted/internal/catalog"
)

// exampleServices are the services of the example stack, from its compose
// files and templates (whose Jinja lines are skipped).
func exampleServices(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	files, err := fs.Glob(Starter, "services/*/docker-compose.*")
	require.NoError(t, err)
	for _, f := range files {
		data, err := fs.ReadFile(Starter, f)
		require.NoError(t, err)
		var doc struct{ Services map[string]any }
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "{") {
				lines = append(lines, l)
			}
		}
		require.NoError(t, yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &doc), f)
		for name := range doc.Services {
			names[name] = true
		}
	}
	return names
}

var (
	mageCall    = regexp.MustCompile("go tool mage ((?:-[a-z]+ )*)([a-z][a-zA-Z-]*)")
	serviceVar  = regexp.MustCompile(`\bSERVICE=([a-z][a-z0-9-]*)`)
	exampleDocs = []string{"README.md"}
)

// Every `go tool mage <target>` the docs show names a target, and every
// SERVICE= names a service of the example stack (or one a walkthrough
// adds), so the examples run as written.
func TestDocsExamplesNameRealTargetsAndServices(t *testing.T) {
	services := exampleServices(t)
	services["vaultwarden"] = true // added by the README's "Adding a service"
	docs, _ := fs.Glob(Starter, "services/*/README.md")
	docs = append(docs, exampleDocs...)
	for _, doc := range docs {
		data, err := fs.ReadFile(Starter, doc)
		if err != nil {
			data, err = os.ReadFile(doc)
		}
		require.NoError(t, err)
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range mageCall.FindAllStringSubmatch(line, -1) {
				if m[2] == "tool" || strings.Contains(m[1], "-d") {
					continue
				}
				_, ok := catalog.Find(m[2])
				assert.True(t, ok || m[2] == "help", "%s:%d: go tool mage %s is no target", doc, i+1, m[2])
			}
			for _, m := range serviceVar.FindAllStringSubmatch(line, -1) {
				if m[1] == "x" || m[1] == "nosuch" {
					continue // a placeholder in prose
				}
				assert.True(t, services[m[1]], "%s:%d: SERVICE=%s is no service of the example stack", doc, i+1, m[1])
			}
		}
	}
	// The catalog's examples too.
	for _, target := range catalog.Targets {
		for _, m := range serviceVar.FindAllStringSubmatch(target.Example, -1) {
			assert.True(t, services[m[1]], "%s's example: SERVICE=%s is no service of the example stack", target.Name, m[1])
		}
	}
}
