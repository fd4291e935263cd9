package remote

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleaseIDsAndTheirShellPattern(t *testing.T) {
	id := newReleaseID(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	assert.Regexp(t, `^20261127T120000Z-[0-9a-f]{6}$`, id)
	assert.True(t, ValidReleaseID(id))
	assert.True(t, ValidReleaseID(InitialRelease))
	for _, bad := range []string{"", "..", "x/../y", "20261127T120000Z-abc", "20261127T120000Z-abcdef;rm -rf /", "initial2"} {
		assert.False(t, ValidReleaseID(bad), bad)
	}
	// The shell's case pattern accepts exactly the same names.
	for _, name := range []string{id, InitialRelease, "20261127T120000Z-abc", "x", "initial.failed", id + ".failed"} {
		out, err := exec.Command("sh", "-c", `case "$1" in `+releaseGlob("")+`) echo yes ;; *) echo no ;; esac`, "sh", name).Output()
		require.NoError(t, err)
		assert.Equal(t, ValidReleaseID(name), strings.TrimSpace(string(out)) == "yes", name)
	}
}

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	a, b, c := "20261101T100000Z-aaaaaa", "20261101T110000Z-bbbbbb", "20261101T120000Z-cccccc"
	releases := []Release{{ID: InitialRelease}, {ID: a}, {ID: b}, {ID: c, Failed: "rolled back"}}
	history := []Activation{
		{Time: t0.Add(time.Hour + time.Minute), Release: b, Why: "deploy"},
		{Time: t0.Add(2*time.Hour + time.Minute), Release: c, Why: "deploy"},
		{Time: t0.Add(2*time.Hour + 2*time.Minute), Release: b, Why: "rollback"},
	}
	tl := NewTimeline(releases, history)
	// Releases made before activations were recorded count from their id's time.
	assert.Equal(t, InitialRelease, tl.At(t0.Add(-time.Hour)))
	assert.Equal(t, a, tl.At(t0.Add(time.Minute)))
	assert.Equal(t, b, tl.At(t0.Add(time.Hour+2*time.Minute)))
	assert.Equal(t, c, tl.At(t0.Add(2*time.Hour+90*time.Second)))
	assert.Equal(t, b, tl.At(t0.Add(3*time.Hour)))
	assert.Equal(t, []string{a, b}, tl.Around(t0.Add(time.Hour+time.Minute+time.Millisecond), time.Second))
	assert.Equal(t, t0.Add(2*time.Hour+2*time.Minute), tl.Since(b))

	// A rollback returns to the last release active before, skipping failed ones.
	prev, ok := Previous(releases, history, b)
	require.True(t, ok)
	assert.Equal(t, a, prev)
	prev, ok = Previous(releases, history[:1], b)
	require.True(t, ok)
	assert.Equal(t, a, prev)
	_, ok = Previous([]Release{{ID: a}}, nil, a)
	assert.False(t, ok)
}

func TestParseInspectReadsEverySection(t *testing.T) {
	out := "junk before\n\x1ehome\n/home/deploy\n\x1eexists\nyes\n\x1ecurrent\n20261101T110000Z-bbbbbb\n\x1ereleases\ninitial\n20261101T110000Z-bbbbbb\n" +
		"\x1emeta\n{\"id\":\"20261101T110000Z-bbbbbb\",\"who\":\"alice@laptop\",\"commit\":\"abc\",\"created\":\"2026-11-01T11:00:00Z\"}\nnot json\n" +
		"\x1efailed\n\n\x1ehistory\n1761994860000000000 20261101T110000Z-bbbbbb deploy\ngarbage line\n" +
		"\x1espace\n/dev/vda 1000 500 300 63% /srv data\n\x1emodel\n{\"services\":{}}\n" +
		"\x1emanifest\nf 644 3 1700000000.5 a.txt\x00l 777 4 1700000000.5 evil\x00d 755 4096 1700000000.0 \x1ehome\x00\n--cache--\n"
	st, err := parseInspect([]byte(out))
	require.NoError(t, err)
	assert.Equal(t, "/home/deploy", st.home)
	assert.True(t, st.exists)
	assert.Equal(t, "20261101T110000Z-bbbbbb", st.current)
	assert.Equal(t, int64(300*1024), st.free)
	assert.Equal(t, "/srv data", st.mount)
	require.Len(t, st.releases, 2)
	assert.Equal(t, InitialRelease, st.releases[0].ID)
	assert.Equal(t, Release{ID: "20261101T110000Z-bbbbbb", Who: "alice@laptop", Commit: "abc", Current: true,
		Created: time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC), Activated: []time.Time{time.Unix(0, 1761994860000000000)}}, st.releases[1])
	assert.Len(t, st.history, 1)
	assert.Equal(t, `{"services":{}}`, string(st.model))
	// A symlink is never taken for a regular file, and a name that looks like
	// a marker inside the manifest is only a name.
	assert.NotEqual(t, st.manifest["evil"].Mode, st.manifest["a.txt"].Mode)
	assert.True(t, st.manifest["\x1ehome"].Dir)
	assert.Equal(t, "/home/deploy/selfhosted", absolute("~/selfhosted", st.home))
	assert.Equal(t, "/home/deploy/stack", absolute("stack", st.home))
	assert.Equal(t, "/srv/a b", absolute("/srv/a b/", st.home))
}

