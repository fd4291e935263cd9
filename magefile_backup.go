//go:build mage

package main

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/internal/backupbench"
	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// The backup targets run the project's backup program (cmd/selfhosted-backup)
// in a one-shot backup container, on SERVER or on this machine alike.

// withStack opens the stack (on SERVER when set) and runs f, explaining its error.
func withStack(ctx context.Context, f func(*stack.Stack) error) error {
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	return explain(f(s))
}

// Backup dumps every database, then snapshots the project's volumes with restic, once, in the backup container.
func Backup(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Backup(ctx) })
}

// ListSnapshots lists the restic snapshots: id, time, size, tags.
func ListSnapshots(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Snapshots(ctx) })
}

// Restore restores SNAPSHOT (default latest) onto an empty state and re-hydrates the databases, after confirmation (FORCE=1 over existing data, RESUME_BACKUPS=1 to let automatic backups run at once).
func Restore(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		return s.Restore(ctx, stack.RestoreOptions{Snapshot: variable("SNAPSHOT"), Force: variable("FORCE") == "1",
			Resume: variable("RESUME_BACKUPS") == "1", Confirm: confirm.Std().Confirm})
	})
}

// RestoreDrill restores SNAPSHOT (default latest) into a throw-away project, re-hydrates it, compares what it holds with what the backup counted, and removes it.
func RestoreDrill(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Drill(ctx, variable("SNAPSHOT")) })
}

// Unlock removes restic locks proven stale (UNLOCK_FOREIGN=1: also other hosts' locks unrefreshed for 2 hours).
func Unlock(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Unlock(ctx, variable("UNLOCK_FOREIGN") == "1") })
}

// Init creates the restic repository.
func Init(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.InitRepository(ctx) })
}

// Forget forgets snapshots beyond the retention policy (BACKUP_KEEP_*) and prunes the repository.
func Forget(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Forget(ctx) })
}

// Check verifies the restic repository, reading a subset of the data (CHECK_SUBSET, default 5%).
func Check(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.CheckRepository(ctx, variable("CHECK_SUBSET")) })
}

// BenchBackup compares the project's backup and restore with doing the same by hand (BENCH_MB=300: the database's size, RUNS=3).
func BenchBackup(ctx context.Context) error {
	mb, _ := strconv.Atoi(variable("BENCH_MB"))
	runs, _ := strconv.Atoi(variable("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return backupbench.Run(ctx, os.Stdout, backupbench.Options{Module: module, MB: mb, Runs: runs})
}

// explainBackup turns the backup program's typed failures into the fix.
func explainBackup(err error) error {
	server := ""
	if s := variable("SERVER"); s != "" {
		server = "SERVER=" + s + " "
	}
	switch {
	case errors.Is(err, backup.ErrExistingState):
		return mg.Fatalf(1, "%v: take a backup first if it matters, then `%sFORCE=1 go tool mage restore`", err, server)
	case errors.Is(err, backup.ErrNoRepository):
		return mg.Fatalf(1, "%v: create it with `%sgo tool mage init`, or fix RESTIC_REPOSITORY in .env", err, server)
	case errors.Is(err, backup.ErrWrongPassword):
		return mg.Fatalf(1, "%v: set the repository's password in .env (RESTIC_PASSWORD)", err)
	case errors.Is(err, backup.ErrUnreachable):
		return mg.Fatalf(1, "%v: check RESTIC_REPOSITORY and the backend's variables in .env", err)
	case errors.Is(err, backup.ErrLocked):
		return mg.Fatalf(1, "%v: if no backup is running, `%sgo tool mage unlock` removes stale locks only", err, server)
	case errors.Is(err, backup.ErrLiveLock):
		return mg.Fatalf(1, "%v: wait for it to finish (another host's lock: `%sUNLOCK_FOREIGN=1 go tool mage unlock` once it is 2 hours old)", err, server)
	case errors.Is(err, backup.ErrBusy):
		return mg.Fatalf(1, "%v: wait for it to finish and try again", err)
	case errors.Is(err, backup.ErrNoSnapshot):
		return mg.Fatalf(1, "%v: `%sgo tool mage list-snapshots` lists them", err, server)
	case errors.Is(err, backup.ErrDumpFailed), errors.Is(err, backup.ErrMismatch):
		return mg.Fatalf(1, "%v", err)
	}
	var none *stack.NoBackupServiceError
	if errors.As(err, &none) {
		return mg.Fatalf(1, "%v: add the backup service (see services/backup in selfhosted's example stack)", err)
	}
	return nil
}
