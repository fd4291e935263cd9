//go:build mage

package main

import "context"

// Backup dumps every database, then snapshots all volumes with restic, once, through the backup container.
func Backup(ctx context.Context) error { return notYet("backup") }

// ListSnapshots lists the restic snapshots: id, time, size, tags.
func ListSnapshots(ctx context.Context) error { return notYet("list-snapshots") }

// Restore restores SNAPSHOT (default latest) onto an empty state and re-hydrates the databases, after confirmation.
func Restore(ctx context.Context) error { return notYet("restore") }

// RestoreDrill restores a snapshot into a throw-away project and checks that it comes up healthy.
func RestoreDrill(ctx context.Context) error { return notYet("restore-drill") }

// Unlock removes stale restic locks, only after proving no backup is running.
func Unlock(ctx context.Context) error { return notYet("unlock") }

// Init creates the restic repository.
func Init(ctx context.Context) error { return notYet("init") }

// Forget forgets snapshots beyond the retention policy and prunes the repository.
func Forget(ctx context.Context) error { return notYet("backup-prune") }

// Check verifies the restic repository, reading a subset of the data.
func Check(ctx context.Context) error { return notYet("check") }

// BenchBackup compares the project's backup and restore with plain restic on the same volumes.
func BenchBackup(ctx context.Context) error { return notYet("bench-backup") }
