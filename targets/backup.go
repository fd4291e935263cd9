package targets

import (
	"context"

	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// Backup dumps every database, then snapshots the project's volumes with restic, once, in the backup container.
func Backup(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Backup(ctx) })
}

// ListSnapshots lists the restic snapshots: id, time, size, tags.
func ListSnapshots(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Snapshots(ctx) })
}

// Restore restores SNAPSHOT (default latest) onto an empty state and re-hydrates the databases, after a typed yes (CONFIRM=yes; FORCE=1 over existing data; RESUME_BACKUPS=1 lets automatic backups run at once).
func Restore(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		return s.Restore(ctx, stack.RestoreOptions{Snapshot: variable("SNAPSHOT"), Force: on("FORCE"), Resume: on("RESUME_BACKUPS"), Confirm: ask})
	})
}

// RestoreDrill restores SNAPSHOT (default latest) into a throw-away project, re-hydrates it, compares what it holds with what the backup counted, and removes it.
func RestoreDrill(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Drill(ctx, variable("SNAPSHOT")) })
}

// Unlock removes restic locks proven stale by their process (UNLOCK_FOREIGN=1: also other hosts' locks unrefreshed for 2 hours).
func Unlock(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Unlock(ctx, on("UNLOCK_FOREIGN")) })
}

// Init creates the restic repository.
func Init(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.InitRepository(ctx) })
}

// BackupPrune forgets snapshots beyond the retention policy (BACKUP_KEEP_*) and prunes the repository.
func BackupPrune(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Forget(ctx) })
}

// Check verifies the restic repository, reading a subset of the data (CHECK_SUBSET, default 5%).
func Check(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.CheckRepository(ctx, variable("CHECK_SUBSET")) })
}
