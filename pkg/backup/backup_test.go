package backup

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestHooksFromLabels(t *testing.T) {
	h, err := HooksFromLabels("mariadb", map[string]string{
		DumpLabel:    "mariadb-dump --all-databases",
		RestoreLabel: "mariadb",
		ExcludeLabel: " mariadb , logs",
		StopLabel:    "TRUE",
	})
	require.NoError(t, err)
	assert.Equal(t, Hooks{Service: "mariadb", Dump: "mariadb-dump --all-databases", Restore: "mariadb", Exclude: []string{"logs", "mariadb"}, Stop: true}, h)

	h, err = HooksFromLabels("files", map[string]string{PathsLabel: "/srv/uploads, /srv/media", SkipLabel: "/cache", CountLabel: "mariadb"})
	require.NoError(t, err)
	assert.Equal(t, []string{"/srv/media", "/srv/uploads"}, h.Paths)
	assert.Equal(t, []string{"/cache"}, h.Skip)
	assert.Equal(t, "mariadb", h.Count)
	_, err = HooksFromLabels("files", map[string]string{PathsLabel: "relative/path"})
	assert.ErrorContains(t, err, "absolute paths")

	_, err = HooksFromLabels("db", map[string]string{ExcludeLabel: "data"})
	assert.ErrorContains(t, err, "its data would be in no backup")
	_, err = HooksFromLabels("db", map[string]string{RestoreLabel: "psql"})
	assert.ErrorContains(t, err, "no dump to restore")

	none, err := HooksFromLabels("web", nil)
	require.NoError(t, err)
	assert.Equal(t, Hooks{Service: "web"}, none)
}

func TestResticCommands(t *testing.T) {
	r := Restic{Env: []string{"RESTIC_PASSWORD=x"}, Host: "selfhosted"}
	for _, tc := range []struct {
		cmd  run.Command
		want []string
	}{
		{r.Init(), []string{"restic", "init", "--json"}},
		{r.Backup([]string{"/var/lib/docker/volumes"}, []string{"/v/a"}, []string{"scheduled"}),
			[]string{"restic", "backup", "--json", "--host", "selfhosted", "--exclude", "/v/a", "--tag", "scheduled", "/var/lib/docker/volumes"}},
		{r.Snapshots(), []string{"restic", "snapshots", "--json", "--host", "selfhosted"}},
		{r.Restore("latest", "/", "/var/lib/docker/volumes/stack_x"), []string{"restic", "restore", "latest", "--host", "selfhosted", "--target", "/", "--include", "/var/lib/docker/volumes/stack_x"}},
		{r.Forget(Retention{Last: 2, Weekly: 4}), []string{"restic", "forget", "--host", "selfhosted", "--prune", "--keep-last", "2", "--keep-weekly", "4"}},
		{r.Check("5%"), []string{"restic", "check", "--read-data-subset", "5%"}},
		{r.ListLocks(), []string{"restic", "list", "locks", "--no-lock"}},
		{r.RemoveLocks(), []string{"restic", "unlock"}},
	} {
		assert.Equal(t, tc.want, tc.cmd.Args)
		assert.Equal(t, []string{"RESTIC_PASSWORD=x"}, tc.cmd.Env, "credentials go in the environment, never in argv")
	}
}

func TestNewResticDefaultsToALocalRepositoryWithAWarning(t *testing.T) {
	r, warning := NewRestic(map[string]string{"RESTIC_PASSWORD": "p", "AWS_ACCESS_KEY_ID": "k", "DOMAIN": "x"})
	assert.ElementsMatch(t, []string{"RESTIC_PASSWORD=p", "AWS_ACCESS_KEY_ID=k", "RESTIC_REPOSITORY=" + DefaultRepository}, r.Env)
	assert.Contains(t, warning, "NOT off-site")
	_, warning = NewRestic(map[string]string{"RESTIC_REPOSITORY": "s3:x", "RESTIC_PASSWORD": "p"})
	assert.Empty(t, warning)
}

