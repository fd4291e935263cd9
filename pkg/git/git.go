// Package git holds the git chores of a stack repository: which files are
// tracked, whether the tree is clean enough to deploy, and pulling and pushing
// with submodules. Each chore is a command builder plus a function that runs
// it through a run.Runner, so tests can compare the commands and run them on
// scratch repositories.
package git

import (
	"context"
	"fmt"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// TrackedCommand lists the files tracked on the current branch.
func TrackedCommand() run.Command {
	return run.Command{Args: []string{"git", "ls-tree", "-r", "--name-only", "-z", "HEAD"}}
}

// StatusCommand lists uncommitted changes, untracked files included.
func StatusCommand() run.Command {
	return run.Command{Args: []string{"git", "status", "--porcelain=v1", "-z", "--untracked-files=all"}}
}

// PullCommand pulls the current branch and updates submodules with it.
func PullCommand() run.Command {
	return run.Command{Args: []string{"git", "pull", "--recurse-submodules"}}
}

// PushCommand pushes the current branch, and submodule commits it needs.
func PushCommand() run.Command {
	return run.Command{Args: []string{"git", "push", "--recurse-submodules=check"}}
}

// Tracked returns the files tracked on the current branch, sorted as git sorts them.
func Tracked(ctx context.Context, r run.Runner) ([]string, error) {
	out, err := run.Output(ctx, r, TrackedCommand())
	if err != nil {
		return nil, fmt.Errorf("list tracked files (is this a git repository with a commit?): %w", err)
	}
	return splitZ(out), nil
}

// Change is one uncommitted change: its two-letter porcelain status
// ("M ", "??", ...) and path.
type Change struct {
	Status string
	Path   string
}

func (c Change) String() string { return c.Status + " " + c.Path }

// Changes returns the uncommitted changes of the working tree.
func Changes(ctx context.Context, r run.Runner) ([]Change, error) {
	out, err := run.Output(ctx, r, StatusCommand())
	if err != nil {
		return nil, fmt.Errorf("git status: %w", err)
	}
	return parseStatus(out), nil
}

// parseStatus reads `git status --porcelain=v1 -z`, where a rename is
// followed by an extra field holding its old path.
func parseStatus(out []byte) []Change {
	fields := splitZ(out)
	var changes []Change
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		c := Change{Status: f[:2], Path: f[3:]}
		if c.Status[0] == 'R' || c.Status[0] == 'C' {
			i++ // skip the original path
		}
		changes = append(changes, c)
	}
	return changes
}

// DirtyError lists the uncommitted changes that stop a deploy.
type DirtyError struct{ Changes []Change }

func (e *DirtyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the working tree has %d uncommitted change(s):", len(e.Changes))
	for _, c := range e.Changes {
		b.WriteString("\n  " + c.String())
	}
	return b.String()
}

// Check fails with a *DirtyError naming every uncommitted change.
func Check(ctx context.Context, r run.Runner) error {
	changes, err := Changes(ctx, r)
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		return &DirtyError{Changes: changes}
	}
	return nil
}

// Pull runs PullCommand with its output streamed to s.
func Pull(ctx context.Context, r run.Runner, s run.Streams) error {
	return r.Run(ctx, PullCommand(), s)
}

// Push runs PushCommand with its output streamed to s.
func Push(ctx context.Context, r run.Runner, s run.Streams) error {
	return r.Run(ctx, PushCommand(), s)
}

func splitZ(out []byte) []string {
	s := strings.TrimRight(string(out), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
