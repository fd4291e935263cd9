package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Local runs commands on this machine.
type Local struct {
	// Dir is the default working directory; empty means the current one.
	Dir string
}

// Where implements Runner.
func (Local) Where() string { return "this machine" }

// Run implements Runner. On cancellation the command first gets SIGINT, as
// Ctrl-C would send it, and is killed if it has not exited 10 seconds later.
func (l Local) Run(ctx context.Context, c Command, s Streams) error {
	if len(c.Args) == 0 {
		return errors.New("run: empty command")
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	if cmd.Dir == "" {
		cmd.Dir = l.Dir
	}
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s on %s: %w", c.String(), l.Where(), ctx.Err())
		}
		return &ExitError{Command: c, Where: l.Where(), Code: code}
	}
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%s is not installed on this machine (not found in PATH): %w", c.Args[0], err)
	}
	return fmt.Errorf("%s on %s: %w", c.String(), l.Where(), err)
}
