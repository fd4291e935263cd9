package remote

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func file(path, hash string, mode os.FileMode, size int64) Entry {
	return Entry{Path: path, Mode: mode, Hash: hash, Size: size}
}

func dir(path string) Entry { return Entry{Path: path, Dir: true, Mode: 0o755} }

func TestDiff(t *testing.T) {
	remote := Manifest{
		"services":          dir("services"),
		"services/a.yml":    file("services/a.yml", "h1", 0o644, 3),
		"services/same.yml": file("services/same.yml", "h2", 0o644, 3),
		"services/mode.sh":  file("services/mode.sh", "h3", 0o644, 3),
		"gone":              dir("gone"),
		"gone/x":            file("gone/x", "h4", 0o644, 1),
		"old.txt":           file("old.txt", "h5", 0o644, 1),
	}
	local := Manifest{
		"services":          dir("services"),
		"services/a.yml":    file("services/a.yml", "changed", 0o644, 4),
		"services/same.yml": file("services/same.yml", "h2", 0o644, 3),
		"services/mode.sh":  file("services/mode.sh", "h3", 0o755, 3),
		"services/new.yml":  file("services/new.yml", "h6", 0o644, 10),
		"empty":             dir("empty"),
	}
	p := Diff(local, remote)
	assert.Equal(t, []Entry{dir("empty")}, p.Mkdir)
	assert.Equal(t, []Entry{local["services/a.yml"], local["services/mode.sh"], local["services/new.yml"]}, p.Upload)
	assert.Equal(t, []string{"gone", "old.txt"}, p.Delete, "a deleted folder's contents go with it")
	assert.Equal(t, int64(17), p.Bytes)
	assert.True(t, Diff(local, local).Empty())
}

func TestDiffIgnoresMtime(t *testing.T) {
	l := Manifest{"a": {Path: "a", Mode: 0o644, Hash: "h", Size: 1, MTime: 1}}
	r := Manifest{"a": {Path: "a", Mode: 0o644, Hash: "h", Size: 1, MTime: 999}}
	assert.True(t, Diff(l, r).Empty())
}

func TestParseManifestTakesHashesFromTheCacheOnlyWhenTheFileIsUnchanged(t *testing.T) {
	out := "d 755 4096 1700000000.1 services\x00f 600 9 1700000000.5 .env\x00f 755 3 1.0 services/run sh.sh\x00f 644 5 7.0 drifted.txt\x00" +
		"\n--cache--\n" +
		CacheLine(Entry{Path: ".env", Hash: "aaa", Mode: 0o600, Size: 9, MTime: 1700000000}) +
		CacheLine(Entry{Path: "services/run sh.sh", Hash: "bbb", Mode: 0o755, Size: 3, MTime: 1}) +
		CacheLine(Entry{Path: "drifted.txt", Hash: "ccc", Mode: 0o644, Size: 5, MTime: 6}) // changed on the server since
	m, err := ParseManifest([]byte(out))
	require.NoError(t, err)
	assert.Equal(t, Entry{Path: "services", Dir: true, Mode: 0o755, Size: 4096, MTime: 1700000000}, m["services"])
	assert.Equal(t, Entry{Path: ".env", Mode: 0o600, Size: 9, MTime: 1700000000, Hash: "aaa"}, m[".env"])
	assert.Equal(t, "bbb", m["services/run sh.sh"].Hash)
	assert.Empty(t, m["drifted.txt"].Hash, "a file changed on the server is sent again")

	empty, err := ParseManifest([]byte("\n--cache--\n"))
	require.NoError(t, err)
	assert.Empty(t, empty)
	_, err = ParseManifest([]byte("garbage"))
	assert.Error(t, err)
}

func TestLocalManifestRefusesTabsAndNewlines(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "bad\tname"), nil, 0o644))
	_, err := LocalManifest(root, nil)
	require.ErrorContains(t, err, "tabs or newlines")
}

func TestIgnoreRulesAndEnvMode(t *testing.T) {
	root := t.TempDir()
	for name, mode := range map[string]os.FileMode{
		".env": 0o644, ".git/HEAD": 0o644, "services/a/x.yml": 0o644, "services/a/x.yml.swp": 0o644,
		"bin/tool": 0o755, "services/bin/keep": 0o644, "services/a/run.sh": 0o755,
	} {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(name), mode))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, IgnoreFile), []byte(".git/\n*.swp\n/bin/\n"), 0o644))
	ignore, err := Ignore(root)
	require.NoError(t, err)
	m, err := LocalManifest(root, ignore)
	require.NoError(t, err)
	var paths []string
	for p := range m {
		paths = append(paths, p)
	}
	assert.ElementsMatch(t, []string{IgnoreFile, ".env", "services", "services/a", "services/a/x.yml", "services/a/run.sh", "services/bin", "services/bin/keep"}, paths)
	assert.Equal(t, os.FileMode(0o600), m[".env"].Mode, ".env is uploaded 0600 whatever its local mode")
	assert.Equal(t, os.FileMode(0o755), m["services/a/run.sh"].Mode)
}

func TestDefaultIgnoreWithoutDeployignore(t *testing.T) {
	ignore, err := Ignore(t.TempDir())
	require.NoError(t, err)
	assert.True(t, ignore.MatchesPath(".git/config"))
	assert.True(t, ignore.MatchesPath(".vscode/settings.json"))
	assert.False(t, ignore.MatchesPath("services/a/docker-compose.a.yml"))
}

func TestLockErrorNamesHolderAndStaleness(t *testing.T) {
	fresh := lockError("deploy@vps:22", "~/selfhosted", "alice@laptop since 2099-01-01T00:00:00Z (pid 12)")
	assert.Contains(t, fresh.Error(), "alice@laptop")
	assert.Contains(t, fresh.Error(), "deploy@vps:22")
	assert.False(t, fresh.Stale())
	stale := lockError("deploy@vps:22", "~/selfhosted", "bob@laptop since 2000-01-01T00:00:00Z (pid 13)")
	assert.True(t, stale.Stale())
	assert.Contains(t, stale.Error(), "probably stuck")
	assert.Equal(t, 2000, stale.Since.Year())
}

func TestHashCacheReusesHashesOfUnchangedFiles(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	path := filepath.Join(root, "a.txt")
	require.NoError(t, os.WriteFile(path, []byte("one"), 0o644))
	cache := OpenHashCache(root)
	first, _, err := localManifest(root, nil, cache)
	require.NoError(t, err)
	cache.Save()

	// A planted wrong hash proves the second run reads the cache, not the file.
	reopened := OpenHashCache(root)
	e := reopened.entries["a.txt"]
	e.hash = "from-cache"
	reopened.entries["a.txt"] = e
	second, _, err := localManifest(root, nil, reopened)
	require.NoError(t, err)
	assert.Equal(t, "from-cache", second["a.txt"].Hash)

	// A changed file is hashed again.
	require.NoError(t, os.WriteFile(path, []byte("two!"), 0o644))
	third, _, err := localManifest(root, nil, reopened)
	require.NoError(t, err)
	assert.NotEqual(t, first["a.txt"].Hash, third["a.txt"].Hash)
	assert.NotEqual(t, "from-cache", third["a.txt"].Hash)
}
