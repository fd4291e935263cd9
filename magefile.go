//go:build mage

// Targets that run a self-hosted Docker Compose stack from a laptop; variables: SERVER, DIR, SERVICE, COMMAND, SNAPSHOT, OPTIONS.
//
// Every target is thin: it reads its variables (SERVER, DIR, SERVICE,
// COMMAND, SNAPSHOT, OPTIONS, ...) and calls the packages under pkg/, where
// the logic and its tests live. Targets are split by subject into
// magefile_*.go files; this file holds the aliases, the shared variable
// readers and the local-only targets (tests, git).
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/magefile/mage/mg"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/git"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Aliases keep the old Makefile's hyphenated names.
var Aliases = map[string]interface{}{
	"list-snapshots":   ListSnapshots,
	"restart-hard":     RestartHard,
	"down-everything":  DownEverything,
	"rm-hard":          RmHard,
	"check-config":     CheckConfig,
	"git-check":        GitCheck,
	"git-pull":         GitPull,
	"git-push":         GitPush,
	"push-files":       PushFiles,
	"ssh-command":      SSHCommand,
	"test-unit":        TestUnit,
	"test-integration": TestIntegration,
	"restore-drill":    RestoreDrill,
	"backup-prune":     Forget,
	"bench-render":     BenchRender,
	"bench-upload":     BenchUpload,
	"bench-backup":     BenchBackup,
	"lint-baseline":    LintBaseline,
	"env-example":      EnvExample,
}

// variable reads a Mage variable (an environment variable, as the old
// Makefile's `make up SERVICE=x` became `SERVICE=x go tool mage up`).
func variable(name string) string { return os.Getenv(name) }

var (
	runnerOnce sync.Once
	runnerVal  run.Runner
	runnerErr  error
)

// runner is where commands run: this machine when SERVER is unset, else one
// SSH connection to SERVER, opened once and reused for the whole Mage run.
func runner(ctx context.Context) (run.Runner, error) {
	runnerOnce.Do(func() {
		server := variable("SERVER")
		if server == "" {
			runnerVal = run.Local{}
			return
		}
		runnerVal, runnerErr = connect(ctx, server, variable("DIR"))
	})
	return runnerVal, runnerErr
}

// exit turns a command's failure into Mage's exit code, so `exec` and `run`
// propagate the exit code of the command they ran.
func exit(err error) error {
	if err == nil {
		return nil
	}
	return mg.Fatal(run.ExitCode(err), err)
}

// notYet marks a target whose issue has not landed: it must never succeed silently.
func notYet(target string) error {
	return mg.Fatalf(2, "%s: not implemented yet", target)
}

// Test runs every test, unit and integration (provisioning the test environment first).
func Test(ctx context.Context) error {
	mg.CtxDeps(ctx, Testenv)
	return goTest(ctx, testenv.AllTests)
}

// TestUnit runs the unit tests only (every test not named TestIntegration…); OPTIONS go to `go test`.
func TestUnit(ctx context.Context) error {
	return goTest(ctx, testenv.UnitTests)
}

// TestIntegration runs the integration tests only (named TestIntegration…); OPTIONS go to `go test`.
func TestIntegration(ctx context.Context) error {
	mg.CtxDeps(ctx, Testenv)
	return goTest(ctx, testenv.IntegrationTests)
}

func goTest(ctx context.Context, kind testenv.Kind) error {
	cmd, err := testenv.GoTest(kind, variable("OPTIONS"))
	if err != nil {
		return err
	}
	return exit(run.Local{}.Run(ctx, cmd, run.Std()))
}

// Testenv provisions what integration tests need (Compose v2, test images, sshd, restic, Jinja2); fast when present.
func Testenv(ctx context.Context) error {
	return testenv.Ensure(ctx, os.Stdout)
}

// Tracked lists the files tracked on the current branch.
func Tracked(ctx context.Context) error {
	files, err := git.Tracked(ctx, run.Local{})
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Println(f)
	}
	return nil
}

// GitCheck fails when the working tree has uncommitted changes, and names them.
func GitCheck(ctx context.Context) error {
	return git.Check(ctx, run.Local{})
}

// GitPull pulls the current branch, submodules included.
func GitPull(ctx context.Context) error {
	return exit(git.Pull(ctx, run.Local{}, run.Std()))
}

// GitPush checks for uncommitted changes, then pushes the current branch.
func GitPush(ctx context.Context) error {
	mg.CtxDeps(ctx, GitCheck)
	return exit(git.Push(ctx, run.Local{}, run.Std()))
}
