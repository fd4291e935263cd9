package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// The stack under test: MariaDB and PostgreSQL (live volumes excluded,
// dumped, counted and restored; restores stop at the first error), Redis
// (its RDB backed up as a file, keys counted), an app with an SQLite-style
// state stopped during snapshots, and a service whose dump can be made to
// fail.
const e2eStack = "services:\n" + testenv.MariaDBService + `  postgres:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-postgres"]
    restart: unless-stopped
    networks: [private]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck: {test: ["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: pg_dumpall -U postgres
      selfhosted.backup.restore: sh -c 'grep -vx "CREATE ROLE postgres;" | psql -v ON_ERROR_STOP=1 -q -o /dev/null -U postgres -d postgres'
      selfhosted.backup.exclude: pgdata
      selfhosted.backup.count: postgres
  redis:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    restart: unless-stopped
    networks: [private]
    volumes: ["redis:/data", "dumps:/dumps"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: redis-cli SAVE
      selfhosted.backup.restore: "true"
      selfhosted.backup.count: redis
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    volumes: ["appdata:/data"]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    labels:
      selfhosted.backup.stop: "true"
      selfhosted.backup.dump: sh -c 'test ! -e /tmp/fail || { echo partial; exit 3; }; echo app-ok'
networks:
  private:
volumes:
  mysql:
  pgdata:
  redis:
  dumps:
  appdata:
`

// e2e is a running stack of its own with a restic repository.
type e2e struct {
	t       *testing.T
	ctx     context.Context
	project project
	opts    Options
	engine  *DockerEngine
	log     *syncLog
}

func requireBackupComponents(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "restic")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "backups read and restore Docker's volumes folder")
	}
}

// newE2E starts stack as project name-<n> and returns it ready to back up.
func newE2E(t *testing.T, name, stack string, wait bool) *e2e {
	t.Helper()
	requireBackupComponents(t)
	ctx := context.Background()
	root := t.TempDir()
	project := fmt.Sprintf("%s%d", name, time.Now().UnixNano()%1e9)
	testenv.WriteFiles(t, root, map[string]string{
		".env":                                  "COMPOSE_PROJECT_NAME=" + project + "\n",
		"services/data/docker-compose.data.yml": stack,
	})
	p := openProject(t, root, project)
	t.Cleanup(func() { _ = run.Local{}.Run(ctx, p.DownEverything(), run.Streams{}) })
	up := p.Up()
	if wait {
		up = p.UpWait()
	}
	out, err := run.Output(ctx, run.Local{}, up)
	require.NoError(t, err, "%s", out)
	engine, err := NewDockerEngine()
	require.NoError(t, err)
	t.Cleanup(func() { engine.Close() })
	repo := t.TempDir()
	log := &syncLog{}
	e := &e2e{t: t, ctx: ctx, project: p, engine: engine, log: log, opts: Options{
		Project: project, Engine: engine, Runner: run.Local{},
		Restic:   Restic{Host: DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + repo, "RESTIC_PASSWORD=e2e-password-value", "RESTIC_CACHE_DIR=" + filepath.Join(repo, ".cache")}},
		DumpsDir: DumpsDir(DefaultVolumesDir, project),
		Log:      log, LockWait: time.Minute, HealthWait: time.Minute,
		Redactor: NewRedactor(map[string]string{"RESTIC_PASSWORD": "e2e-password-value"}),
	}}
	_, err = resticOutput(ctx, run.Local{}, e.opts.Restic.Init())
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	return e
}

func (e *e2e) exec(service string, cmd ...string) string {
	e.t.Helper()
	out, err := run.Output(e.ctx, run.Local{}, e.project.Exec(service, cmd...))
	require.NoError(e.t, err, "%s: %v: %s", service, cmd, out)
	return strings.TrimSpace(string(out))
}

// write puts a value and n rows, keys and files into every service.
func (e *e2e) write(value string, n int) {
	e.exec("mariadb", "mariadb", "-uroot", "-e", fmt.Sprintf("CREATE DATABASE IF NOT EXISTS app; DROP TABLE IF EXISTS app.t; CREATE TABLE app.t (id INT PRIMARY KEY, v TEXT); INSERT INTO app.t SELECT seq, '%s' FROM app.seq_1_to_%d", value, n))
	e.exec("postgres", "psql", "-q", "-U", "postgres", "-c", fmt.Sprintf("DROP TABLE IF EXISTS t; CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, '%s' FROM generate_series(1, %d) g", value, n))
	e.exec("redis", "sh", "-c", fmt.Sprintf("redis-cli FLUSHALL >/dev/null; for i in $(seq 1 %d); do echo SET k$i %s; done | redis-cli >/dev/null", n/10, value))
	e.exec("app", "sh", "-c", fmt.Sprintf("rm -rf /data/*; for i in $(seq 1 %d); do echo %s-$i > /data/f$i; done", n/10, value))
}

