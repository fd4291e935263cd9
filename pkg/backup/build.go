package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// BinaryPath is where the backup container finds its program, relative to
// the stack root.
const BinaryPath = "services/backup/bin/selfhosted-backup"

// ProgramPackage is the backup program's Go package. It is built by its
// import path, so a stack repository builds it from the version of this
// module its go.mod requires (the module cache), and this repository from
// its own source.
const ProgramPackage = "github.com/selfhosted-go/selfhosted/cmd/selfhosted-backup"

// BuildCommand builds the backup program for linux/goarch into out: a
// static binary, so it runs on the restic image (no Go toolchain on the
// server, no registry push). It runs in a folder of a module that is, or
// requires, this one.
func BuildCommand(goarch, out string) run.Command {
	return run.Command{
		Args: []string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ProgramPackage},
		Env:  []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch},
	}
}

// ComposeFile is the backup container's compose file, relative to a stack
// root: a stack has backups when it has this file.
const ComposeFile = "services/backup/docker-compose.backup.yml"

// GOARCH maps `uname -m` to Go's architecture names.
func GOARCH(machine string) (string, error) {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	case "armv7l", "armv6l":
		return "arm", nil
	case "i386", "i686":
		return "386", nil
	case "riscv64":
		return "riscv64", nil
	}
	return "", fmt.Errorf("unknown server architecture %q (from uname -m)", machine)
}

// ServerGOARCH asks r's host for its architecture.
func ServerGOARCH(ctx context.Context, r run.Runner) (string, error) {
	out, err := run.Output(ctx, r, run.Command{Args: []string{"uname", "-m"}, Dir: "/"})
	if err != nil {
		return "", err
	}
	return GOARCH(string(out))
}

// Build builds the backup program for the host server runs on into the
// stack at root, with this machine's Go toolchain, and returns the
// architecture it built for. root's go.mod must be this module's or
// require it.
func Build(ctx context.Context, server run.Runner, root string) (string, error) {
	arch, err := ServerGOARCH(ctx, server)
	if err != nil {
		return "", err
	}
	return arch, BuildFor(ctx, arch, root)
}

// BuildFor builds the backup program for linux/arch into the stack at
// root.
func BuildFor(ctx context.Context, arch, root string) error {
	out, err := filepath.Abs(filepath.Join(root, BinaryPath))
	if err != nil {
		return err
	}
	c := BuildCommand(arch, out)
	c.Dir = root
	if _, err := run.Output(ctx, run.Local{}, c); err != nil {
		return &BuildError{Arch: arch, Root: root, Err: err}
	}
	return nil
}

// BuildError reports a failed build of the backup program.
type BuildError struct {
	Arch, Root string
	Err        error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build the backup program (%s) for linux/%s in %s: %v", ProgramPackage, e.Arch, e.Root, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }
