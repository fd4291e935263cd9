package targets

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// duration reads a duration variable such as DEPLOY_TIMEOUT=5m.
func duration(name string) (time.Duration, error) {
	v := variable(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, mg.Fatalf(2, "%s=%q is not a duration (e.g. 90s, 5m)", name, v)
	}
	return d, nil
}

// Deploy checks the stack, uploads it to SERVER as a new release, converges the changed services, waits until they are healthy, and rolls back if not (DRY_RUN=1: the plan only).
func Deploy(ctx context.Context) error {
	if err := needsServer("deploy"); err != nil {
		return err
	}
	timeout, err := duration("DEPLOY_TIMEOUT")
	if err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error {
		_, err := s.Deploy(ctx, stack.DeployOptions{DryRun: on("DRY_RUN"), AllowDirty: on("ALLOW_DIRTY"), Timeout: timeout})
		return err
	})
}

// PushFiles uploads the working tree to DIR on SERVER as a new release, incrementally and atomically (DRY_RUN=1 only prints the plan).
func PushFiles(ctx context.Context) error {
	if err := needsServer("push-files"); err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error {
		_, err := s.PushFiles(ctx, stack.PushOptions{DryRun: on("DRY_RUN")})
		return err
	})
}

// Releases lists the releases on SERVER: id, time, who, git commit, and which is current.
func Releases(ctx context.Context) error {
	if err := needsServer("releases"); err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error {
		releases, err := s.Releases(ctx)
		if err != nil {
			return err
		}
		return printReleases(releases)
	})
}

func printReleases(releases []remote.Release) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tRELEASE\tCREATED\tBY\tCOMMIT\tSTATUS")
	for _, r := range releases {
		mark, status := "", ""
		if r.Current {
			mark, status = "*", "current"
		}
		if r.Failed != "" {
			status = strings.TrimPrefix(status+", failed ("+r.Failed+")", ", ")
		}
		commit := r.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if r.Dirty {
			commit += "+dirty"
		}
		created := "-"
		if !r.Created.IsZero() {
			created = r.Created.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.ID, created, dash(r.Who), dash(commit), status)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Rollback returns SERVER to the previous release (RELEASE=<id> for another) and converges the services to it.
func Rollback(ctx context.Context) error {
	if err := needsServer("rollback"); err != nil {
		return err
	}
	timeout, err := duration("DEPLOY_TIMEOUT")
	if err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error {
		_, err := s.Rollback(ctx, stack.RollbackOptions{Release: variable("RELEASE"), Timeout: timeout})
		return err
	})
}

// SSH opens an interactive shell on SERVER, in DIR when it exists.
func SSH(ctx context.Context) error {
	if err := needsServer("ssh"); err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error { return s.Login(ctx) })
}

// SSHCommand runs COMMAND in DIR on SERVER and exits with its exit code.
func SSHCommand(ctx context.Context) error {
	if err := needsServer("ssh-command"); err != nil {
		return err
	}
	if variable("COMMAND") == "" {
		return mg.Fatalf(2, "ssh-command needs COMMAND, e.g. COMMAND='docker ps' SERVER=%s go tool mage ssh-command", variable("SERVER"))
	}
	return withStack(ctx, func(s *stack.Stack) error { return s.Command(ctx, variable("COMMAND")) })
}

// Server prints how SERVER resolves through ~/.ssh/config, in `ssh -G`'s format.
func Server(ctx context.Context) error {
	if err := needsServer("server"); err != nil {
		return err
	}
	h, err := remote.Resolve(variable("SERVER"), variable("SSH_CONFIG"))
	if err != nil {
		return explain(err)
	}
	fmt.Print(h.Format())
	return nil
}
