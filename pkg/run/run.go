// Package run separates what to run from where it runs.
//
// Every verb of selfhosted (a compose command, a git command, a restic call)
// is first built as a [Command]: a plain value holding an argv slice, so unit
// tests can compare it without executing anything. A [Runner] then executes
// that value somewhere: [Local] runs it on this machine, and the SSH runner of
// package remote runs it on the server, in the deployment folder, over one
// reused connection. Code that takes a Runner works the same on both.
//
// A Runner streams the command's output, passes stdin (and, for interactive
// commands, a terminal), honours context cancellation (the command is stopped,
// remotely too) and reports a non-zero exit as an [*ExitError] that carries the
// exit code, so callers can propagate it.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Command is a command to run, as a value.
type Command struct {
	// Args is the argv: Args[0] is the program, looked up in PATH.
	Args []string
	// Dir is the working directory. Empty means the Runner's own folder:
	// the current directory for Local, DIR on the server for SSH.
	Dir string
	// Env holds extra KEY=VALUE pairs added to the runner's environment.
	Env []string
	// Interactive asks for the caller's terminal: stdin is passed through and,
	// when stdin is a terminal, the command gets one too (sh, exec, logs -f).
	Interactive bool
}

// String renders the command as a shell would show it, quoting where needed,
// for messages and dry runs. The environment's values are left out (they
// carry passwords and keys): `RESTIC_PASSWORD=… restic backup`.
func (c Command) String() string {
	var b strings.Builder
	for _, kv := range c.Env {
		key, _, _ := strings.Cut(kv, "=")
		b.WriteString(Quote(key) + "=… ")
	}
	writeArgs(&b, c.Args)
	return b.String()
}

// Line is the command as one shell line, environment values included: what
// a remote shell runs. It is never for messages (see String).
func (c Command) Line() string {
	var b strings.Builder
	for _, kv := range c.Env {
		b.WriteString(Quote(kv))
		b.WriteByte(' ')
	}
	writeArgs(&b, c.Args)
	return b.String()
}

func writeArgs(b *strings.Builder, args []string) {
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Quote(a))
	}
}

// Streams are where a running command reads and writes. Nil fields mean
// no input and discarded output.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Std connects a command to this process's own standard streams.
func Std() Streams { return Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr} }

// Runner executes commands on one host.
type Runner interface {
	// Run executes cmd and waits for it. A non-zero exit is an *ExitError.
	Run(ctx context.Context, cmd Command, s Streams) error
	// Where names the host for messages: "this machine", "deploy@vps:22".
	Where() string
}

// ExitError reports a command that ran and exited with a non-zero status.
type ExitError struct {
	Command Command
	Where   string
	Code    int
	// Stderr holds the end of the command's error output when the caller
	// captured it (Output does), so messages can show why it failed.
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s on %s: exit status %d", e.Command.String(), e.Where, e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// ExitCode returns the exit code carried by err: 0 for nil, the command's
// code for an *ExitError anywhere in the chain, and 1 for any other error.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// Output runs cmd and returns its standard output. On failure the returned
// *ExitError carries the tail of standard error.
func Output(ctx context.Context, r Runner, cmd Command) ([]byte, error) {
	return OutputFrom(ctx, r, cmd, nil)
}

// OutputFrom is Output with stdin as the command's input.
func OutputFrom(ctx context.Context, r Runner, cmd Command, stdin io.Reader) ([]byte, error) {
	var stdout bytes.Buffer
	stderr := &Tail{}
	err := r.Run(ctx, cmd, Streams{Stdin: stdin, Stdout: &stdout, Stderr: stderr})
	var ee *ExitError
	if errors.As(err, &ee) && ee.Stderr == "" {
		ee.Stderr = stderr.String()
	}
	return stdout.Bytes(), err
}

// Tail keeps the last Max bytes written to it (4096 when zero): the end of
// a command's error output, for a message that must not be a page long.
type Tail struct {
	Max int
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	max := t.Max
	if max <= 0 {
		max = 4096
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*max {
		// Trim in bulk: a long stream costs amortised copies, not one per write.
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-max:]...)
	}
	return len(p), nil
}

// String is what was kept, at most Max bytes.
func (t *Tail) String() string {
	max := t.Max
	if max <= 0 {
		max = 4096
	}
	if len(t.buf) > max {
		return string(t.buf[len(t.buf)-max:])
	}
	return string(t.buf)
}

// Reset forgets what was written.
func (t *Tail) Reset() { t.buf = t.buf[:0] }

// Quote quotes s for a POSIX shell when it contains anything but safe
// characters.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
