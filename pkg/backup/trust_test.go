package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckRefusesEmptyAndTruncatedDumps(t *testing.T) {
	mariadb := "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n--\n-- Host: localhost\n"
	pgCluster := "--\n-- PostgreSQL database cluster dump\n--\n"
	pg := "--\n-- PostgreSQL database dump\n--\n"
	tests := []struct {
		name       string
		head, tail string
		size       int64
		err        string
	}{
		{"empty", "", "", 0, "the dump is empty"},
		{"complete MariaDB", mariadb, "\n-- Dump completed on 2026-11-27 12:00:00\n", 100, ""},
		{"truncated MariaDB", mariadb, "INSERT INTO `t` VALUES (1),(2", 100, "MariaDB dump is incomplete"},
		{"complete pg_dumpall", pgCluster, "\n--\n-- PostgreSQL database cluster dump complete\n--\n\n", 100, ""},
		{"truncated pg_dumpall", pgCluster, "COPY public.t (v) FROM stdin;\n1\n2\n", 100, "PostgreSQL dump is incomplete"},
		{"complete pg_dump", pg, "\n--\n-- PostgreSQL database dump complete\n--\n\n", 100, ""},
		{"unknown format, not empty", "OK\n", "OK\n", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.size, []byte(tt.head), []byte(tt.tail))
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.err)
			}
		})
	}
}

func TestEdgesKeepHeadAndTailOfAStream(t *testing.T) {
	var e edges
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&e, "line %d\n", i)
	}
	assert.True(t, strings.HasPrefix(string(e.head), "line 0\nline 1\n"))
	assert.True(t, strings.HasSuffix(string(e.tail), "line 998\nline 999\n"))
	assert.LessOrEqual(t, len(e.tail), 2*edgeSize, "memory stays flat")
	assert.Equal(t, int64(len(fmt.Sprint("line 0\n"))*10+8*90+9*900), e.size)
}

func TestCountsRangesAndDifferences(t *testing.T) {
	before, err := ParseCounts("app.users 10\napp.orders 100\n")
	require.NoError(t, err)
	after, err := ParseCounts("app.users 10\napp.orders 103\napp.new 1\n")
	require.NoError(t, err)
	want := Between(before, after)
	assert.Equal(t, Range{100, 103}, want["app.orders"], "a table written during the dump may hold anything between")
	assert.Empty(t, Differences(want, Counts{"app.users": 10, "app.orders": 101, "app.new": 1}))
	assert.Equal(t, []string{
		"app.new: missing (had 1)",
		"app.orders: 0 (had 100–103)",
		"app.stray: 5 (not there when dumped)",
	}, Differences(want, Counts{"app.users": 10, "app.orders": 0, "app.stray": 5}))
	_, err = ParseCounts("garbage\n")
	assert.Error(t, err)
	redis, err := ParseCounts("db0 1102\n")
	require.NoError(t, err)
	assert.Equal(t, Counts{"db0": 1102}, redis)
}

func TestRetentionSparesTheNewestCheckedSnapshot(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	snaps := []Snapshot{
		{ID: "a", Time: t0, Tags: []string{CheckedTag}},
		{ID: "b", Time: t0.Add(time.Hour), Tags: []string{CheckedTag}},
		{ID: "c", Time: t0.Add(2 * time.Hour)}, // taken by another tool
	}
	assert.Equal(t, []string{"a"}, spare([]string{"a", "b"}, snaps))
	assert.Equal(t, []string{"c"}, spare([]string{"c"}, snaps))
	assert.Equal(t, []string{"x"}, spare([]string{"x"}, nil))
}

