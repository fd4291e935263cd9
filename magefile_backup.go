//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/selfhosted-go/selfhosted/internal/backupbench"
	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// The backup targets run the project's backup program (cmd/selfhosted-backup)
// in a one-shot backup container, on SERVER or on this machine alike:
// `docker compose run --rm backup ARGS`. Go code can call pkg/backup directly.

func inContainer(ctx context.Context, args ...string) error {
	if _, err := os.Stat(backup.ComposeFile); err != nil {
		return fmt.Errorf("the stack has no backup container (%s)", backup.ComposeFile)
	}
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	if variable("SERVER") == "" {
		// On this machine the program is built here (deploy builds it for SERVER).
		if _, err := backup.Build(ctx, r, "."); err != nil {
			return err
		}
	}
	return exit(r.Run(ctx, p.Run("backup", tty(), args...), run.Std()))
}

// snapshotVariable is SNAPSHOT, latest by default.
func snapshotVariable() string {
	if s := variable("SNAPSHOT"); s != "" {
		return s
	}
	return "latest"
}

// Backup dumps every database, then snapshots the project's volumes with restic, once, in the backup container.
func Backup(ctx context.Context) error { return inContainer(ctx, "once") }

// ListSnapshots lists the restic snapshots: id, time, size, tags.
func ListSnapshots(ctx context.Context) error { return inContainer(ctx, "snapshots") }

// Restore restores SNAPSHOT (default latest) onto an empty state and re-hydrates the databases, after confirmation (FORCE=1 over existing data).
func Restore(ctx context.Context) error {
	snapshot := snapshotVariable()
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	question := fmt.Sprintf("Restore snapshot %s of project %s on %s? Its containers are stopped and its volumes emptied, then refilled from the snapshot.", snapshot, p.Name, r.Where())
	if err := confirm.Std().Confirm(question); err != nil {
		return err
	}
	// The stack may have been destroyed: create it (stopped), restore from
	// inside the backup container, then bring it up.
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

// RestoreDrill restores SNAPSHOT (default latest) into a throw-away project, re-hydrates its databases, reports, and removes it.
func RestoreDrill(ctx context.Context) error {
	snapshot := snapshotVariable()
	return inContainer(ctx, "drill", snapshot)
}

// Unlock removes stale restic locks, only after proving no backup is running.
func Unlock(ctx context.Context) error { return inContainer(ctx, "unlock") }

// Init creates the restic repository.
func Init(ctx context.Context) error { return inContainer(ctx, "init") }

// Forget forgets snapshots beyond the retention policy (BACKUP_KEEP_*) and prunes the repository.
func Forget(ctx context.Context) error { return inContainer(ctx, "prune") }

// Check verifies the restic repository, reading a subset of the data (CHECK_SUBSET, default 5%).
func Check(ctx context.Context) error {
	subset := variable("CHECK_SUBSET")
	if subset == "" {
		subset = "5%"
	}
	return inContainer(ctx, "check", subset)
}

// BenchBackup compares the project's backup and restore with plain restic on the same volumes.
func BenchBackup(ctx context.Context) error { return backupbench.Run(ctx, os.Stdout) }
