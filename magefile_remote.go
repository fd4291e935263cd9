//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/selfhosted-go/selfhosted/internal/uploadbench"
	"github.com/selfhosted-go/selfhosted/pkg/converge"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// remoteClient is the one SSH connection of this Mage run.
var remoteClient *remote.Client

// connect opens the one SSH connection of this Mage run to server, running commands in dir.
func connect(ctx context.Context, server, dir string) (run.Runner, error) {
	c, err := remote.Connect(ctx, server, variable("SSH_CONFIG"))
	if err != nil {
		return nil, err
	}
	remoteClient = c
	return c.Runner(dir), nil
}

// server returns the connection to SERVER, which must be set.
func serverClient(ctx context.Context, target string) (*remote.Client, error) {
	if variable("SERVER") == "" {
		return nil, fmt.Errorf("%s needs SERVER, a Host of ~/.ssh/config: SERVER=vps go tool mage %s", target, target)
	}
	if _, err := runner(ctx); err != nil {
		return nil, err
	}
	return remoteClient, nil
}

// openStack opens the stack of the current directory, on SERVER when set.
func openStack(ctx context.Context) (*stack.Stack, error) {
	opts := stack.Options{Dir: variable("DIR"), Environ: os.Environ(), Out: os.Stdout, Err: os.Stderr}
	if variable("SELFHOSTED_TRACE") != "" {
		opts.Trace = os.Stderr
	}
	if variable("SERVER") != "" {
		if _, err := runner(ctx); err != nil {
			return nil, err
		}
		opts.Server = remoteClient
		if term.IsTerminal(int(os.Stdout.Fd())) {
			opts.Upload = remote.ProgressBar(os.Stdout)
		}
	}
	return stack.Open(".", opts)
}

// durationVariable reads a duration variable such as DEPLOY_TIMEOUT=5m.
func durationVariable(name string) (time.Duration, error) {
	v := variable(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a duration (e.g. 90s, 5m)", name, v)
	}
	return d, nil
}

// Deploy checks the stack, uploads it to SERVER as a new release, converges the changed services, waits until they are healthy, and rolls back if not (DRY_RUN=1: the plan only).
func Deploy(ctx context.Context) error {
	if _, err := serverClient(ctx, "deploy"); err != nil {
		return err
	}
	timeout, err := durationVariable("DEPLOY_TIMEOUT")
	if err != nil {
		return err
	}
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	_, err = s.Deploy(ctx, stack.DeployOptions{DryRun: variable("DRY_RUN") == "1", AllowDirty: variable("ALLOW_DIRTY") == "1", Timeout: timeout})
	return explain(err)
}

// PushFiles uploads the working tree to DIR on SERVER as a new release, incrementally and atomically (DRY_RUN=1 only prints the plan).
func PushFiles(ctx context.Context) error {
	if _, err := serverClient(ctx, "push-files"); err != nil {
		return err
	}
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	_, err = s.PushFiles(ctx, stack.PushOptions{DryRun: variable("DRY_RUN") == "1"})
	return explain(err)
}

