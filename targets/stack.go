package targets

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

// Render renders every *.j2 template under services/ to the same path minus .j2, and prints each file it changed.
func Render(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		res, err := s.Render(ctx)
		if err != nil {
			return err
		}
		for _, f := range res.Written {
			fmt.Println("wrote", f)
		}
		if len(res.Written) == 0 {
			fmt.Printf("render: %d template(s), every output already up to date\n", len(res.Outputs))
		}
		return nil
	})
}

// Lint renders, then checks every service against the stack's checklists; errors not in the lint baseline fail, warnings don't.
func Lint(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		report, err := s.Lint(ctx)
		if report.Services > 0 {
			if perr := report.Print(os.Stdout); perr != nil {
				return perr
			}
		}
		return err
	})
}

// CheckConfig renders, validates the merged compose files (`docker compose config`) and runs the stack linter.
func CheckConfig(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		_, report, err := s.Check(ctx)
		if report.Services > 0 {
			if perr := report.Print(os.Stdout); perr != nil {
				return perr
			}
		}
		return err
	})
}

// LintBaseline renders, then writes the stack's lint errors to .lint-baseline.tsv: lint then fails only on new ones.
func LintBaseline(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		up, err := s.LintBaseline(ctx)
		if err != nil {
			return err
		}
		for _, e := range up.Dropped {
			fmt.Printf("dropped %s: it no longer occurs\n", e)
		}
		fmt.Printf("wrote %d entr%s to %s: replace each %s with why it is accepted, and commit it; `go tool mage lint` now fails only on errors not listed there\n",
			len(up.Entries), map[bool]string{true: "y", false: "ies"}[len(up.Entries) == 1], compose.BaselineFile, compose.BaselineTODO)
		return nil
	})
}

// EnvExample writes an .env.example skeleton of every variable the stack reads (appends the missing ones to an existing file).
func EnvExample(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		added, err := s.EnvExample()
		if err != nil {
			return err
		}
		if len(added) == 0 {
			fmt.Println(".env.example already lists every variable the stack reads")
			return nil
		}
		for _, name := range added {
			fmt.Println("added", name)
		}
		fmt.Printf("%d variable(s) added to .env.example: write what each TODO is, check the guessed `# secret: 32` lines, then `go tool mage secrets`\n", len(added))
		return nil
	})
}

// Secrets generates the missing secrets of .env.example into .env (mode 0600, gitignored), printing only names.
func Secrets(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		added, err := s.Secrets(ctx)
		if err != nil {
			return err
		}
		if len(added) == 0 {
			fmt.Println("secrets: .env already has every secret of .env.example")
			return nil
		}
		fmt.Printf("secrets: added %s to .env\n", strings.Join(added, ", "))
		return nil
	})
}

// Hooks installs the project's git hooks (secret scanning, gofmt, go vet) via core.hooksPath.
func Hooks(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		if err := s.InstallHooks(ctx); err != nil {
			return err
		}
		fmt.Println("hooks: git now runs .githooks/pre-commit (gitleaks on staged changes, gofmt, go vet)")
		return nil
	})
}

// Tracked lists the files tracked on the current branch.
func Tracked(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error {
		files, err := s.Tracked(ctx)
		for _, f := range files {
			fmt.Println(f)
		}
		return err
	})
}

// GitCheck fails when the working tree has uncommitted changes, and names them.
func GitCheck(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.GitCheck(ctx) })
}

// GitPull pulls the current branch, submodules included.
func GitPull(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.GitPull(ctx) })
}

// GitPush checks for uncommitted changes, then pushes the current branch.
func GitPush(ctx context.Context) error {
	return withStack(ctx, func(s *stack.Stack) error { return s.GitPush(ctx) })
}

// beforeTests prepares what the tests need (this module provisions its
// integration tests' components); see PrepareTests.
var beforeTests func(context.Context) error

// PrepareTests makes test and test-integration run prepare first. Mage
// takes no function with such a parameter for a target.
func PrepareTests(prepare func(context.Context) error) { beforeTests = prepare }

func goTest(ctx context.Context, kind stack.TestKind) error {
	if beforeTests != nil && kind != stack.UnitTests {
		if err := beforeTests(ctx); err != nil {
			return err
		}
	}
	return explain(stack.Test(ctx, ".", kind, variable("OPTIONS"), run.Std()))
}

// Test runs every test of the repository's Go code, unit and integration; OPTIONS go to `go test`.
func Test(ctx context.Context) error { return goTest(ctx, stack.AllTests) }

// TestUnit runs the unit tests only (every test not named TestIntegration…); OPTIONS go to `go test`.
func TestUnit(ctx context.Context) error { return goTest(ctx, stack.UnitTests) }

// TestIntegration runs the integration tests only (named TestIntegration…); OPTIONS go to `go test`.
func TestIntegration(ctx context.Context) error { return goTest(ctx, stack.IntegrationTests) }
