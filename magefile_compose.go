//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	shellquote "github.com/kballard/go-shellquote"
	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/selfhosted-go/selfhosted/internal/confirm"
	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// project opens the stack of the current directory and the runner it runs on.
func project(ctx context.Context) (compose.Project, run.Runner, error) {
	p, err := compose.Open(".")
	if err != nil {
		return p, nil, err
	}
	r, err := runner(ctx)
	return p, r, err
}

// compose runs one verb of the stack with this process's terminal.
func composeVerb(ctx context.Context, build func(compose.Project) run.Command) error {
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	return exit(r.Run(ctx, build(p), run.Std()))
}

func tty() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// command reads COMMAND as shell words.
func command() ([]string, error) {
	words, err := shellquote.Split(variable("COMMAND"))
	if err != nil {
		return nil, fmt.Errorf("COMMAND=%q: %w", variable("COMMAND"), err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("set COMMAND to the command to run, e.g. COMMAND='ls -l'")
	}
	return words, nil
}

func service(target string) (string, error) {
	s := variable("SERVICE")
	if s == "" {
		return "", fmt.Errorf("%s needs SERVICE, e.g. SERVICE=db go tool mage %s", target, target)
	}
	return s, nil
}

// Up renders the templates, then starts the stack (or SERVICE) in the background: `docker compose up -d --remove-orphans`.
func Up(ctx context.Context) error {
	if variable("SERVER") == "" {
		// A fresh clone has no .env: create it, secrets generated. The
		// project name comes from it, so it must exist before the stack opens.
		if _, err := secrets.EnsureEnv(ctx, ".", run.Local{}, os.Stdout); err != nil {
			return err
		}
	}
	s, err := openStack(ctx)
	if err != nil {
		return explain(err)
	}
	return explain(s.Up(ctx, stack.UpOptions{Services: optionalService()}))
}

func optionalService() []string {
	if s := variable("SERVICE"); s != "" {
		return []string{s}
	}
	return nil
}

// Restart restarts only SERVICE's containers; the others keep running untouched.
func Restart(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Restart(variable("SERVICE")) })
}

// RestartHard recreates containers and their anonymous volumes: `up -d --force-recreate --renew-anon-volumes`.
func RestartHard(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.RestartHard(variable("SERVICE")) })
}

// Down stops and removes SERVICE's containers (the whole stack's, volumes kept, when SERVICE is unset).
func Down(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Down(variable("SERVICE")) })
}

// DownEverything removes the whole stack with its volumes, after confirmation (CONFIRM=yes for scripts).
func DownEverything(ctx context.Context) error {
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	return exit(compose.DownEverything(ctx, r, p, confirm.Std(), run.Std()))
}

// Rm removes SERVICE's stopped containers.
func Rm(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Rm(variable("SERVICE")) })
}

// RmHard removes SERVICE's stopped containers with their anonymous volumes.
func RmHard(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.RmHard(variable("SERVICE")) })
}

// Prune removes unused Docker data, keeping containers labelled com.docker.keep-container=true.
func Prune(ctx context.Context) error {
	r, err := runner(ctx)
	if err != nil {
		return err
	}
	return exit(r.Run(ctx, compose.Prune(), run.Std()))
}

// Pull pulls the images of the stack (or SERVICE).
func Pull(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Pull(variable("SERVICE")) })
}

// Exec runs COMMAND in SERVICE's running container and exits with its exit code.
func Exec(ctx context.Context) error {
	svc, err := service("exec")
	if err != nil {
		return err
	}
	args, err := command()
	if err != nil {
		return err
	}
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Exec(svc, tty(), args...) })
}

// Run runs COMMAND in a new, removed-after container of SERVICE and exits with its exit code.
func Run(ctx context.Context) error {
	svc, err := service("run")
	if err != nil {
		return err
	}
	args, _ := shellquote.Split(variable("COMMAND"))
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Run(svc, tty(), args...) })
}

// Sh opens a shell in SERVICE's running container.
func Sh(ctx context.Context) error {
	svc, err := service("sh")
	if err != nil {
		return err
	}
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Sh(svc, tty()) })
}

// Logs follows the logs of the stack (or SERVICE).
func Logs(ctx context.Context) error {
	return composeVerb(ctx, func(p compose.Project) run.Command { return p.Logs(variable("SERVICE")) })
}

// Volumes lists the mounts of SERVICE's containers (all when unset).
func Volumes(ctx context.Context) error {
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	return exit(compose.Volumes(ctx, r, p, variable("SERVICE"), os.Stdout))
}

// Ports lists the stack's containers with the ports they publish.
func Ports(ctx context.Context) error {
	return composeVerb(ctx, compose.Project.Ports)
}

// Mem shows the memory use of the stack's containers.
func Mem(ctx context.Context) error {
	return composeVerb(ctx, compose.Project.Mem)
}

// CheckConfig renders, validates the merged compose files (`config --quiet`) and runs the stack linter.
func CheckConfig(ctx context.Context) error {
	mg.CtxDeps(ctx, Render)
	p, r, err := project(ctx)
	if err != nil {
		return err
	}
	if err := compose.CheckConfig(ctx, r, p); err != nil {
		return err
	}
	return Lint(ctx)
}

// Lint renders, then checks every service against the stack's checklists; errors not in .lint-baseline.tsv fail, warnings don't.
func Lint(ctx context.Context) error {
	mg.CtxDeps(ctx, Render) // rendered compose files and configs are part of the stack
	s, err := compose.Load(ctx, ".")
	if err != nil {
		return err
	}
	report, err := compose.LintWithBaseline(s)
	if err != nil {
		return err
	}
	if err := report.Print(os.Stdout); err != nil {
		return err
	}
	if report.Failed() {
		return fmt.Errorf("lint: %d error(s) not in %s: fix them, or accept them for now with `go tool mage lint-baseline` and a reason each", report.Count(compose.Error), compose.BaselineFile)
	}
	return nil
}
