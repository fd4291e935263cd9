package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFilesOfANewStackRepository(t *testing.T) {
	full, err := Files("/tmp/Our Stack", Options{Version: "v1.2.3"})
	require.NoError(t, err)
	assert.Contains(t, full["go.mod"], "module example.com/our-stack\n")
	assert.Contains(t, full["go.mod"], "require github.com/selfhosted-go/selfhosted v1.2.3\n")
	assert.Contains(t, full["go.mod"], "tool (\n\tgithub.com/selfhosted-go/selfhosted/cmd/mage\n")
	assert.NotContains(t, full["go.mod"], "replace")
	assert.Contains(t, full["magefile.go"], `"github.com/selfhosted-go/selfhosted/targets"`)
	assert.Contains(t, full["magefile.go"], `"list-snapshots":   targets.ListSnapshots`)
	for _, name := range []string{".env.example", ".deployignore", ".githooks/pre-commit", ".gitignore", "services/backup/docker-compose.backup.yml", "services/database/docker-compose.mariadb.yml", "services/whoami/docker-compose.whoami.yml.j2"} {
		assert.Contains(t, full, name)
	}
	for name := range full {
		_, template := full[name+".j2"]
		assert.False(t, template, "%s is the output of a template: never copied", name)
		assert.False(t, strings.HasPrefix(name, "services/backup/bin/"), "a built program is never copied")
	}
	assert.Contains(t, full[".gitignore"], ".env\n")

	skeleton, err := Files("stack", Options{Skeleton: true, Replace: "../selfhosted"})
	require.NoError(t, err)
	var services []string
	for name := range skeleton {
		if strings.HasPrefix(name, "services/") {
			services = append(services, name)
		}
	}
	assert.ElementsMatch(t, []string{"services/backup/README.md", "services/backup/docker-compose.backup.yml"}, services)
	assert.Contains(t, skeleton["go.mod"], "replace github.com/selfhosted-go/selfhosted => ../selfhosted\n")
	assert.Contains(t, skeleton[".env.example"], "RESTIC_PASSWORD=")
}

func TestCreateRefusesAFolderThatIsNotEmpty(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	err := Create(context.Background(), dir, Options{})
	var notEmpty *NotEmptyError
	require.ErrorAs(t, err, &notEmpty)
	assert.Equal(t, []string{"notes.txt"}, notEmpty.Files)
	data, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(data), "nothing was written")
}
