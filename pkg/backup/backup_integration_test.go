package backup

import (
	"bytes"
	"context"
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
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// The stack under test: MariaDB and PostgreSQL (live volumes excluded,
// dumped and restored), Redis (its RDB backed up as a file), an app with an
// SQLite-style state stopped during snapshots, and a service whose dump can
// be made to fail.
const e2eStack = `services:
  mariadb:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-mariadb"]
    restart: unless-stopped
    networks: [private]
    volumes: ["mysql:/var/lib/mysql"]
    healthcheck: {test: ["CMD", "mariadb-admin", "ping", "-uroot"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: mariadb-dump -uroot --all-databases --single-transaction
      selfhosted.backup.restore: mariadb -uroot
      selfhosted.backup.exclude: mysql
  postgres:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-postgres"]
    restart: unless-stopped
    networks: [private]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck: {test: ["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: pg_dumpall -U postgres --clean --if-exists
      selfhosted.backup.restore: psql -q -U postgres -d postgres
      selfhosted.backup.exclude: pgdata
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

type e2e struct {
	t       *testing.T
	ctx     context.Context
	project compose.Project
	opts    Options
	engine  *DockerEngine
}

func (e *e2e) exec(service string, cmd ...string) string {
	e.t.Helper()
	out, err := run.Output(e.ctx, run.Local{}, e.project.Exec(service, false, cmd...))
	require.NoError(e.t, err, "%s: %v", service, cmd)
	return strings.TrimSpace(string(out))
}

func (e *e2e) write(value string) {
	e.exec("mariadb", "mariadb", "-uroot", "-e", "CREATE DATABASE IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.t (v TEXT); DELETE FROM app.t; INSERT INTO app.t VALUES ('"+value+"')")
	e.exec("postgres", "psql", "-q", "-U", "postgres", "-c", "CREATE TABLE IF NOT EXISTS t (v text); DELETE FROM t; INSERT INTO t VALUES ('"+value+"')")
	e.exec("redis", "redis-cli", "SET", "k", value)
	e.exec("app", "sh", "-c", "echo "+value+" > /data/state")
}

func (e *e2e) read() []string {
	return []string{
		e.exec("mariadb", "mariadb", "-uroot", "-N", "-e", "SELECT v FROM app.t"),
		e.exec("postgres", "psql", "-U", "postgres", "-tAc", "SELECT v FROM t"),
		e.exec("redis", "redis-cli", "GET", "k"),
		e.exec("app", "cat", "/data/state"),
	}
}

func (e *e2e) snapshots() []Snapshot {
	out, err := Output(e.ctx, run.Local{}, e.opts.Restic.Snapshots())
	require.NoError(e.t, err)
	snaps, err := ParseSnapshots(out)
	require.NoError(e.t, err)
	return snaps
}

func (e *e2e) restore(snapshot string, force bool) error {
	s, err := compose.Load(e.ctx, e.project.Dir)
	require.NoError(e.t, err)
	hooks, err := HooksOf(s)
	require.NoError(e.t, err)
	return Restore(e.ctx, RestoreOptions{Options: e.opts, Snapshot: snapshot, Force: force, Compose: e.project, ComposeRunner: run.Local{}, Hooks: hooks})
}

// stateLog checks, when the snapshot starts, that the stop=true service is stopped.
type stateLog struct {
	mu        sync.Mutex
	project   string
	appStatus string
	buf       bytes.Buffer
}

func (l *stateLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bytes.Contains(p, []byte("backup: snapshotting")) {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Status}}", l.project+"-app-1").Output()
		l.appStatus = strings.TrimSpace(string(out))
	}
	return l.buf.Write(p)
}

func TestIntegrationBackupAndRestoreEndToEnd(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "restic")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "backups read and restore Docker's volumes folder")
	}
	ctx := context.Background()
	root := t.TempDir()
	name := fmt.Sprintf("backupit%d", time.Now().UnixNano()%1e9)
	require.NoError(t, os.WriteFile(filepath.Join(root, ".env"), []byte("COMPOSE_PROJECT_NAME="+name+"\n"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "services", "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "services", "data", "docker-compose.data.yml"), []byte(e2eStack), 0o644))
	p, err := compose.Open(root)
	require.NoError(t, err)
	p.Dir = root
	t.Cleanup(func() { _ = run.Local{}.Run(ctx, p.DownEverything(), run.Streams{}) })
	require.NoError(t, run.Local{}.Run(ctx, p.UpWait(), run.Streams{}))

	engine, err := NewDockerEngine()
	require.NoError(t, err)
	defer engine.Close()
	repo := t.TempDir()
	log := &stateLog{project: name}
	e := &e2e{t: t, ctx: ctx, project: p, engine: engine, opts: Options{
		Project: name, Engine: engine, Runner: run.Local{},
		Restic:   Restic{Host: DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + repo, "RESTIC_PASSWORD=e2e", "RESTIC_CACHE_DIR=" + filepath.Join(repo, ".cache")}},
		DumpsDir: VolumePath(DefaultVolumesDir, name, "dumps") + "/_data",
		Log:      log,
	}}
	_, err = Output(ctx, run.Local{}, e.opts.Restic.Init())
	require.NoError(t, err)

	// Write, back up, destroy everything, restore: identical data.
	e.write("one")
	first, err := Backup(ctx, e.opts)
	require.NoError(t, err, log.buf.String())
	assert.Equal(t, "exited", log.appStatus, "the stop=true service is stopped during the snapshot")
	assert.Equal(t, "running", strings.TrimSpace(e.exec("app", "sh", "-c", "echo running")))
	require.NoError(t, run.Local{}.Run(ctx, p.DownEverything(), run.Streams{}))
	require.NoError(t, e.restore("latest", false), log.buf.String())
	assert.Equal(t, []string{"one", "one", "one", "one"}, e.read())

	// Change, back up again, restore the older snapshot by id: older data.
	e.write("two")
	_, err = Backup(ctx, e.opts)
	require.NoError(t, err)
	err = e.restore(first.SnapshotID, false)
	var existing *ExistingStateError
	require.ErrorAs(t, err, &existing, "a restore over live data needs FORCE")
	assert.Equal(t, []string{"two", "two", "two", "two"}, e.read(), "a refused restore changes nothing")
	require.NoError(t, e.restore(first.SnapshotID, true), log.buf.String())
	assert.Equal(t, []string{"one", "one", "one", "one"}, e.read())

	// A failing dump: error naming the service, no new snapshot, last good dump kept.
	before := len(e.snapshots())
	good, err := os.ReadFile(DumpPath(e.opts.DumpsDir, "app"))
	require.NoError(t, err)
	e.exec("app", "touch", "/tmp/fail")
	alerts := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		alerts <- string(body)
	}))
	defer receiver.Close()
	err = Once(ctx, e.opts, Notifier{SlackWebhookURL: receiver.URL})
	select {
	case alert := <-alerts:
		assert.Contains(t, alert, "Backup of "+name+" FAILED")
		assert.Contains(t, alert, "app")
	default:
		t.Error("no alert reached the receiver")
	}
	var dumpErr *DumpError
	require.ErrorAs(t, err, &dumpErr)
	assert.Equal(t, "app", dumpErr.Service)
	assert.Len(t, e.snapshots(), before)
	kept, err := os.ReadFile(DumpPath(e.opts.DumpsDir, "app"))
	require.NoError(t, err)
	assert.Equal(t, string(good), string(kept))

	// A restore drill passes on a good snapshot, next to the live stack...
	drill := func() (DrillReport, error) { return Drill(ctx, e.opts, engine, "latest") }
	report, err := drill()
	require.NoError(t, err, log.buf.String())
	assert.Equal(t, []string{"mariadb", "postgres", "redis"}, report.Restored)
	assert.Contains(t, report.Volumes, "dumps")
	assert.Equal(t, []string{"one", "one", "one", "one"}, e.read(), "the drill leaves the live stack alone")
	leftovers, _ := filepath.Glob(filepath.Join(DefaultVolumesDir, report.Project+"_*"))
	assert.Empty(t, leftovers, "the drill removes its volumes")
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+drillLabel+"="+report.Project, "-q").Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the drill removes its containers")

	// ...and fails on a snapshot whose dump is corrupt.
	e.exec("app", "rm", "-f", "/tmp/fail")
	require.NoError(t, os.WriteFile(DumpPath(e.opts.DumpsDir, "mariadb"), []byte("this is not SQL;\n"), 0o600))
	paths, err := ProjectVolumes(DefaultVolumesDir, name)
	require.NoError(t, err)
	_, err = Output(ctx, run.Local{}, e.opts.Restic.Backup(paths, nil, []string{"corrupt"}))
	require.NoError(t, err)
	_, err = drill()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mariadb")

	// An unknown snapshot id: a clear error, nothing changed.
	err = e.restore("deadbeef", true)
	assert.ErrorContains(t, err, `no snapshot "deadbeef"`)
	assert.Equal(t, []string{"one", "one", "one", "one"}, e.read())
}
