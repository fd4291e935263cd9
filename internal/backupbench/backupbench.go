// Package backupbench compares the project's backup and restore with doing
// the same by hand, for `go tool mage bench-backup`: a MariaDB database of
// a few hundred MB (BENCH_MB), Redis and a files volume. By hand is what a
// careful operator would type: mariadb-dump and redis-cli SAVE through
// docker exec, then restic backup; and for a restore, restic restore aside,
// stop, refill the volumes, start the databases together, wait until
// healthy, load the dumps, start the rest. Each side runs several times,
// alternating which goes first; medians are compared, as whole processes
// (`go tool mage backup` and `restore` against the by-hand commands) and in
// process (package backup against the same).
package backupbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

const stack = `services:
  mariadb:
    image: ` + provision.DebianImage + `
    pull_policy: never
    command: ["run-mariadb"]
    networks: [private]
    volumes: ["mysql:/var/lib/mysql"]
    healthcheck: {test: ["CMD", "mariadb-admin", "ping", "-uroot"], interval: 1s, retries: 120}
    labels:
      selfhosted.backup.dump: mariadb-dump -uroot --all-databases --single-transaction
      selfhosted.backup.restore: mariadb -uroot
      selfhosted.backup.exclude: mysql
  redis:
    image: ` + provision.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    networks: [private]
    volumes: ["redis:/data"]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 1s, retries: 120}
    labels:
      selfhosted.backup.dump: redis-cli SAVE
      selfhosted.backup.restore: "true"
  files:
    image: ` + provision.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    networks: [private]
    volumes: ["files:/files"]
networks:
  private:
volumes:
  mysql:
  redis:
  files:
  dumps:
`

// Options tune the benchmark.
type Options struct {
	// Module is the selfhosted module's folder, where `go tool mage` runs.
	Module string
	// MB is the database's size (default 300); Runs per side (default 3).
	MB, Runs int
}

type bench struct {
	ctx      context.Context
	opts     Options
	root     string
	project  compose.Project
	engine   *backup.DockerEngine
	o        backup.Options
	set      backup.Set
	dumpsDir string
	env      []string // the stack's restic variables, for the by-hand side
}

