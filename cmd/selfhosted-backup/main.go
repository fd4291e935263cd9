// Command selfhosted-backup is the backup program of the stack's backup
// container (services/backup): it runs on the restic image with the Docker
// socket and the volumes folder mounted, and is configured by the stack's
// .env.
//
//	selfhosted-backup schedule           backups on BACKUP_SCHEDULE (and at start unless BACKUP_ON_START=false)
//	selfhosted-backup once               one backup; exit status 0 or 1 (Slack alert on failure)
//	selfhosted-backup snapshots          the snapshots, as a table
//	selfhosted-backup restore [--force] SNAPSHOT
//	selfhosted-backup drill [SNAPSHOT]   restore into a throw-away project, re-hydrate, report, remove
//	selfhosted-backup unlock             remove restic locks proven stale
//	selfhosted-backup init               create the restic repository
//	selfhosted-backup prune              forget per BACKUP_KEEP_*, then prune
//	selfhosted-backup check [SUBSET]     verify the repository, reading SUBSET (default 5%) of the data
//	selfhosted-backup health             exit 0 when restic and the Docker Engine answer
package main

import (
	"context"
	"fmt"
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
	if err := mainErr(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "selfhosted-backup:", err)
		os.Exit(1)
	}
}

func environment() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func mainErr(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: selfhosted-backup schedule|once|snapshots|restore|drill|unlock|init|prune|check|health")
	}
	env := environment()
	project := env["COMPOSE_PROJECT_NAME"]
	if project == "" {
		return fmt.Errorf("COMPOSE_PROJECT_NAME is not set: the backup container reads the stack's .env")
	}
	cfg, err := backup.ConfigFromEnv(env)
	if err != nil {
		return err
	}
	if cfg.Warning != "" {
		fmt.Fprintln(os.Stderr, "warning:", cfg.Warning)
	}
	engine, err := backup.NewDockerEngine()
	if err != nil {
		return err
	}
	defer engine.Close()
	o := backup.Options{
		Project: project, Engine: engine, Restic: cfg.Restic, Runner: run.Local{},
		DumpsDir: backup.DumpsDir(backup.DefaultVolumesDir, project), Retention: &cfg.Retention, Log: os.Stdout,
	}
	notify := backup.Notifier{SlackWebhookURL: env["SLACK_WEBHOOK_URL"], PingURL: env["BACKUP_PING_URL"]}
	std := run.Std()
	switch args[0] {
	case "schedule":
		o.Tags = []string{"scheduled"}
		return backup.Schedule(ctx, o, notify, env["BACKUP_SCHEDULE"], env["BACKUP_ON_START"] != "false")
	case "once":
		o.Tags = []string{"one-shot"}
		return backup.Once(ctx, o, notify)
	case "snapshots":
		return backup.ListSnapshots(ctx, o, os.Stdout)
	case "restore":
		force := len(args) > 1 && args[1] == "--force"
		snapshot := "latest"
		if rest := args[1:]; len(rest) > 0 && rest[len(rest)-1] != "--force" {
			snapshot = rest[len(rest)-1]
		}
		return backup.Restore(ctx, backup.RestoreOptions{Options: o, Snapshot: snapshot, Force: force})
	case "drill":
		snapshot := "latest"
		if len(args) > 1 {
			snapshot = args[1]
		}
		_, err := backup.Drill(ctx, o, engine, snapshot)
		return err
	case "unlock":
		locks, err := backup.Unlock(ctx, o)
		if err == nil {
			fmt.Printf("unlock: removed %d stale lock(s)\n", len(locks))
		}
		return err
	case "init":
		return o.Runner.Run(ctx, o.Restic.Init(), std)
	case "prune":
		return o.Runner.Run(ctx, o.Restic.Forget(cfg.Retention), std)
	case "check":
		subset := "5%"
		if len(args) > 1 {
			subset = args[1]
		}
		return o.Runner.Run(ctx, o.Restic.Check(subset), std)
	case "health":
		if _, err := run.Output(ctx, o.Runner, run.Command{Args: []string{"restic", "version"}}); err != nil {
			return err
		}
		_, err := engine.Containers(ctx, project)
		return err
	}
	return fmt.Errorf("unknown command %q", args[0])
}
