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

// BuildCommand builds the backup program for linux/goarch into out: a
// static binary, so it runs on the restic image (no Go toolchain on the
// server, no registry push).
func BuildCommand(goarch, out string) run.Command {
	return run.Command{
		Args: []string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/selfhosted-backup"},
		Env:  []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch},
	}
}

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

// Build builds the backup program for the host server runs on, from the
// selfhosted module at moduleDir into the stack at root, with this
// machine's Go toolchain.
func Build(ctx context.Context, server run.Runner, moduleDir, root string) error {
	arch, err := ServerGOARCH(ctx, server)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(filepath.Join(root, BinaryPath))
	if err != nil {
		return err
	}
	c := BuildCommand(arch, out)
	c.Dir = moduleDir
	if _, err := run.Output(ctx, run.Local{}, c); err != nil {
		return fmt.Errorf("build the backup program for linux/%s: %w", arch, err)
	}
	return nil
}