// read says what every service holds: value, rows, keys, files.
func (e *e2e) read() []string {
	return []string{
		e.exec("mariadb", "mariadb", "-uroot", "-N", "-e", "SELECT CONCAT(MIN(v), ' ', COUNT(*)) FROM app.t"),
		e.exec("postgres", "psql", "-U", "postgres", "-tAc", "SELECT min(v) || ' ' || count(*) FROM t"),
		e.exec("redis", "sh", "-c", `echo "$(redis-cli GET k1) $(redis-cli DBSIZE)"`),
		e.exec("app", "sh", "-c", `echo "$(cut -d- -f1 /data/f1) $(ls /data | wc -l)"`),
	}
}

func (e *e2e) snapshots() []Snapshot {
	out, err := resticOutput(e.ctx, run.Local{}, e.opts.Restic.Snapshots())
	require.NoError(e.t, err)
	snaps, err := ParseSnapshots(out)
	require.NoError(e.t, err)
	return snaps
}

// restore does what the stack's restore does around the backup program:
// create the stack (it may be gone), restore, bring it up.
func (e *e2e) restore(snapshot string, force bool) error {
	e.t.Helper()
	require.NoError(e.t, run.Local{}.Run(e.ctx, e.project.Create(), run.Streams{}))
	if _, err := Restore(e.ctx, RestoreOptions{Options: e.opts, Snapshot: snapshot, Force: force}); err != nil {
		return err
	}
	out, err := run.Output(e.ctx, run.Local{}, e.project.UpWait())
	require.NoError(e.t, err, "%s", out)
	return nil
}

// snapshotAsIs snapshots the volumes as they are, dumps untouched, as a
// backup would.
func (e *e2e) snapshotAsIs(tag string) {
	e.t.Helper()
	hooks, _, err := Discover(e.ctx, e.engine, e.opts.Project)
	require.NoError(e.t, err)
	set, err := Targets(e.ctx, e.engine, e.opts.Project, hooks)
	require.NoError(e.t, err)
	_, err = resticOutput(e.ctx, run.Local{}, e.opts.Restic.Backup(set.Folders(), set.Excludes, []string{tag}))
	require.NoError(e.t, err)
}

// paths lists the files and folders of a snapshot.
func (e *e2e) paths(snapshot string) []string {
	e.t.Helper()
	out, err := resticOutput(e.ctx, run.Local{}, e.opts.Restic.Ls(snapshot))
	require.NoError(e.t, err)
	var paths []string
	for _, line := range strings.Split(string(out), "\n") {
		var node struct {
			Path       string `json:"path"`
			StructType string `json:"struct_type"`
		}
		if json.Unmarshal([]byte(line), &node) == nil && node.StructType == "node" {
			paths = append(paths, node.Path)
		}
	}
	require.NotEmpty(e.t, paths)
	return paths
}

type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// appStatus is the app's state when the snapshot started.
	project, appStatus string
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.project != "" && bytes.Contains(p, []byte("backup: snapshotting")) {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Status}}", l.project+"-app-1").Output()
		l.appStatus = strings.TrimSpace(string(out))
	}
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestIntegrationBackupAndRestoreEndToEnd(t *testing.T) {
	e := newE2E(t, "backupit", e2eStack, true)
	e.log.project = e.opts.Project
	one := []string{"one 1000", "one 1000", "one 100", "one 100"}

	// Write, back up, destroy everything, restore: the same data, with no
	// FORCE: a freshly created stack holds only what its images put there.
	e.write("one", 1000)
	first, err := Backup(e.ctx, e.opts)
	require.NoError(t, err)
	assert.Equal(t, "exited", e.log.appStatus, "the stop=true service is stopped during the snapshot")
	assert.Equal(t, "running", e.exec("app", "sh", "-c", "echo running"))
	require.NoError(t, run.Local{}.Run(e.ctx, e.project.DownEverything(), run.Streams{}))
	require.NoError(t, e.restore("latest", false))
	assert.Equal(t, one, e.read())
	assert.NotEmpty(t, Paused(e.opts.DumpsDir), "automatic backups wait after a restore")

	// Change, back up again, restore the older snapshot by id: older data.
	e.write("two", 500)
	_, err = Backup(e.ctx, e.opts)
	require.NoError(t, err)
	err = e.restore(first.SnapshotID, false)
	var existing *ExistingStateError
	require.ErrorAs(t, err, &existing, "a restore over live data needs FORCE")
	assert.Equal(t, []string{"two 500", "two 500", "two 50", "two 50"}, e.read(), "a refused restore changes nothing")
	require.NoError(t, e.restore(first.SnapshotID, true))
	assert.Equal(t, one, e.read())

	// A restore drill passes on a good snapshot, counting what came back,
	// next to the live stack, which it leaves alone.
	report, err := Drill(e.ctx, e.opts, e.engine, first.SnapshotID)
	require.NoError(t, err)
	assert.Equal(t, []string{"mariadb", "postgres", "redis"}, report.Restored)
	assert.Equal(t, []string{"mariadb", "postgres", "redis"}, report.Counted)
	assert.Contains(t, report.Volumes, "dumps")
	assert.Greater(t, report.Files, int64(100))
	assert.Equal(t, one, e.read())
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+drillLabel+"="+report.Project, "-q").Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the drill removes its containers")
	out, err = exec.Command("docker", "volume", "ls", "-q", "--filter", "label="+drillLabel+"="+report.Project).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the drill removes its volumes")

	// A drill proves content, not exit codes: a dump that lost rows loads
	// without an error, and the drill says which table came back short.
	dump, err := os.ReadFile(DumpPath(e.opts.DumpsDir, "mariadb"))
	require.NoError(t, err)
	short := bytes.Replace(dump, []byte("(1,'one'),"), nil, 1)
	require.NotEqual(t, dump, short)
	require.NoError(t, os.WriteFile(DumpPath(e.opts.DumpsDir, "mariadb"), short, 0o600))
	e.snapshotAsIs("tampered")
	_, err = Drill(e.ctx, e.opts, e.engine, "latest")
	var mismatch *DrillMismatchError
	require.ErrorAs(t, err, &mismatch)
	assert.Contains(t, err.Error(), "mariadb app.t: 999 (had 1000)")

	// An unknown snapshot id: a clear error, nothing changed.
	err = e.restore("deadbeef", true)
	var none *NoSnapshotError
	require.ErrorAs(t, err, &none)
	assert.Equal(t, one, e.read())
}

