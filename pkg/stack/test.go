package stack

import (
	"context"
	"fmt"

	shellquote "github.com/kballard/go-shellquote"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// TestKind selects tests by the naming convention: a test whose name
// starts with TestIntegration is an integration test (real Docker, sshd,
// databases); every other test, examples included, is a unit test.
type TestKind int

// The kinds of tests.
const (
	AllTests TestKind = iota
	UnitTests
	IntegrationTests
)

// integrationPattern matches integration tests by name for -run and -skip.
const integrationPattern = "^TestIntegration"

// TestCommand builds the `go test` command for kind over the whole module,
// with options (shell-quoted words) appended so that they win over the
// defaults.
func TestCommand(kind TestKind, options string) (run.Command, error) {
	extra, err := shellquote.Split(options)
	if err != nil {
		return run.Command{}, fmt.Errorf("test options %q are not valid shell quoting: %w", options, err)
	}
	args := []string{"go", "test"}
	switch kind {
	case UnitTests:
		args = append(args, "-skip", integrationPattern)
	case IntegrationTests:
		// Integration tests talk to Docker, sshd and restic: their results
		// depend on more than Go's test cache can see, so they always run.
		args = append(args, "-count=1", "-timeout=60m", "-run", integrationPattern)
	case AllTests:
		args = append(args, "-count=1", "-timeout=60m")
	}
	args = append(args, extra...)
	args = append(args, "./...")
	return run.Command{Args: args}, nil
}

// Test runs the Go tests of the module at root.
func Test(ctx context.Context, root string, kind TestKind, options string, s run.Streams) error {
	c, err := TestCommand(kind, options)
	if err != nil {
		return err
	}
	c.Dir = root
	return run.Local{}.Run(ctx, c, s)
}
