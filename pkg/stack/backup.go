package stack

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Backups run the stack's own backup program in its backup container, on
// the server or on this machine alike: `docker compose run --rm backup
// <request>` (package backup's Request). Its failures come back typed: see
// backup.FromExit.

// NoBackupServiceError reports a stack without the backup container.
type NoBackupServiceError struct{ File string }

func (e *NoBackupServiceError) Error() string {
	return fmt.Sprintf("the stack has no backup container (%s)", e.File)
}

// BackupService is the compose service of the backup container.
const BackupService = "backup"

// RunBackup runs one request of the backup program in a one-shot backup
// container, streaming its output. On this machine the program is built
// first (a deploy builds it for the server).
func (s *Stack) RunBackup(ctx context.Context, req backup.Request) error {
	if err := s.named(); err != nil {
		return err
	}
	if !s.HasBackups() {
		return &NoBackupServiceError{File: backup.ComposeFile}
	}
	if !s.Remote() {
		if err := s.buildBackup(ctx); err != nil {
			return err
		}
	}
	tail := &run.Tail{}
	err := s.runner.Run(ctx, s.Project.Run(BackupService, false, req.Args()...), run.Streams{Stdout: s.opts.Out, Stderr: io.MultiWriter(s.opts.Err, tail)})
	var exit *run.ExitError
	if errors.As(err, &exit) {
		return backup.FromExit(exit.Code, tail.String())
	}
	return err
}

// Backup dumps every database, then snapshots the project's volumes, once.
func (s *Stack) Backup(ctx context.Context) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbOnce})
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Snapshot is a snapshot id ("latest" when empty).
	Snapshot string
	// Force restores over volumes that hold data.
	Force bool
	// Resume lets automatic backups run right after the restore.
	Resume bool
	// Confirm asks a person; nil refuses (a restore replaces data).
	Confirm func(question string) error
}

// ErrNotConfirmed is returned when a destructive verb has no Confirm.
var ErrNotConfirmed = errors.New("not confirmed")

// Restore restores a snapshot onto an empty state, after confirmation: the
// stack is created if it was destroyed, the backup container restores the
// volumes and re-hydrates the databases, and the stack is brought up (on a
// server, converged to the current release).
func (s *Stack) Restore(ctx context.Context, o RestoreOptions) error {
	if !s.HasBackups() {
		return &NoBackupServiceError{File: backup.ComposeFile}
	}
	snapshot := o.Snapshot
	if snapshot == "" {
		snapshot = backup.Latest
	}
	question := fmt.Sprintf("Restore snapshot %s of project %s on %s? Its containers are stopped and its volumes emptied, then refilled from the snapshot.", snapshot, s.Project.Name, s.Where())
	if o.Confirm == nil {
		return fmt.Errorf("%w: %s", ErrNotConfirmed, question)
	}
	if err := o.Confirm(question); err != nil {
		return err
	}
	// The stack may have been destroyed: create it, stopped and empty.
	if err := s.runner.Run(ctx, s.Project.Create(), s.streams()); err != nil {
		return err
	}
	if err := s.RunBackup(ctx, backup.Request{Verb: backup.VerbRestore, Snapshot: snapshot, Force: o.Force, Resume: o.Resume}); err != nil {
		return err
	}
	return s.Up(ctx, UpOptions{})
}

// Drill restores a snapshot into a throw-away project next to the live
// one, re-hydrates it, compares what it holds with what the backup counted,
// and removes it.
func (s *Stack) Drill(ctx context.Context, snapshot string) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbDrill, Snapshot: snapshot})
}

// Snapshots prints the repository's snapshots.
func (s *Stack) Snapshots(ctx context.Context) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbSnapshots})
}

// Unlock removes restic locks proven stale; foreign lets it remove other
// hosts' locks not refreshed for backup.ForeignAge.
func (s *Stack) Unlock(ctx context.Context, foreign bool) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbUnlock, Foreign: foreign})
}

// InitRepository creates the restic repository.
func (s *Stack) InitRepository(ctx context.Context) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbInit})
}

// Forget forgets snapshots beyond the retention and prunes the repository.
func (s *Stack) Forget(ctx context.Context) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbPrune})
}

// CheckRepository verifies the repository, reading subset of its data.
func (s *Stack) CheckRepository(ctx context.Context, subset string) error {
	return s.RunBackup(ctx, backup.Request{Verb: backup.VerbCheck, Subset: subset})
}