// Dumps are checked before they replace the last good one, and a restore
// stops at the first error of its hook.
func TestIntegrationBrokenDumpsNeverPass(t *testing.T) {
	e := newE2E(t, "brokendump", e2eStack, true)
	e.write("good", 200)
	_, err := Backup(e.ctx, e.opts)
	require.NoError(t, err)
	good, err := os.ReadFile(DumpPath(e.opts.DumpsDir, "postgres"))
	require.NoError(t, err)
	before := len(e.snapshots())

	for _, tc := range []struct {
		name, service, dump, why string
	}{
		{"an empty dump", "mariadb", "true", "the dump is empty"},
		{"a truncated pg_dumpall", "postgres", "sh -c 'pg_dumpall -U postgres | head -c 3000'", "PostgreSQL dump is incomplete"},
		{"a truncated mariadb-dump", "mariadb", "sh -c 'mariadb-dump -uroot --all-databases | head -c 3000'", "MariaDB dump is incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hooks := Hooks{Service: tc.service, Dump: tc.dump}
			_, containers, err := Discover(e.ctx, e.engine, e.opts.Project)
			require.NoError(t, err)
			err = dumpService(e.ctx, e.engine, e.opts.DumpsDir, hooks, containers[tc.service].ID)
			require.ErrorContains(t, err, tc.why)
		})
	}
	kept, err := os.ReadFile(DumpPath(e.opts.DumpsDir, "postgres"))
	require.NoError(t, err)
	assert.Equal(t, good, kept, "the last good dump is kept")
	assert.Len(t, e.snapshots(), before)
	leftovers, _ := filepath.Glob(filepath.Join(e.opts.DumpsDir, ".*.tmp-*"))
	assert.Empty(t, leftovers)

	// A truncated dump that reached a snapshot: the restore hook stops at
	// the first error and the restore fails, instead of leaving 0 rows.
	require.NoError(t, os.WriteFile(DumpPath(e.opts.DumpsDir, "postgres"), good[:len(good)/2], 0o600))
	e.snapshotAsIs("truncated")
	err = e.restore("latest", true)
	var hook *RestoreHookError
	require.ErrorAs(t, err, &hook)
	assert.Equal(t, "postgres", hook.Service)
}

