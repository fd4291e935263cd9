package testenv

import (
	"fmt"

	shellquote "github.com/kballard/go-shellquote"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Kind selects tests by the project's naming convention: a test whose name
// starts with TestIntegration is an integration test, every other test
// (examples included) is a unit test.
type Kind int

const (
	AllTests Kind = iota
	UnitTests
	IntegrationTests
)

// integrationPattern matches integration tests by name for -run and -skip.
const integrationPattern = "^TestIntegration"

// GoTest builds the `go test` command for kind over the whole module, with
// options (a shell-quoted string, the OPTIONS variable) appended so that they
// win over the defaults.
func GoTest(kind Kind, options string) (run.Command, error) {
	extra, err := shellquote.Split(options)
	if err != nil {
		return run.Command{}, fmt.Errorf("OPTIONS=%q is not valid shell quoting: %w", options, err)
	}
	args := []string{"go", "test"}
	switch kind {
	case UnitTests:
		args = append(args, "-skip", integrationPattern)
	case IntegrationTests:
		// Integration tests talk to Docker, sshd and restic: their results
		// depend on more than Go's test cache can see, so they always run.
		args = append(args, "-count=1", "-timeout=45m", "-run", integrationPattern)
	case AllTests:
		args = append(args, "-count=1", "-timeout=45m")
	}
	args = append(args, extra...)
	args = append(args, "./...")
	return run.Command{Args: args}, nil
}