// Captured from restic 0.14 (Debian bookworm).
const (
	snapshotsJSON = `[{"time":"2026-11-24T23:34:11.068996926Z","tree":"0b70d06b","paths":["/tmp/rr/data"],"hostname":"selfhosted","username":"root","tags":["volumes"],"id":"84442975b7a4beeb506e636a3d87df73ea19de4fd2aa10af97f8529008b5b179","short_id":"84442975"}]`
	backupJSON    = "{\"message_type\":\"status\",\"percent_done\":0,\"total_files\":1,\"total_bytes\":3}\n" +
		`{"message_type":"summary","files_new":1,"files_changed":0,"files_unmodified":0,"dirs_new":3,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":1,"tree_blobs":4,"data_added":1408,"total_files_processed":1,"total_bytes_processed":3,"total_duration":0.211597274,"snapshot_id":"84442975"}` + "\n"
)

func TestParseResticJSON(t *testing.T) {
	snaps, err := ParseSnapshots([]byte(snapshotsJSON))
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	assert.Equal(t, "84442975", snaps[0].ShortID)
	assert.Equal(t, []string{"volumes"}, snaps[0].Tags)
	assert.Equal(t, time.Date(2026, 11, 24, 23, 34, 11, 68996926, time.UTC), snaps[0].Time)

	sum, err := ParseBackup([]byte(backupJSON))
	require.NoError(t, err)
	assert.Equal(t, Summary{SnapshotID: "84442975", FilesNew: 1, DataAdded: 1408, TotalFilesProcessed: 1, TotalBytesProcessed: 3, TotalDuration: 0.211597274}, sum)
	_, err = ParseBackup([]byte("{\"message_type\":\"status\"}\n"))
	assert.Error(t, err)
}

func TestClassify(t *testing.T) {
	fail := func(stderr string) error {
		return &run.ExitError{Command: run.Command{Args: []string{"restic"}}, Where: "this machine", Code: 1, Stderr: stderr}
	}
	assert.ErrorIs(t, Classify(fail("Fatal: wrong password or no key found\n")), ErrWrongPassword)
	assert.ErrorIs(t, Classify(fail("Fatal: unable to open config file: Stat: stat /x/config: no such file or directory\nIs there a repository at the following location?\n/x")), ErrNoRepository)
	var le *LockedError
	assert.ErrorAs(t, Classify(fail("unable to create lock in backend: repository is already locked by PID 7 on host by root (UID 0, GID 0)\nlock was created at 2026-11-24 23:40:00 (5s ago)\nstorage ID 1234")), &le)
	assert.Contains(t, le.Error(), "PID 7")
	assert.ErrorIs(t, le, ErrLocked)
	other := fail("something else")
	assert.Equal(t, other, Classify(other))
	assert.Nil(t, Classify(nil))
}

func TestBuildCommandAndArchitectures(t *testing.T) {
	c := BuildCommand("arm64", "out")
	assert.Equal(t, []string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "out", "github.com/selfhosted-go/selfhosted/cmd/selfhosted-backup"}, c.Args)
	assert.Equal(t, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}, c.Env)
	for machine, want := range map[string]string{"x86_64\n": "amd64", "aarch64": "arm64", "armv7l": "arm"} {
		got, err := GOARCH(machine)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := GOARCH("pdp11")
	assert.Error(t, err)
}

func TestStopOrderStopsDependentsFirst(t *testing.T) {
	c := func(svc, deps string) Container {
		return Container{ID: svc, Service: svc, Labels: map[string]string{DependsOnLabel: deps}}
	}
	order := stopOrder(map[string]Container{
		"db":    c("db", ""),
		"cache": c("cache", ""),
		"app":   c("app", "db:service_healthy:false,cache:service_healthy:false"),
		"proxy": c("proxy", "app:service_started:false"),
	})
	var names []string
	for _, o := range order {
		names = append(names, o.Service)
	}
	assert.Equal(t, []string{"proxy", "app", "cache", "db"}, names)
}

func TestSnapshotTable(t *testing.T) {
	snaps, err := ParseSnapshots([]byte(`[{"time":"2026-11-24T23:34:11Z","tags":["scheduled","project=x"],"short_id":"84442975","summary":{"total_bytes_processed":54525952}},{"time":"2026-11-23T03:00:00Z","short_id":"aaaa1111"}]`))
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, WriteTable(&out, snaps))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^ID\s+TIME\s+SIZE\s+TAGS$`, lines[0])
	assert.Contains(t, lines[1], "84442975")
	assert.Contains(t, lines[1], "52.0 MiB")
	assert.Contains(t, lines[1], "scheduled,project=x")
	assert.Regexp(t, `:00\s+-\s*$`, lines[2], "restic before 0.17 records no size")
}
