package provision

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMissingPackages(t *testing.T) {
	out := "git install ok installed\nrestic deinstall ok config-files\nrsync:amd64 install ok installed\n"
	assert.Equal(t, []string{"restic", "debootstrap"}, MissingPackages([]string{"git", "restic", "rsync", "debootstrap"}, out))
	assert.Empty(t, MissingPackages([]string{"git"}, out))
}

func TestInstallCommands(t *testing.T) {
	cmds := InstallCommands([]string{"restic", "rsync"})
	require.Len(t, cmds, 2)
	assert.Equal(t, []string{"apt-get", "update", "-q"}, cmds[0].Args)
	assert.Equal(t, []string{"apt-get", "install", "-y", "-q", "--no-install-recommends", "restic", "rsync"}, cmds[1].Args)
	assert.Contains(t, cmds[1].Env, "DEBIAN_FRONTEND=noninteractive")
}

func TestIsComposeV2(t *testing.T) {
	assert.True(t, IsComposeV2("2.29.7\n"))
	assert.True(t, IsComposeV2("v2.30.0"))
	assert.False(t, IsComposeV2("1.29.2"))
	assert.False(t, IsComposeV2("docker: 'compose' is not a docker command."))
}

func TestJSONField(t *testing.T) {
	out := "{\n\t\"Path\": \"github.com/docker/compose/v2\",\n\t\"Dir\": \"/root/go/pkg/mod/github.com/docker/compose/v2@v2.29.7\"\n}"
	assert.Equal(t, "/root/go/pkg/mod/github.com/docker/compose/v2@v2.29.7", jsonField(out, "Dir"))
	assert.Equal(t, "", jsonField(out, "Zip"))
}

func TestImageCommands(t *testing.T) {
	d := DebootstrapCommand("/tmp/root", "http://mirror/debian")
	assert.Equal(t, []string{"debootstrap", "--variant=minbase", "--include=" + strings.Join(ImagePackages, ","), "bookworm", "/tmp/root", "http://mirror/debian"}, d.Args)
	imp := ImportCommand("abc")
	assert.Equal(t, DebianImage, imp.Args[len(imp.Args)-1])
	assert.Contains(t, imp.Args, "LABEL "+recipeLabel+"=abc")
	assert.Len(t, ImageRecipe(), 16)
}
