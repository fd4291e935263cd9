// Package backupbench compares the project's backup and restore with plain
// restic on the same volumes (2,000 files, 52 MB), in one run, for
// `go tool mage bench-backup`. The project's dump time is reported apart:
// the target (at most 1.05x plain restic) is about what the project adds
// around restic, not about the databases' own dump time.
package backupbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

const stack = `services:
  files:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    volumes: ["files:/files"]
  redis:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["run-redis"]
    volumes: ["redis:/data", "dumps:/dumps"]
    labels:
      selfhosted.backup.dump: redis-cli SAVE
      selfhosted.backup.restore: "true"
volumes:
  files:
  redis:
  dumps:
`

// Run prints the comparison to out.
func Run(ctx context.Context, out io.Writer) error {
	work, err := os.MkdirTemp("", "selfhosted-bench-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	project := fmt.Sprintf("benchbackup%d", time.Now().Unix()%1e6)
	root := filepath.Join(work, "stack")
	if err := os.MkdirAll(filepath.Join(root, "services", "bench"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, ".env"), []byte("COMPOSE_PROJECT_NAME="+project+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "services", "bench", "docker-compose.bench.yml"), []byte(stack), 0o644); err != nil {
		return err
	}
	p, err := compose.Open(root)
	if err != nil {
		return err
	}
	p.Dir = root
	local := run.Local{}
	defer local.Run(context.WithoutCancel(ctx), p.DownEverything(), run.Streams{})
	if err := local.Run(ctx, p.UpWait(), run.Streams{}); err != nil {
		return err
	}
	data := filepath.Join(backup.VolumePath(backup.DefaultVolumesDir, project, "files"), "_data")
	buf := make([]byte, 52<<20/2000)
	for i := 0; i < 2000; i++ {
		_, _ = rand.Read(buf)
		if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("f%04d.bin", i)), buf, 0o644); err != nil {
			return err
		}
	}
	paths, err := backup.ProjectVolumes(backup.DefaultVolumesDir, project)
	if err != nil {
		return err
	}
	repo := func(name string) backup.Restic {
		return backup.Restic{Host: backup.DefaultHost, Env: []string{"RESTIC_REPOSITORY=" + filepath.Join(work, name), "RESTIC_PASSWORD=bench", "RESTIC_CACHE_DIR=" + filepath.Join(work, "cache-"+name)}}
	}
	plain, ours := repo("plain"), repo("ours")
	for _, r := range []backup.Restic{plain, ours} {
		if _, err := backup.Output(ctx, local, r.Init()); err != nil {
			return err
		}
	}
	engine, err := backup.NewDockerEngine()
	if err != nil {
		return err
	}
	defer engine.Close()
	timing := &backup.Timing{}
	o := backup.Options{Project: project, Engine: engine, Restic: ours, Runner: local, DumpsDir: backup.DumpsDir(backup.DefaultVolumesDir, project), Timing: timing}

	timeIt := func(f func() error) (time.Duration, error) {
		start := time.Now()
		err := f()
		return time.Since(start), err
	}
	fmt.Fprintf(out, "2,000 files, 52 MB in %d volumes of project %s\n%-22s %12s %12s %12s %8s\n", len(paths), project, "step", "plain restic", "project", "(apart)", "ratio")
	row := func(name string, plainTime, oursTime, dumps time.Duration) {
		fmt.Fprintf(out, "%-22s %10.0fms %10.0fms %10.0fms %7.2fx\n", name, ms(plainTime), ms(oursTime), ms(dumps), float64(oursTime-dumps)/float64(plainTime))
	}
	// The order alternates (the one that runs second gets warmer caches
	// and a busier disk), so neither side is favoured.
	for i, step := range []string{"first backup", "no-op backup"} {
		var plainTime, oursTime time.Duration
		runPlain := func() error {
			var err error
			plainTime, err = timeIt(func() error {
				_, err := backup.Output(ctx, local, plain.Backup(paths, nil, nil))
				return err
			})
			return err
		}
		runOurs := func() error {
			var err error
			oursTime, err = timeIt(func() error { _, err := backup.Backup(ctx, o); return err })
			return err
		}
		first, second := runOurs, runPlain
		if i%2 == 1 {
			first, second = runPlain, runOurs
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		row(step, plainTime, oursTime, timing.Dumps)
	}
	// Plain restic restores onto the same volumes: empty them, restore in place.
	plainTime, err := timeIt(func() error {
		for _, p := range paths {
			if err := backup.EmptyDir(filepath.Join(p, "_data")); err != nil {
				return err
			}
		}
		_, err := backup.Output(ctx, local, plain.Restore("latest", "/", paths...))
		return err
	})
	if err != nil {
		return err
	}
	oursTime, err := timeIt(func() error {
		return backup.Restore(ctx, backup.RestoreOptions{Options: o, Snapshot: "latest", Force: true})
	})
	if err != nil {
		return err
	}
	row("restore", plainTime, oursTime, timing.Lifecycle)
	fmt.Fprintln(out, "(apart): the databases' own time, not compared: discovery and dumps for a backup; stopping,")
	fmt.Fprintln(out, "starting, waiting for health and loading dumps for a restore. ratio = (project - apart) / plain.")
	fmt.Fprintln(out, "target: at most 1.05x plain restic")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