// Releases lists the releases on SERVER: id, time, who, git commit, and which is current.
func Releases(ctx context.Context) error {
	if _, err := serverClient(ctx, "releases"); err != nil {
		return err
	}
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	releases, err := s.Releases(ctx)
	if err != nil {
		return explain(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tRELEASE\tCREATED\tBY\tCOMMIT\tSTATUS")
	for _, r := range releases {
		mark, status := "", ""
		if r.Current {
			mark, status = "*", "current"
		}
		if r.Failed != "" {
			status = strings.TrimSpace(status + " failed, " + r.Failed)
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
	if _, err := serverClient(ctx, "rollback"); err != nil {
		return err
	}
	timeout, err := durationVariable("DEPLOY_TIMEOUT")
	if err != nil {
		return err
	}
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	_, err = s.Rollback(ctx, stack.RollbackOptions{Release: variable("RELEASE"), Timeout: timeout})
	return explain(err)
}

// explain turns the library's typed errors into one line with the fix, in
// the words of this command line.
func explain(err error) error {
	if err == nil {
		return nil
	}
	if e := explainBackup(err); e != nil {
		return e
	}
	server := variable("SERVER")
	var (
		lockErr     *remote.LockError
		noStack     *remote.NoStackError
		space       *remote.SpaceError
		changed     *remote.ChangedError
		dirty       *git.DirtyError
		failed      *stack.FailedError
		unhealthy   *converge.UnhealthyError
		noPrevious  *stack.NoPreviousReleaseError
		unknown     *remote.UnknownReleaseError
		lintErr     *stack.LintError
		needsServer *stack.NeedsServerError
	)
	switch {
	case errors.As(err, &lockErr):
		if lockErr.Stale() {
			return mg.Fatalf(1, "%v: if no deploy is running, break it with `SERVER=%s go tool mage ssh-command COMMAND='pkill -f \"flock .*%s.lock\"'`", err, server, lockErr.Dir)
		}
		return mg.Fatalf(1, "%v; wait for it to finish and try again", err)
	case errors.As(err, &noStack):
		return mg.Fatalf(1, "%v: deploy it first with `SERVER=%s go tool mage deploy`", err, server)
	case errors.As(err, &space):
		return mg.Fatalf(1, "%v: free some space on the server (e.g. `SERVER=%s go tool mage prune`), then try again", err, server)
	case errors.As(err, &changed):
		return mg.Fatalf(1, "%v: run it again once the file is saved", err)
	case errors.As(err, &dirty):
		return mg.Fatalf(1, "%v\ncommit or stash them first (ALLOW_DIRTY=1 deploys them anyway)", err)
	case errors.As(err, &failed):
		msg := err.Error()
		if errors.As(err, &unhealthy) && unhealthy.Logs != "" {
			msg += fmt.Sprintf("\nlast lines of %s's log:\n%s", unhealthy.Service, indent(unhealthy.Logs))
		}
		msg += fmt.Sprintf("\nfix it and deploy again; `SERVER=%s go tool mage releases` lists the releases", server)
		return mg.Fatal(1, msg)
	case errors.As(err, &unhealthy):
		msg := err.Error()
		if unhealthy.Logs != "" {
			msg += fmt.Sprintf("\nlast lines of %s's log:\n%s", unhealthy.Service, indent(unhealthy.Logs))
		}
		return mg.Fatal(1, msg)
	case errors.As(err, &noPrevious), errors.As(err, &unknown):
		return mg.Fatalf(1, "%v: `SERVER=%s go tool mage releases` lists them", err, server)
	case errors.As(err, &lintErr):
		for _, f := range lintErr.Findings {
			fmt.Println(f)
		}
		return mg.Fatalf(1, "%v: fix them (`go tool mage lint` lists them)", err)
	case errors.As(err, &needsServer):
		return mg.Fatalf(1, "%v: SERVER=vps go tool mage %s (vps: a Host of ~/.ssh/config)", err, needsServer.Verb)
	}
	return exit(err)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// SSH opens an interactive shell on SERVER, in DIR when it exists.
func SSH(ctx context.Context) error {
	c, err := serverClient(ctx, "ssh")
	if err != nil {
		return err
	}
	return exit(c.Runner("~").Run(ctx, remote.ShellCommand(variable("DIR")), run.Std()))
}

// SSHCommand runs COMMAND in DIR on SERVER.
func SSHCommand(ctx context.Context) error {
	c, err := serverClient(ctx, "ssh-command")
	if err != nil {
		return err
	}
	if variable("COMMAND") == "" {
		return errors.New("ssh-command needs COMMAND, e.g. COMMAND='docker ps'")
	}
	return exit(c.Runner(variable("DIR")).Run(ctx, run.Command{Args: []string{"sh", "-c", variable("COMMAND")}, Interactive: true}, run.Std()))
}

// Server prints how SERVER resolves through ~/.ssh/config, in `ssh -G`'s format.
func Server(ctx context.Context) error {
	if variable("SERVER") == "" {
		return errors.New("server needs SERVER, a Host of ~/.ssh/config: SERVER=vps go tool mage server")
	}
	h, err := remote.Resolve(variable("SERVER"), variable("SSH_CONFIG"))
	if err != nil {
		return err
	}
	fmt.Print(h.Format())
	return nil
}

// BenchUpload compares push-files with `rsync -a --delete` on a generated tree over the loopback sshd (LATENCY=40ms: each way, RUNS=5).
func BenchUpload(ctx context.Context) error {
	latency, err := durationVariable("LATENCY")
	if err != nil {
		return err
	}
	runs, _ := strconv.Atoi(variable("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return uploadbench.Run(ctx, os.Stdout, uploadbench.Options{Module: module, Runs: runs, Latency: latency})
}