func TestDiffReplacesPlantedLinksInsteadOfWritingThroughThem(t *testing.T) {
	local := Manifest{
		"conf":        {Path: "conf", Dir: true, Mode: 0o755},
		"conf/a.yml":  {Path: "conf/a.yml", Mode: 0o644, Size: 1, Hash: "h"},
		"single.conf": {Path: "single.conf", Mode: 0o644, Size: 1, Hash: "s"},
	}
	out := "f 644 1 1 single.conf\x00l 777 4 1 conf\x00\n--cache--\nh\t644\t1\t1\tsingle.conf\n"
	remoteTree, err := ParseManifest([]byte(out))
	require.NoError(t, err)
	remoteTree["single.conf"] = Entry{Path: "single.conf", Mode: 0o777 | os.ModeIrregular, Size: 1, Hash: "s"}
	p := Diff(local, remoteTree)
	assert.Equal(t, []string{"conf"}, p.Delete, "the link goes before a real folder is made")
	assert.Equal(t, []Entry{local["conf"]}, p.Mkdir)
	assert.Equal(t, []string{"conf/a.yml", "single.conf"}, paths(p.Upload), "a link where a file belongs is replaced by the file")
}

func paths(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Path)
	}
	return out
}

func TestTarSizeIsExactlyWhatIsStreamed(t *testing.T) {
	root := t.TempDir()
	names := []string{"a.txt", "services/x/" + strings.Repeat("long-name-", 15) + ".yml", "ünïcode/ß.conf", "empty", "-dash", "sp ace/$(x)`y`'q\".txt"}
	for i, n := range names {
		p := filepath.Join(root, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{'x'}, i*700), 0o640))
	}
	m, stamps, err := localManifest(root, nil, nil)
	require.NoError(t, err)
	var files []Entry
	for _, n := range names {
		files = append(files, m[n])
	}
	want, err := tarSize(files)
	require.NoError(t, err)
	var buf bytes.Buffer
	sent := map[string]string{}
	var changed []string
	require.NoError(t, writeTar(context.Background(), &buf, root, files, stamps, sent, &changed, "h", nil))
	assert.Equal(t, want, int64(buf.Len()))
	assert.Empty(t, changed)
	for _, n := range names {
		assert.Equal(t, m[n].Hash, sent[n])
	}
	tr := tar.NewReader(&buf)
	for _, n := range names {
		h, err := tr.Next()
		require.NoError(t, err)
		assert.Equal(t, n, h.Name)
		assert.Equal(t, int64(0o640), h.Mode)
	}
	_, err = tr.Next()
	assert.Equal(t, io.EOF, err)
}

func TestWriteTarStopsOnAFileThatChangedSize(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "a"), []byte("12345"), 0o644))
	m, stamps, err := localManifest(root, nil, nil)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "a"), []byte("123456"), 0o644))
	var changed []string
	err = writeTar(context.Background(), io.Discard, root, []Entry{m["a"]}, stamps, map[string]string{}, &changed, "h", nil)
	var ce *ChangedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "a", ce.Path)
}

func TestWriteTarRecordsWhatWasSentWhenAFileWasRewrittenBeforeItsTurn(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "a"), []byte("old!"), 0o644))
	m, stamps, err := localManifest(root, nil, nil)
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(root, "a"), []byte("new!"), 0o644))
	sent := map[string]string{}
	var changed []string
	require.NoError(t, writeTar(context.Background(), io.Discard, root, []Entry{m["a"]}, stamps, sent, &changed, "h", nil))
	assert.Equal(t, []string{"a"}, changed)
	fresh, _, err := localManifest(root, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, fresh["a"].Hash, sent["a"], "the release records the content that was sent")
	assert.NotEqual(t, m["a"].Hash, sent["a"])
}

// The scripts run by a real sh: hostile names stay names, and nothing outside
// the staging folder is touched.
func TestStageScriptQuotesEveryPath(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "my $(touch pwned) `touch pwned2` 'q\" stack")
	current := dir + ".releases/r1"
	evil := "-rf $(touch pwned3)/x"
	require.NoError(t, os.MkdirAll(filepath.Join(current, evil), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(current, "keep.txt"), []byte("k"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(current, "gone.txt"), []byte("g"), 0o644))
	require.NoError(t, os.Symlink(current, dir))
	outside := filepath.Join(base, "my")
	require.NoError(t, os.MkdirAll(outside, 0o755))

	plan := Plan{Delete: []string{"gone.txt"}, Mkdir: []Entry{{Path: "new dir/*", Dir: true, Mode: 0o750}}}
	script := stageScript(dir, "20261101T100000Z-aaaaaa", plan, Manifest{})
	cmd := exec.Command("sh", "-c", "set -e\n"+script)
	cmd.Dir = base
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	staging := dir + ".releases/.staging-20261101T100000Z-aaaaaa"
	assert.FileExists(t, filepath.Join(staging, "keep.txt"))
	assert.NoFileExists(t, filepath.Join(staging, "gone.txt"))
	assert.FileExists(t, filepath.Join(current, "gone.txt"), "the live release is untouched")
	st, err := os.Stat(filepath.Join(staging, "new dir/*"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), st.Mode().Perm())
	assert.DirExists(t, outside)
	for _, p := range []string{"pwned", "pwned2", "pwned3"} {
		assert.NoFileExists(t, filepath.Join(base, p))
	}
}