// Run prints the comparison to out.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	if opts.MB <= 0 {
		opts.MB = 300
	}
	if opts.Runs <= 0 {
		opts.Runs = 3
	}
	b, cleanup, err := setUp(ctx, opts, out)
	defer cleanup()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "MariaDB %d MB, Redis, a files volume; median of %d alternating runs\n", opts.MB, opts.Runs)
	fmt.Fprintf(out, "%-10s | %-34s | %-34s\n", "", "whole process", "in process")
	fmt.Fprintf(out, "%-10s | %10s %10s %10s | %10s %10s %10s\n", "step", "ours", "by hand", "ratio", "ours", "by hand", "ratio")
	for _, st := range []struct {
		name          string
		whole, inProc func() error
		byHand        func() error
	}{
		{"backup", b.backupProcess, b.backupInProcess, b.backupByHand},
		{"restore", b.restoreProcess, b.restoreInProcess, b.restoreByHand},
	} {
		var wholeT, inT, handWholeT, handInT []time.Duration
		for run := 0; run < opts.Runs; run++ {
			for _, pair := range []struct {
				ours   func() error
				oursT  *[]time.Duration
				handsT *[]time.Duration
			}{{st.whole, &wholeT, &handWholeT}, {st.inProc, &inT, &handInT}} {
				first, second := pair.ours, st.byHand
				firstT, secondT := pair.oursT, pair.handsT
				if run%2 == 1 {
					first, second, firstT, secondT = second, first, secondT, firstT
				}
				for _, side := range []struct {
					f func() error
					t *[]time.Duration
				}{{first, firstT}, {second, secondT}} {
					start := time.Now()
					if err := side.f(); err != nil {
						return fmt.Errorf("%s: %w", st.name, err)
					}
					*side.t = append(*side.t, time.Since(start))
				}
			}
		}
		w, hw, i, hi := median(wholeT), median(handWholeT), median(inT), median(handInT)
		fmt.Fprintf(out, "%-10s | %8.1fs %8.1fs %9.2fx | %8.1fs %8.1fs %9.2fx\n", st.name, w.Seconds(), hw.Seconds(), float64(w)/float64(hw), i.Seconds(), hi.Seconds(), float64(i)/float64(hi))
	}
	peak, err := b.peakMemory()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "memory: the in-process backup's Go heap peaked at %.1f MB while dumping %d MB (dumps stream to disk)\n", float64(peak)/1e6, opts.MB)
	fmt.Fprintln(out, "goal: backup and restore within 1.1x of doing the same by hand")
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// setUp makes a stack repository of its own (a module requiring this one,
// so the whole-process side builds the backup program as a team's stack
// does), starts it, fills the database and initialises the repository.
func setUp(ctx context.Context, opts Options, out io.Writer) (*bench, func(), error) {
	work, err := os.MkdirTemp("", "selfhosted-bench-backup-")
	if err != nil {
		return nil, func() {}, err
	}
	b := &bench{ctx: ctx, opts: opts, root: filepath.Join(work, "stack")}
	name := fmt.Sprintf("benchbackup%d", time.Now().Unix()%1e6)
	repo := filepath.Join("/var/backups/selfhosted", name)
	cleanup := func() {
		_ = run.Local{}.Run(context.WithoutCancel(ctx), b.project.DownEverything(), run.Streams{})
		os.RemoveAll(work)
		os.RemoveAll(repo)
	}
	service, err := os.ReadFile(filepath.Join(opts.Module, "services", "backup", "docker-compose.backup.yml"))
	if err != nil {
		return b, cleanup, err
	}
	sum, err := os.ReadFile(filepath.Join(opts.Module, "go.sum"))
	if err != nil {
		return b, cleanup, err
	}
	restic := "RESTIC_REPOSITORY=" + repo + "\nRESTIC_PASSWORD=bench\n"
	files := map[string]string{
		".env":   "COMPOSE_PROJECT_NAME=" + name + "\nRESTIC_IMAGE=" + provision.DebianImage + "\n" + restic,
		"go.mod": "module example.com/bench\n\ngo 1.26.0\n\nrequire github.com/selfhosted-go/selfhosted v0.0.0\n\nreplace github.com/selfhosted-go/selfhosted => " + opts.Module + "\n",
		"go.sum": string(sum),
		"services/backup/docker-compose.backup.yml": string(service),
		"services/data/docker-compose.data.yml":     stack,
	}
	for f, content := range files {
		p := filepath.Join(b.root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return b, cleanup, err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return b, cleanup, err
		}
	}
	b.env = []string{"RESTIC_REPOSITORY=" + repo, "RESTIC_PASSWORD=bench", "RESTIC_CACHE_DIR=" + filepath.Join(work, "cache")}
	if b.project, err = compose.Open(b.root, nil); err != nil {
		return b, cleanup, err
	}
	b.project.Dir = b.root
	fmt.Fprintf(out, "setting up: building the backup program, starting the stack, writing %d MB into MariaDB...\n", opts.MB)
	arch, err := backup.ServerGOARCH(ctx, run.Local{})
	if err != nil {
		return b, cleanup, err
	}
	build := backup.BuildCommand(arch, filepath.Join(b.root, backup.BinaryPath))
	build.Dir = b.root
	if out, err := run.Output(ctx, run.Local{}, build); err != nil {
		return b, cleanup, fmt.Errorf("build: %w: %s", err, out)
	}
	if out, err := run.Output(ctx, run.Local{}, b.project.UpWait("mariadb", "redis", "files")); err != nil {
		return b, cleanup, fmt.Errorf("up: %w: %s", err, out)
	}
	rows := opts.MB * 1000 // a row is about 1 KB
	fill := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS app; CREATE TABLE app.big (id INT PRIMARY KEY, v TEXT); INSERT INTO app.big SELECT seq, REPEAT(MD5(seq), 31) FROM app.seq_1_to_%d", rows)
	if out, err := run.Output(ctx, run.Local{}, b.project.Exec("mariadb", false, "mariadb", "-uroot", "-e", fill)); err != nil {
		return b, cleanup, fmt.Errorf("fill: %w: %s", err, out)
	}
	if out, err := run.Output(ctx, run.Local{}, b.project.Exec("files", false, "sh", "-c", "for i in $(seq 1 500); do head -c 20000 /dev/urandom > /files/f$i; done")); err != nil {
		return b, cleanup, fmt.Errorf("files: %w: %s", err, out)
	}
	if b.engine, err = backup.NewDockerEngine(); err != nil {
		return b, cleanup, err
	}
	if b.dumpsDir, err = backup.FindDumpsDir(ctx, b.engine, name); err != nil {
		return b, cleanup, err
	}
	if err := os.MkdirAll(b.dumpsDir, 0o700); err != nil {
		return b, cleanup, err
	}
	b.o = backup.Options{Project: name, Engine: b.engine, Runner: run.Local{}, DumpsDir: b.dumpsDir,
		Restic: backup.Restic{Host: backup.DefaultHost, Env: b.env}}
	if _, err := run.Output(ctx, run.Local{}, b.o.Restic.Init()); err != nil {
		return b, cleanup, err
	}
	hooks, _, err := backup.Discover(ctx, b.engine, name)
	if err != nil {
		return b, cleanup, err
	}
	if b.set, err = backup.Targets(ctx, b.engine, name, hooks); err != nil {
		return b, cleanup, err
	}
	return b, cleanup, nil
}

