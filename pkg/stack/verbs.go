package stack

import (
	"context"
	"fmt"
	"sort"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/hooks"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// The compose verbs: each runs one `docker compose` command of the stack
// (every compose file merged) where the stack runs, with the caller's
// streams.

// UnknownServiceError names a service the stack does not have.
type UnknownServiceError struct {
	Service  string
	Services []string // the stack's services
}

func (e *UnknownServiceError) Error() string {
	return fmt.Sprintf("the stack has no service %s (its services: %v)", e.Service, e.Services)
}

// Services lists the stack's services, sorted.
func (s *Stack) Services(ctx context.Context) ([]string, error) {
	loaded, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range loaded.Model.Services {
		names = append(names, name)
	}
	for name := range loaded.Model.DisabledServices {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// checkServices refuses a service the stack does not have: compose would
// do nothing and say nothing for some verbs.
func (s *Stack) checkServices(ctx context.Context, services ...string) error {
	var wanted []string
	for _, svc := range services {
		if svc != "" {
			wanted = append(wanted, svc)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	known, err := s.Services(ctx)
	if err != nil {
		return err
	}
	for _, svc := range wanted {
		if i := sort.SearchStrings(known, svc); i == len(known) || known[i] != svc {
			return &UnknownServiceError{Service: svc, Services: known}
		}
	}
	return nil
}

// compose runs one command of the stack with the caller's streams.
func (s *Stack) compose(ctx context.Context, c run.Command, services ...string) error {
	if err := s.named(); err != nil {
		return err
	}
	if err := s.checkServices(ctx, services...); err != nil {
		return err
	}
	return s.diagnose(ctx, s.runner.Run(ctx, c, s.interactive()))
}

// diagnose explains a failed compose command: no Compose v2 where the
// stack runs, or images it could not pull.
func (s *Stack) diagnose(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var images []string
	if loaded, lerr := s.load(ctx); lerr == nil {
		images = loaded.Images()
	}
	return compose.Diagnose(ctx, s.runner, err, images)
}

func (s *Stack) interactive() run.Streams {
	return run.Streams{Stdin: s.opts.In, Stdout: s.opts.Out, Stderr: s.opts.Err}
}

// Restart restarts services' containers (all when none is named); the
// others keep running untouched.
func (s *Stack) Restart(ctx context.Context, services ...string) error {
	return s.compose(ctx, s.Project.Restart(services...), services...)
}

// RestartHard recreates service's containers (all when empty) and their
// anonymous volumes.
func (s *Stack) RestartHard(ctx context.Context, service string) error {
	return s.compose(ctx, s.Project.RestartHard(service), service)
}

// Down stops and removes service's containers; with no service, the whole
// stack's containers and networks (named volumes are kept).
func (s *Stack) Down(ctx context.Context, service string) error {
	return s.compose(ctx, s.Project.Down(service), service)
}

// DownEverything removes the stack and its volumes once confirm agrees.
func (s *Stack) DownEverything(ctx context.Context, confirm func(question string) error) error {
	if err := s.named(); err != nil {
		return err
	}
	return compose.DownEverything(ctx, s.runner, s.Project, confirm, s.streams())
}

// Rm removes service's stopped containers (hard: with their anonymous
// volumes).
func (s *Stack) Rm(ctx context.Context, service string, hard bool) error {
	c := s.Project.Rm(service)
	if hard {
		c = s.Project.RmHard(service)
	}
	return s.compose(ctx, c, service)
}

// Prune removes unused Docker data, keeping containers labelled
// compose.KeepLabel.
func (s *Stack) Prune(ctx context.Context) error {
	return s.runner.Run(ctx, compose.Prune(), s.streams())
}

// Pull pulls the images of service (all when empty).
func (s *Stack) Pull(ctx context.Context, service string) error {
	return s.compose(ctx, s.Project.Pull(service), service)
}

// Exec runs args in service's running container, with a terminal when tty.
func (s *Stack) Exec(ctx context.Context, service string, tty bool, args ...string) error {
	return s.compose(ctx, s.Project.Exec(service, tty, args...), service)
}

// Run runs args in a new container of service, removed afterwards.
func (s *Stack) Run(ctx context.Context, service string, tty bool, args ...string) error {
	return s.compose(ctx, s.Project.Run(service, tty, args...), service)
}

// Shell opens a shell in service's running container.
func (s *Stack) Shell(ctx context.Context, service string, tty bool) error {
	return s.compose(ctx, s.Project.Sh(service, tty), service)
}

// Logs follows the logs of service (all when empty) until interrupted.
func (s *Stack) Logs(ctx context.Context, service string) error {
	return s.compose(ctx, s.Project.Logs(service), service)
}

// Volumes prints the mounts of service's containers (all when empty).
func (s *Stack) Volumes(ctx context.Context, service string) error {
	if err := s.named(); err != nil {
		return err
	}
	if err := s.checkServices(ctx, service); err != nil {
		return err
	}
	return compose.Volumes(ctx, s.runner, s.Project, service, s.opts.Out)
}

// Ports lists the stack's containers with the ports they publish.
func (s *Stack) Ports(ctx context.Context) error { return s.compose(ctx, s.Project.Ports()) }

// Mem shows the memory use of the stack's containers.
func (s *Stack) Mem(ctx context.Context) error { return s.compose(ctx, s.Project.Mem()) }

// Lint renders, then runs the stack linter with the stack's baseline.
func (s *Stack) Lint(ctx context.Context) (compose.Report, error) {
	if _, err := s.Render(ctx); err != nil {
		return compose.Report{}, err
	}
	loaded, err := s.load(ctx)
	if err != nil {
		return compose.Report{}, err
	}
	report, err := compose.LintWithBaseline(loaded)
	if err == nil && report.Failed() {
		err = &LintError{Findings: report.Findings}
	}
	return report, err
}

// LintBaseline renders, then writes the stack's lint errors to its
// baseline file.
func (s *Stack) LintBaseline(ctx context.Context) (compose.BaselineUpdate, error) {
	if _, err := s.Render(ctx); err != nil {
		return compose.BaselineUpdate{}, err
	}
	loaded, err := s.load(ctx)
	if err != nil {
		return compose.BaselineUpdate{}, err
	}
	return compose.WriteBaseline(loaded)
}

// EnvExample adds every variable the stack reads to .env.example.
func (s *Stack) EnvExample() ([]string, error) { return compose.WriteEnvExample(s.Root) }

// Secrets adds the secrets .env.example marks to .env and returns their
// names (never the values).
func (s *Stack) Secrets(ctx context.Context) ([]string, error) {
	return secrets.Fill(ctx, s.Root, run.Local{Dir: s.Root})
}

// InstallHooks points git at the stack's versioned hooks.
func (s *Stack) InstallHooks(ctx context.Context) error {
	return hooks.Install(ctx, run.Local{}, s.Root)
}

// Tracked lists the files git tracks on the current branch.
func (s *Stack) Tracked(ctx context.Context) ([]string, error) {
	return git.Tracked(ctx, run.Local{Dir: s.Root})
}

// GitCheck fails with a *git.DirtyError naming every uncommitted change.
func (s *Stack) GitCheck(ctx context.Context) error { return git.Check(ctx, run.Local{Dir: s.Root}) }

// GitPull pulls the current branch, submodules included.
func (s *Stack) GitPull(ctx context.Context) error {
	return git.Pull(ctx, run.Local{Dir: s.Root}, s.streams())
}

// GitPush checks for uncommitted changes, then pushes the current branch.
func (s *Stack) GitPush(ctx context.Context) error {
	if err := s.GitCheck(ctx); err != nil {
		return err
	}
	return git.Push(ctx, run.Local{Dir: s.Root}, s.streams())
}

// Login opens the user's login shell on the server, in DIR when it exists.
func (s *Stack) Login(ctx context.Context) error {
	client, err := s.server("ssh")
	if err != nil {
		return err
	}
	return client.Runner("~").Run(ctx, remote.LoginShell(s.opts.Dir), s.interactive())
}

// Command runs a shell command line in DIR on the server.
func (s *Stack) Command(ctx context.Context, line string) error {
	client, err := s.server("ssh-command")
	if err != nil {
		return err
	}
	return client.Runner(s.opts.Dir).Run(ctx, run.Command{Args: []string{"sh", "-c", line}, Interactive: true}, s.interactive())
}
