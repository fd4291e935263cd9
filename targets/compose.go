package targets

import (
	"context"

	shellquote "github.com/kballard/go-shellquote"
	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// Up renders the templates, then starts the stack (or SERVICE) in the background; on SERVER it converges the containers to the current release.
func Up(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Up(ctx, stack.UpOptions{Services: services()}) })
}

// Restart restarts only SERVICE's containers (all when unset); the others keep running untouched.
func Restart(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Restart(ctx, services()...) })
}

// RestartHard recreates SERVICE's containers (all when unset) and their anonymous volumes.
func RestartHard(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.RestartHard(ctx, variable("SERVICE")) })
}

// Down stops and removes SERVICE's containers (the whole stack's, volumes kept, when unset).
func Down(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Down(ctx, variable("SERVICE")) })
}

// DownEverything removes the whole stack with its volumes, after a typed yes (CONFIRM=yes for scripts).
func DownEverything(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.DownEverything(ctx, ask) })
}

// Rm removes SERVICE's stopped containers.
func Rm(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Rm(ctx, variable("SERVICE"), false) })
}

// RmHard removes SERVICE's stopped containers with their anonymous volumes.
func RmHard(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Rm(ctx, variable("SERVICE"), true) })
}

// Prune removes unused Docker data, keeping containers labelled com.docker.keep-container=true.
func Prune(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Prune(ctx) })
}

// Pull pulls the images of the stack (or SERVICE).
func Pull(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Pull(ctx, variable("SERVICE")) })
}

// command reads COMMAND as shell words.
func command(target string, required bool) ([]string, error) {
	words, err := shellquote.Split(variable("COMMAND"))
	if err != nil {
		return nil, mg.Fatalf(2, "COMMAND=%q is not valid shell quoting: %v", variable("COMMAND"), err)
	}
	if required && len(words) == 0 {
		return nil, mg.Fatalf(2, "%s needs COMMAND, e.g. COMMAND='ls -l' go tool mage %s", target, target)
	}
	return words, nil
}

// Exec runs COMMAND in SERVICE's running container and exits with its exit code.
func Exec(ctx context.Context) error {
	svc, err := service("exec")
	if err != nil {
		return err
	}
	args, err := command("exec", true)
	if err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error { return s.Exec(ctx, svc, tty(), args...) })
}

// Run runs COMMAND (the image's own when unset) in a new, removed-after container of SERVICE and exits with its exit code.
func Run(ctx context.Context) error {
	svc, err := service("run")
	if err != nil {
		return err
	}
	args, err := command("run", false)
	if err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error { return s.Run(ctx, svc, tty(), args...) })
}

// Sh opens a shell in SERVICE's running container.
func Sh(ctx context.Context) error {
	svc, err := service("sh")
	if err != nil {
		return err
	}
	return withStack(ctx, func(s *stack.Stack) error { return s.Shell(ctx, svc, tty()) })
}

// Logs follows the logs of the stack (or SERVICE).
func Logs(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Logs(ctx, variable("SERVICE")) })
}

// Volumes lists the mounts of SERVICE's containers (all when unset).
func Volumes(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Volumes(ctx, variable("SERVICE")) })
}

// Ports lists the stack's containers with the ports they publish.
func Ports(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Ports(ctx) })
}

// Mem shows the memory use of the stack's containers.
func Mem(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.Mem(ctx) })
}
