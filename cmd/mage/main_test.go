package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/selfhosted-go/selfhosted/internal/magecache"
)

func TestParseTellsHelpFromTargets(t *testing.T) {
	for _, c := range []struct {
		args []string
		want invocation
		ok   bool
	}{
		{[]string{"up", "--help"}, invocation{dir: ".", workDir: ".", help: true, targets: []string{"up"}}, true},
		{[]string{"-h", "list-snapshots"}, invocation{dir: ".", workDir: ".", help: true, targets: []string{"list-snapshots"}}, true},
		{[]string{"help", "restore"}, invocation{dir: ".", workDir: ".", help: true, targets: []string{"restore"}}, true},
		{[]string{"-l"}, invocation{dir: ".", workDir: ".", list: true}, true},
		{[]string{"-v", "-d", "m", "-w", "s", "deploy"}, invocation{dir: "m", workDir: "s", verbose: true, targets: []string{"deploy"}}, true},
		{[]string{"-t=5m", "backup"}, invocation{dir: ".", workDir: ".", timeout: "5m", targets: []string{"backup"}}, true},
		// Upstream mage's own flags go to upstream mage.
		{[]string{"-init"}, invocation{}, false},
		{[]string{"-compile", "out"}, invocation{}, false},
	} {
		got, ok := parse(c.args)
		assert.Equal(t, c.ok, ok, "%v", c.args)
		if ok {
			assert.Equal(t, c.want, got, "%v", c.args)
		}
	}
}

func TestHasMageTag(t *testing.T) {
	assert.True(t, magecache.HasMageTag([]byte("//go:build mage\n\npackage main\n")))
	assert.True(t, magecache.HasMageTag([]byte("// +build mage\n\npackage main\n")))
	assert.False(t, magecache.HasMageTag([]byte("//go:build !mage\n\npackage selfhosted\n")))
	assert.False(t, magecache.HasMageTag([]byte("package main\n//go:build mage\n")))
}