// A restore touches only the volumes Docker labels with the project: a
// sibling project named "<project>_x", whose volume names share the
// prefix, keeps its data and its running container.
func TestIntegrationRestoreSparesASiblingProject(t *testing.T) {
	const stack = `services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    volumes: ["data:/data"]
volumes:
  data:
`
	e := newE2E(t, "sib", stack, true)
	sibling := project{Name: e.opts.Project + "_x", Files: e.project.Files, Dir: e.project.Dir}
	t.Cleanup(func() { _ = run.Local{}.Run(e.ctx, sibling.DownEverything(), run.Streams{}) })
	require.NoError(t, run.Local{}.Run(e.ctx, sibling.UpWait(), run.Streams{}))
	mine := func(p project, cmd string) string {
		out, err := run.Output(e.ctx, run.Local{}, p.Exec("app", "sh", "-c", cmd))
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	mine(e.project, "echo mine > /data/f")
	mine(sibling, "echo sibling > /data/f")
	startedBefore := strings.TrimSpace(testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", sibling.Name+"-app-1"))

	res, err := Backup(e.ctx, e.opts)
	require.NoError(t, err)
	for _, p := range e.paths(res.SnapshotID) {
		assert.NotContains(t, p, sibling.Name+"_data", "another project's volume is not in the snapshot")
	}

	mine(e.project, "echo changed > /data/f")
	mine(sibling, "echo sibling-new > /data/f")
	_, err = Restore(e.ctx, RestoreOptions{Options: e.opts, Snapshot: res.SnapshotID, Force: true})
	require.NoError(t, err)
	assert.Equal(t, "mine", mine(e.project, "cat /data/f"))
	assert.Equal(t, "sibling-new", mine(sibling, "cat /data/f"), "the sibling's data is untouched")
	assert.Equal(t, startedBefore, strings.TrimSpace(testenv.Docker(t, "inspect", "-f", "{{.State.StartedAt}}", sibling.Name+"-app-1")), "and its container was not stopped")
}

// No secret reaches an error or an alert: a killed restic, an unreachable
// repository, an unknown snapshot.
func TestIntegrationSecretsNeverLeak(t *testing.T) {
	const stack = `services:
  cache:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    volumes: ["redis:/data"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: redis-cli SAVE
volumes:
  redis:
`
	e := newE2E(t, "secret", stack, true)
	const secret = "e2e-password-value"
	var alerts []string
	var mu sync.Mutex
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		alerts = append(alerts, string(body))
		mu.Unlock()
	}))
	defer slack.Close()
	notify := Notifier{SlackWebhookURL: slack.URL, Redactor: e.opts.Redactor}

	// A restic killed mid-way (the context ends).
	ctx, cancel := context.WithCancel(e.ctx)
	go func() {
		for !strings.Contains(e.log.String(), "snapshotting") {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	killed := Once(ctx, e.opts, notify, ByHand)
	require.Error(t, killed)

	unreachable := e.opts
	unreachable.Restic.Env = []string{"RESTIC_REPOSITORY=sftp:nobody@127.0.0.1:9/repo", "RESTIC_PASSWORD=" + secret}
	failed := Once(e.ctx, unreachable, notify, ByHand)
	require.Error(t, failed)

	_, unknown := Drill(e.ctx, e.opts, e.engine, "deadbeef")
	require.Error(t, unknown)

	for _, err := range []error{killed, failed, unknown} {
		assert.NotContains(t, err.Error(), secret)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, alerts, 2)
	for _, a := range alerts {
		assert.NotContains(t, a, secret)
		assert.Contains(t, a, "FAILED")
	}
	assert.NotContains(t, e.log.String(), secret)
}

// A backup at start waits for its database instead of failing on a
// server that does not accept connections yet; and two backups at once
// take turns.
func TestIntegrationBackupsWaitForTheDatabaseAndForEachOther(t *testing.T) {
	e := newE2E(t, "waits", e2eStack, false)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Backup(e.ctx, e.opts)
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Contains(t, e.log.String(), "waiting for another backup run to finish")
	snaps := e.snapshots()
	require.Len(t, snaps, 2)
	for _, s := range snaps {
		assert.Contains(t, s.Tags, CheckedTag)
		for _, p := range e.paths(s.ID) {
			assert.NotContains(t, p, ".tmp-", "a dump being written never enters a snapshot")
			assert.NotContains(t, p, hostLockFile)
		}
	}
}

// The README's recovery with plain restic, for when this tool is gone.
func TestIntegrationPlainResticRecoveryFromTheREADME(t *testing.T) {
	const stack = `services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    volumes: ["files:/files"]
volumes:
  files:
`
	e := newE2E(t, "plain", stack, true)
	_, err := run.Output(e.ctx, run.Local{}, e.project.Exec("app", "sh", "-c", "echo precious > /files/a"))
	require.NoError(t, err)
	_, err = Backup(e.ctx, e.opts)
	require.NoError(t, err)
	require.NoError(t, run.Local{}.Run(e.ctx, e.project.DownEverything(), run.Streams{}))
	require.NoError(t, run.Local{}.Run(e.ctx, e.project.Create(), run.Streams{}))

	// As written in the README, with the project's name.
	script := `restic snapshots --host selfhosted >/dev/null
restic restore latest --host selfhosted --target / --include "/var/lib/docker/volumes/${PROJECT}_*"`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(append(os.Environ(), e.opts.Restic.Env...), "PROJECT="+e.opts.Project)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, run.Local{}.Run(e.ctx, e.project.UpWait(), run.Streams{}))
	got, err := run.Output(e.ctx, run.Local{}, e.project.Exec("app", "cat", "/files/a"))
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(got))
}
