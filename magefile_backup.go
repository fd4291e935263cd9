//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/selfhosted-go/selfhosted/internal/backupbench"
	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// inContainer runs the backup program in a one-shot backup container on
// SERVER: `docker compose run --rm backup ARGS`.
func inContainer(ctx context.Context, args ...string) error {
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	return exit(r.Run(ctx, p.Run("backup", tty(), args...), run.Std()))
}

// backupSetup reads the stack and .env for the backup targets run on this
// machine (SERVER unset): pkg/backup drives the local Docker and restic.
func backupSetup(ctx context.Context, target string) (backup.Options, backup.Config, func(), error) {
	project, err := compose.ProjectName(".")
	if err != nil {
		return backup.Options{}, backup.Config{}, nil, err
	}
	env, err := render.Env(".")
	if err != nil {
		return backup.Options{}, backup.Config{}, nil, err
	}
	cfg, err := backup.ConfigFromEnv(env)
	if err != nil {
		return backup.Options{}, backup.Config{}, nil, err
	}
	if cfg.Warning != "" {
		fmt.Fprintln(os.Stderr, "warning:", cfg.Warning)
	}
	engine, err := backup.NewDockerEngine()
	if err != nil {
		return backup.Options{}, backup.Config{}, nil, err
	}
	o := backup.Options{
		Project: project, Engine: engine, Restic: cfg.Restic, Runner: run.Local{},
		DumpsDir: backup.DumpsDir(backup.DefaultVolumesDir, project), Log: os.Stdout,
	}
	return o, cfg, func() { engine.Close() }, nil
}

// withBackup runs f with the backup options of this machine's stack.
func withBackup(ctx context.Context, target string, f func(backup.Options, backup.Config) error) error {
	o, cfg, done, err := backupSetup(ctx, target)
	if err != nil {
		return err
	}
	defer done()
	return f(o, cfg)
}

// Backup dumps every database, then snapshots the project's volumes with restic, once.
func Backup(ctx context.Context) error {
	if variable("SERVER") != "" {
		return inContainer(ctx, "once")
	}
	return withBackup(ctx, "backup", func(o backup.Options, cfg backup.Config) error {
		o.Retention = &cfg.Retention
		o.Tags = []string{"one-shot"}
		_, err := backup.Backup(ctx, o)
		return err
	})
}

// ListSnapshots lists the restic snapshots: id, time, tags.
func ListSnapshots(ctx context.Context) error {
	if variable("SERVER") != "" {
		return inContainer(ctx, "snapshots")
	}
	return withBackup(ctx, "list-snapshots", func(o backup.Options, _ backup.Config) error {
		return backup.ListSnapshots(ctx, o, os.Stdout)
	})
}

// Restore restores SNAPSHOT (default latest) onto an empty state and re-hydrates the databases, after confirmation (FORCE=1 over existing data).
func Restore(ctx context.Context) error {
	snapshot := variable("SNAPSHOT")
	if snapshot == "" {
		snapshot = "latest"
	}
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	question := fmt.Sprintf("Restore snapshot %s of project %s on %s? Its containers are stopped and its volumes emptied, then refilled from the snapshot.", snapshot, p.Name, r.Where())
	if err := confirm.Std().Confirm(question); err != nil {
		return err
	}
	if variable("SERVER") != "" {
		// The stack may have been destroyed: create it (stopped), restore
		// from inside the backup container, then bring it up.
		if err := exit(r.Run(ctx, p.Create(), run.Std())); err != nil {
			return err
		}
		args := []string{"restore"}
		if variable("FORCE") == "1" {
			args = append(args, "--force")
		}
		if err := inContainer(ctx, append(args, snapshot)...); err != nil {
			return err
		}
		return exit(r.Run(ctx, p.Up(), run.Std()))
	}
	return withStack(ctx, "restore", func(o backup.Options, s *compose.Stack, hooks []backup.Hooks) error {
		return backup.Restore(ctx, backup.RestoreOptions{Options: o, Snapshot: snapshot, Force: variable("FORCE") == "1",
			Compose: s.Project, ComposeRunner: run.Local{}, Hooks: hooks})
	})
}

// withStack is withBackup plus the stack's model and backup hooks.
func withStack(ctx context.Context, target string, f func(backup.Options, *compose.Stack, []backup.Hooks) error) error {
	return withBackup(ctx, target, func(o backup.Options, _ backup.Config) error {
		s, err := compose.Load(ctx, ".")
		if err != nil {
			return err
		}
		hooks, err := backup.HooksOf(s)
		if err != nil {
			return err
		}
		return f(o, s, hooks)
	})
}

// RestoreDrill restores SNAPSHOT (default latest) into a throw-away project, re-hydrates its databases, reports, and removes it.
func RestoreDrill(ctx context.Context) error {
	snapshot := variable("SNAPSHOT")
	if snapshot == "" {
		snapshot = "latest"
	}
	if variable("SERVER") != "" {
		return inContainer(ctx, "drill", snapshot)
	}
	return withBackup(ctx, "restore-drill", func(o backup.Options, _ backup.Config) error {
		_, err := backup.Drill(ctx, o, o.Engine.(*backup.DockerEngine), snapshot)
		return err
	})
}

// Unlock removes stale restic locks, only after proving no backup is running.
func Unlock(ctx context.Context) error {
	if variable("SERVER") != "" {
		return inContainer(ctx, "unlock")
	}
	return withBackup(ctx, "unlock", func(o backup.Options, _ backup.Config) error {
		locks, err := backup.Unlock(ctx, o)
		if err == nil {
			fmt.Printf("unlock: removed %d stale lock(s)\n", len(locks))
		}
		return err
	})
}

// Init creates the restic repository.
func Init(ctx context.Context) error {
	if variable("SERVER") != "" {
		return inContainer(ctx, "init")
	}
	return resticVerb(ctx, "init", func(r backup.Restic) run.Command { return r.Init() })
}

// Forget forgets snapshots beyond the retention policy (BACKUP_KEEP_*) and prunes the repository.
func Forget(ctx context.Context) error {
	if variable("SERVER") != "" {
		return inContainer(ctx, "prune")
	}
	return withBackup(ctx, "backup-prune", func(o backup.Options, cfg backup.Config) error {
		return exit(o.Runner.Run(ctx, o.Restic.Forget(cfg.Retention), run.Std()))
	})
}

// Check verifies the restic repository, reading a subset of the data (CHECK_SUBSET, default 5%).
func Check(ctx context.Context) error {
	subset := variable("CHECK_SUBSET")
	if subset == "" {
		subset = "5%"
	}
	if variable("SERVER") != "" {
		return inContainer(ctx, "check", subset)
	}
	return resticVerb(ctx, "check", func(r backup.Restic) run.Command { return r.Check(subset) })
}

func resticVerb(ctx context.Context, target string, build func(backup.Restic) run.Command) error {
	return withBackup(ctx, target, func(o backup.Options, _ backup.Config) error {
		return exit(o.Runner.Run(ctx, build(o.Restic), run.Std()))
	})
}

// BenchBackup compares the project's backup and restore with plain restic on the same volumes.
func BenchBackup(ctx context.Context) error { return backupbench.Run(ctx, os.Stdout) }
