// Package hooks installs the project's git hooks and builds the secret
// scans they and CI run.
//
// The hooks live in the versioned .githooks folder; installing them points
// git's core.hooksPath at it, so updates to the hooks arrive with git pull.
// The pre-commit hook scans the staged changes with gitleaks (pinned in
// go.mod as a Go tool: `go tool gitleaks`), and checks gofmt and go vet.
// CI scans the whole history with [HistoryScan].
package hooks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Dir is the versioned hooks folder, relative to the repository root.
const Dir = ".githooks"

// InstallCommand points git at Dir.
func InstallCommand() run.Command {
	return run.Command{Args: []string{"git", "config", "core.hooksPath", Dir}}
}

// Install installs the hooks of the repository at root.
func Install(ctx context.Context, r run.Runner, root string) error {
	if _, err := os.Stat(filepath.Join(root, Dir, "pre-commit")); err != nil {
		return fmt.Errorf("no %s/pre-commit in %s: %w", Dir, root, err)
	}
	c := InstallCommand()
	c.Dir = root
	if _, err := run.Output(ctx, r, c); err != nil {
		return fmt.Errorf("install the git hooks (git config core.hooksPath %s): %w", Dir, err)
	}
	return nil
}

// StagedScan scans the staged changes of the repository at repo for secrets.
func StagedScan(repo string) run.Command {
	return run.Command{Args: []string{"go", "tool", "gitleaks", "git", "--staged", "--redact", "--no-banner", "--verbose", "--exit-code", "1", repo}}
}

// HistoryScan scans every commit of the repository at repo for secrets.
func HistoryScan(repo string) run.Command {
	return run.Command{Args: []string{"go", "tool", "gitleaks", "git", "--redact", "--no-banner", "--verbose", "--exit-code", "1", repo}}
}
