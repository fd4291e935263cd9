// Command selfhosted-backup is the backup program of the stack's backup
// container (services/backup): it runs on the restic image with the Docker
// socket and the volumes folder mounted, and is configured by the stack's
// .env. Its arguments are package backup's Request:
//
//	selfhosted-backup schedule                   backups on BACKUP_SCHEDULE (and at start unless BACKUP_ON_START=false)
//	selfhosted-backup once                       one backup by hand; resumes backups paused by a restore
//	selfhosted-backup snapshots                  the snapshots, as a table
//	selfhosted-backup restore [--force] [--resume-backups] SNAPSHOT
//	selfhosted-backup drill SNAPSHOT             restore aside, re-hydrate, compare with what was counted, remove
//	selfhosted-backup unlock [--foreign]         remove restic locks proven stale
//	selfhosted-backup init                       create the restic repository
//	selfhosted-backup prune                      forget per BACKUP_KEEP_*, then prune
//	selfhosted-backup check SUBSET               verify the repository, reading SUBSET of the data
//	selfhosted-backup health                     exit 0 when restic and the Docker Engine answer
//
// On failure it prints one line, "selfhosted-backup: <what went wrong>",
// with every secret it read redacted, and exits with the status package
// backup assigns to that kind of failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := environment()
	redact := backup.NewRedactor(env)
	if err := mainErr(ctx, os.Args[1:], env, redact); err != nil {
		fmt.Fprintln(os.Stderr, backup.ErrorPrefix+redact.String(err.Error()))
		code := backup.ExitCode(err)
		var usage usageError
		if errors.As(err, &usage) {
			code = backup.ExitUsage
		}
		os.Exit(code)
	}
}

type usageError struct{ error }

func environment() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func mainErr(ctx context.Context, args []string, env map[string]string, redact *backup.Redactor) error {
	req, err := backup.ParseRequest(args)
	if err != nil {
		return usageError{err}
	}
	project := env["COMPOSE_PROJECT_NAME"]
	if project == "" {
		return fmt.Errorf("COMPOSE_PROJECT_NAME is not set: the backup container reads the stack's .env")
	}
	cfg, err := backup.ConfigFromEnv(env)
	if err != nil {
		return err
	}
	out := redact.Writer(os.Stdout)
	defer flush(out)
	if cfg.Warning != "" {
		fmt.Fprintln(os.Stderr, "warning:", cfg.Warning)
	}
	engine, err := backup.NewDockerEngine()
	if err != nil {
		return err
	}
	defer engine.Close()
	dumps, err := backup.FindDumpsDir(ctx, engine, project)
	if err != nil {
		return err
	}
	o := backup.Options{
		Project: project, Engine: engine, Restic: cfg.Restic, Runner: run.Local{},
		DumpsDir: dumps, Retention: &cfg.Retention, Log: out, Redactor: redact,
	}
	notify := backup.Notifier{SlackWebhookURL: env["SLACK_WEBHOOK_URL"], PingURL: env["BACKUP_PING_URL"], Redactor: redact}
	std := run.Streams{Stdout: out, Stderr: redact.Writer(os.Stderr)}
	switch req.Verb {
	case backup.VerbSchedule:
		o.Tags = []string{"scheduled"}
		return backup.Schedule(ctx, o, notify, env["BACKUP_SCHEDULE"], env["BACKUP_ON_START"] != "false")
	case backup.VerbOnce:
		o.Tags = []string{"one-shot"}
		return backup.Once(ctx, o, notify, backup.ByHand)
	case backup.VerbSnapshots:
		return backup.ListSnapshots(ctx, o, out)
	case backup.VerbRestore:
		res, err := backup.Restore(ctx, backup.RestoreOptions{Options: o, Snapshot: req.Snapshot, Force: req.Force, Resume: req.Resume})
		if err == nil {
			fmt.Fprintf(out, "restore: refilled %d volume(s) and folder(s); re-hydrated %s\n", len(res.Refilled), strings.Join(res.Rehydrated, ", "))
		}
		return err
	case backup.VerbDrill:
		_, err := backup.Drill(ctx, o, engine, req.Snapshot)
		return err
	case backup.VerbUnlock:
		locks, err := backup.Unlock(ctx, o, backup.UnlockOptions{Foreign: req.Foreign})
		if err == nil {
			fmt.Fprintf(out, "unlock: %d lock(s) seen, none left that a live process holds\n", len(locks))
		}
		return err
	case backup.VerbInit:
		return o.Runner.Run(ctx, o.Restic.Init(), std)
	case backup.VerbPrune:
		return backup.Prune(ctx, o, cfg.Retention, std)
	case backup.VerbCheck:
		return backup.CheckRepository(ctx, o, req.Subset, std)
	case backup.VerbHealth:
		if _, err := run.Output(ctx, o.Runner, run.Command{Args: []string{"restic", "version"}}); err != nil {
			return err
		}
		_, err := engine.Containers(ctx, project)
		return err
	}
	return fmt.Errorf("unknown command %q", req.Verb)
}

func flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}
