//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/selfhosted-go/selfhosted/internal/uploadbench"
	"github.com/selfhosted-go/selfhosted/pkg/backup"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/run"
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

// Deploy checks the stack, renders, uploads the tree to SERVER and runs `up` and `prune` there.
func Deploy(ctx context.Context) error {
	c, err := serverClient(ctx, "deploy")
	if err != nil {
		return err
	}
	// The stack is checked as it will be uploaded: rendered, on this machine.
	mg.CtxDeps(ctx, Render)
	p, err := compose.Open(".")
	if err != nil {
		return err
	}
	if err := compose.CheckConfig(ctx, run.Local{}, p); err != nil {
		return err
	}
	if err := Lint(ctx); err != nil {
		return err
	}
	if variable("ALLOW_DIRTY") != "1" {
		if err := git.Check(ctx, run.Local{}); err != nil {
			return err
		}
		if variable("DRY_RUN") != "1" {
			if err := exit(git.Push(ctx, run.Local{}, run.Std())); err != nil {
				return err
			}
		}
	}
	if hasBackupService() {
		// The backup container runs the project's own program, built here
		// for the server's architecture and uploaded with the tree.
		if err := backup.Build(ctx, c.Runner("/"), moduleDir(), "."); err != nil {
			return err
		}
	}
	if err := pushFiles(ctx, c); err != nil || variable("DRY_RUN") == "1" {
		return err
	}
	r := c.Runner(variable("DIR"))
	if err := exit(r.Run(ctx, p.Up(), run.Std())); err != nil {
		return err
	}
	return exit(r.Run(ctx, compose.Prune(), run.Std()))
}

// PushFiles uploads the working tree to DIR on SERVER, incrementally and atomically (DRY_RUN=1 only prints the plan).
func PushFiles(ctx context.Context) error {
	c, err := serverClient(ctx, "push-files")
	if err != nil {
		return err
	}
	return pushFiles(ctx, c)
}

func pushFiles(ctx context.Context, c *remote.Client) error {
	if variable("DRY_RUN") == "1" {
		plan, err := c.PlanPush(ctx, variable("DIR"), ".")
		if err != nil {
			return err
		}
		fmt.Print(remote.FormatPlan(plan))
		return nil
	}
	opts := remote.PushOptions{Progress: os.Stdout}
	if term.IsTerminal(int(os.Stdout.Fd())) {
		opts = remote.WithProgressBar(opts, os.Stdout)
	}
	_, err := c.Push(ctx, variable("DIR"), ".", opts)
	return err
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

// BenchUpload compares push-files with `rsync -a --delete` on a generated tree over the loopback sshd.
func BenchUpload(ctx context.Context) error { return uploadbench.Run(ctx, os.Stdout) }

// moduleDir is the selfhosted module's folder (this magefile's), which
// holds the backup program's source; the stack may live elsewhere.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// hasBackupService reports whether the stack has the backup container.
func hasBackupService() bool {
	_, err := os.Stat("services/backup/docker-compose.backup.yml")
	return err == nil
}