func TestParseForgetPlanAndLs(t *testing.T) {
	plan := `[{"tags":null,"host":"selfhosted","paths":["/v"],"keep":[{"id":"k1"}],"remove":[{"id":"r1"},{"id":"r2"}],"reasons":[]}]`
	ids, err := ParseForgetPlan([]byte("some notice\n" + plan + "\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"r1", "r2"}, ids)

	ls := `{"time":"2026-11-01T00:00:00Z","tree":"t","paths":["/v"],"hostname":"selfhosted","id":"x","short_id":"x","struct_type":"snapshot"}
{"name":"v","type":"dir","path":"/v","struct_type":"node"}
{"name":"a","type":"file","path":"/v/a","size":10,"struct_type":"node"}
{"name":"l","type":"symlink","path":"/v/l","struct_type":"node"}
{"name":"b","type":"file","path":"/v/b","size":5,"struct_type":"node"}`
	files, size, err := ParseLs([]byte(ls), "/")
	require.NoError(t, err)
	assert.Equal(t, int64(2), files)
	assert.Equal(t, int64(15), size)
}

func TestRedactorKeepsEverySecretOut(t *testing.T) {
	env := map[string]string{
		"RESTIC_PASSWORD":       "hunter2-very-secret",
		"RESTIC_REPOSITORY":     "rest:https://backup:s3cr3tpass@backup.example.com/repo",
		"AWS_SECRET_ACCESS_KEY": "AKIAsecretvalue",
		"AWS_ACCESS_KEY_ID":     "AKIAPUBLICID",
		"B2_ACCOUNT_KEY":        "b2-key-value",
		"SLACK_WEBHOOK_URL":     "https://hooks.slack.com/services/T0/B0/XYZ",
		"BACKUP_PING_URL":       "https://hc-ping.com/uuid-1234",
		"DOMAIN":                "example.com",
		"MARIADB_ROOT_PASSWORD": "not-read-by-the-backup",
	}
	r := NewRedactor(env)
	msg := "restic failed: RESTIC_PASSWORD=hunter2-very-secret rest:https://backup:s3cr3tpass@backup.example.com/repo AKIAsecretvalue b2-key-value https://hooks.slack.com/services/T0/B0/XYZ https://hc-ping.com/uuid-1234 example.com AKIAPUBLICID"
	got := r.String(msg)
	for k, v := range env {
		if k == "DOMAIN" || k == "AWS_ACCESS_KEY_ID" || k == "MARIADB_ROOT_PASSWORD" || k == "RESTIC_REPOSITORY" {
			continue
		}
		assert.NotContains(t, got, v, k)
	}
	assert.NotContains(t, got, "s3cr3tpass", "a password inside a repository URL")
	assert.Contains(t, got, "backup.example.com/repo", "the rest of the URL still says where")
	assert.Contains(t, got, "example.com")

	err := r.Error(fmt.Errorf("wrapped: %w", &DumpError{Service: "db", Err: errors.New("hunter2-very-secret leaked")}))
	assert.NotContains(t, err.Error(), "hunter2")
	assert.ErrorIs(t, err, ErrDumpFailed, "typed errors still match")

	var out strings.Builder
	w := r.Writer(&out)
	io.WriteString(w, "password: hunter2-ve")
	io.WriteString(w, "ry-secret\nnext\n")
	assert.Equal(t, "password: [redacted]\nnext\n", out.String(), "a secret split across writes of one line")
}

func TestRequestArgsRoundTrip(t *testing.T) {
	tests := []struct {
		req  Request
		args []string
	}{
		{Request{Verb: VerbOnce}, []string{"once"}},
		{Request{Verb: VerbRestore, Snapshot: "abc", Force: true, Resume: true}, []string{"restore", "--force", "--resume-backups", "abc"}},
		{Request{Verb: VerbRestore}, []string{"restore", "latest"}},
		{Request{Verb: VerbDrill, Snapshot: "abc"}, []string{"drill", "abc"}},
		{Request{Verb: VerbUnlock, Foreign: true}, []string{"unlock", "--foreign"}},
		{Request{Verb: VerbCheck}, []string{"check", "5%"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.args, tt.req.Args())
		back, err := ParseRequest(tt.args)
		require.NoError(t, err)
		want := tt.req
		if want.Verb == VerbRestore && want.Snapshot == "" {
			want.Snapshot = Latest
		}
		if want.Verb == VerbCheck && want.Subset == "" {
			want.Subset = DefaultCheckSubset
		}
		assert.Equal(t, want, back)
	}
	for _, bad := range [][]string{nil, {"nope"}, {"once", "x"}, {"restore", "--forse"}, {"restore", "a", "b"}} {
		_, err := ParseRequest(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestExitCodesCarryTheKindOfFailure(t *testing.T) {
	for _, err := range []error{
		&ExistingStateError{Volumes: []string{"p_db"}}, &BusyError{Holder: "x"}, &NoSnapshotError{ID: "x"},
		&DumpError{Service: "db", Err: errors.New("x")}, &LiveLockError{Locks: []LockState{{ID: "abcdef12", Why: "its process is running"}}}, &DrillMismatchError{Snapshot: "s", Differences: []string{"db t: 0 (had 3)"}},
		fmt.Errorf("%w: x", ErrNoRepository), fmt.Errorf("%w: x", ErrWrongPassword), &LockedError{Detail: "x"},
	} {
		code := ExitCode(err)
		assert.Greater(t, code, ExitUsage, "%T", err)
		back := FromExit(code, "some output\n"+ErrorPrefix+err.Error()+"\n")
		for _, sentinel := range []error{ErrExistingState, ErrBusy, ErrNoSnapshot, ErrDumpFailed, ErrLiveLock, ErrMismatch, ErrNoRepository, ErrWrongPassword, ErrLocked} {
			assert.Equal(t, errors.Is(err, sentinel), errors.Is(back, sentinel), "%T vs %v", err, sentinel)
		}
		assert.Equal(t, err.Error(), back.Error())
	}
	assert.Equal(t, ExitFailed, ExitCode(errors.New("other")))
	assert.Equal(t, "the backup program exited with status 1: boom", FromExit(1, "boom\n").Error())
}

// volumeEngine answers with fixed volumes and containers.
type volumeEngine struct {
	Engine
	volumes    []Volume
	containers []Container
	image      map[string]FileSum
}

func (f volumeEngine) Volumes(context.Context, string) ([]Volume, error) { return f.volumes, nil }
func (f volumeEngine) Containers(context.Context, string) ([]Container, error) {
	return f.containers, nil
}
func (f volumeEngine) ImageFiles(context.Context, string, string) (map[string]FileSum, error) {
	return f.image, nil
}

func TestHoldingDataCountsOnlyWhatAFreshCreateDidNotPutThere(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, files map[string]string) Volume {
		dir := filepath.Join(root, name, "_data")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for f, content := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644))
		}
		return Volume{Name: name, Mountpoint: dir}
	}
	flag := "flag from the image\n"
	fresh := mk("p_mysql", map[string]string{"debian-10.11.flag": flag})
	empty := mk("p_cache", nil)
	used := mk("p_files", map[string]string{"upload.jpg": "data"})
	changed := mk("p_other", map[string]string{"debian-10.11.flag": "edited\n"})
	sum, err := hashFile(filepath.Join(fresh.Mountpoint, "debian-10.11.flag"))
	require.NoError(t, err)
	e := volumeEngine{
		image: map[string]FileSum{"debian-10.11.flag": {Size: int64(len(flag)), Hash: sum}},
		containers: []Container{{Image: "mariadb", Mounts: []Mount{
			{Type: "volume", Name: "p_mysql", Destination: "/var/lib/mysql"},
			{Type: "volume", Name: "p_other", Destination: "/var/lib/mysql"},
		}}},
	}
	lock := mk("p_dumps", map[string]string{hostLockFile: "", hostLockInfo: "backup in container x"})
	full, err := HoldingData(context.Background(), e, Set{Volumes: []Volume{fresh, empty, used, changed, lock}}, e.containers, internalFiles(lock.Mountpoint))
	require.NoError(t, err)
	assert.Equal(t, []string{"p_files", "p_other"}, full)
}

func TestTargetsAreTheProjectsOwnVolumes(t *testing.T) {
	e := volumeEngine{volumes: []Volume{
		{Name: "p_dumps", Mountpoint: "/v/p_dumps/_data", ComposeName: "dumps"},
		{Name: "custom-name", Mountpoint: "/v/custom-name/_data", ComposeName: "named"},
		{Name: "p_mysql", Mountpoint: "/v/p_mysql/_data", ComposeName: "mysql"},
	}}
	set, err := Targets(context.Background(), e, "p", []Hooks{
		{Service: "db", Dump: "x", Exclude: []string{"mysql"}},
		{Service: "files", Paths: []string{"/srv/uploads"}},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"/srv/uploads", "/v/custom-name", "/v/p_dumps", "/v/p_mysql"}, set.Folders())
	assert.Equal(t, []string{"/v/p_mysql"}, set.Excludes)
	_, err = Targets(context.Background(), volumeEngine{}, "p", nil)
	var nothing *NothingToBackUpError
	assert.ErrorAs(t, err, &nothing)
}

func TestHostLockLetsOneRunAtATime(t *testing.T) {
	dir := t.TempDir()
	var said []string
	say := func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) }
	release, err := lockHost(context.Background(), dir, "backup", time.Second, say)
	require.NoError(t, err)
	_, err = lockHost(context.Background(), dir, "restore", 1500*time.Millisecond, say)
	var busy *BusyError
	require.ErrorAs(t, err, &busy)
	assert.Contains(t, busy.Holder, "backup in container")
	assert.Contains(t, said[0], "waiting for another backup run")
	release()
	again, err := lockHost(context.Background(), dir, "restore", time.Second, say)
	require.NoError(t, err)
	again()
}