func (b *bench) mage(env []string, target string) error {
	cmd := exec.CommandContext(b.ctx, "go", "tool", "mage", "-w", b.root, target)
	cmd.Dir = b.opts.Module
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go tool mage %s: %w: %s", target, err, out)
	}
	return nil
}

func (b *bench) backupProcess() error { return b.mage(nil, "backup") }

func (b *bench) backupInProcess() error {
	_, err := backup.Backup(b.ctx, b.o)
	return err
}

func (b *bench) restoreProcess() error {
	return b.mage([]string{"CONFIRM=yes", "FORCE=1", "RESUME_BACKUPS=1"}, "restore")
}

func (b *bench) restoreInProcess() error {
	// The whole-process restore also brings the stack up (compose up).
	if _, err := backup.Restore(b.ctx, backup.RestoreOptions{Options: b.o, Force: true, Resume: true}); err != nil {
		return err
	}
	_, err := run.Output(b.ctx, run.Local{}, b.project.Up())
	return err
}

func (b *bench) container(service string) string { return b.project.Name + "-" + service + "-1" }

func (b *bench) sh(script string) error {
	cmd := exec.CommandContext(b.ctx, "sh", "-c", script)
	cmd.Env = append(os.Environ(), b.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// byHandHost is the restic host of the by-hand side's snapshots, so each
// side's restore of "latest" finds its own: ours needs its dumps, which
// the by-hand backup does not make the same way.
const byHandHost = "by-hand"

// backupByHand is what an operator would type for the same backup.
func (b *bench) backupByHand() error {
	dump := filepath.Join(b.dumpsDir, "mariadb.dump")
	var excludes []string
	for _, e := range b.set.Excludes {
		excludes = append(excludes, "--exclude "+e)
	}
	return b.sh(fmt.Sprintf(`set -e
docker exec %s mariadb-dump -uroot --all-databases --single-transaction > %s.tmp && mv %s.tmp %s
docker exec %s redis-cli SAVE >/dev/null
restic backup --quiet --host %s %s %s`, b.container("mariadb"), dump, dump, dump, b.container("redis"), byHandHost, strings.Join(excludes, " "), strings.Join(b.set.Folders(), " ")))
}

// restoreByHand restores aside, stops, refills, starts the databases
// together, waits, loads the dump, starts the rest.
func (b *bench) restoreByHand() error {
	staging := filepath.Join(backup.DefaultVolumesDir, ".bench-restore")
	var includes, refill []string
	for _, f := range b.set.Folders() {
		includes = append(includes, "--include "+f)
		refill = append(refill, fmt.Sprintf("rm -rf %[1]s/_data/* && if [ -d %[2]s%[1]s/_data ]; then mv %[2]s%[1]s/_data/* %[1]s/_data/ 2>/dev/null || true; fi", f, staging))
	}
	wait := fmt.Sprintf(`for c in %s %s; do until [ "$(docker inspect -f '{{.State.Health.Status}}' $c)" = healthy ]; do sleep 0.2; done & done; wait`, b.container("mariadb"), b.container("redis"))
	return b.sh(fmt.Sprintf(`set -e
rm -rf %[1]s
restic restore latest --host %[2]s --target %[1]s %[3]s >/dev/null
docker stop %[4]s %[5]s %[6]s >/dev/null
%[7]s
rm -rf %[1]s
docker start %[4]s %[5]s >/dev/null
`+wait+`
docker exec -i %[4]s mariadb -uroot < %[8]s
docker start %[6]s >/dev/null`, staging, byHandHost, strings.Join(includes, " "),
		b.container("mariadb"), b.container("redis"), b.container("files"), strings.Join(refill, "\n"), filepath.Join(b.dumpsDir, "mariadb.dump")))
}

// peakMemory runs one in-process backup, sampling the Go heap.
func (b *bench) peakMemory() (uint64, error) {
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	err := b.backupInProcess()
	close(done)
	mu.Lock()
	defer mu.Unlock()
	return peak, err
}
