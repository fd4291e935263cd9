package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// DefaultDir is where the stack lives on the server.
const DefaultDir = "~/selfhosted"

// Runner runs commands on the server over the client's connection, in Dir
// (DefaultDir when empty) unless a command names its own.
type Runner struct {
	Client *Client
	Dir    string
}

// Runner returns a run.Runner over c working in dir.
func (c *Client) Runner(dir string) *Runner { return &Runner{Client: c, Dir: dir} }

// Where implements run.Runner.
func (r *Runner) Where() string { return r.Client.Host.String() }

// ShellPath quotes a remote path for sh, keeping a leading ~/ expandable.
func ShellPath(p string) string {
	if p == "~" {
		return `"$HOME"`
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return `"$HOME"/` + run.Quote(rest)
	}
	return run.Quote(p)
}

// noDirMarker is the line a command prints on stderr when its folder is
// missing.
const noDirMarker = `\036selfhosted-nodir`

// pidPrefix starts the first line of a command's stderr: the remote process
// id, which cancellation needs because sshd ignores signal requests.
const pidPrefix = "\x1eselfhosted-pid:"

// Script is the shell line the server runs for c: report the shell's pid on
// stderr, change to the folder, then exec the command, so that the pid is
// the command's and signals reach it rather than a shell.
func Script(dir string, c run.Command) string {
	return `printf '\036selfhosted-pid:%d\n' $$ >&2; ` + script(dir, c)
}

func script(dir string, c run.Command) string {
	if c.Dir != "" {
		dir = c.Dir
	}
	if dir == "" {
		dir = DefaultDir
	}
	var b strings.Builder
	// A missing folder is reported apart: it means nothing was deployed.
	b.WriteString("{ cd -- " + ShellPath(dir) + " 2>/dev/null || { printf '" + noDirMarker + "\\n' >&2; exit 127; }; } && exec ")
	if len(c.Env) > 0 {
		b.WriteString("env ")
	}
	b.WriteString(c.Line())
	return b.String()
}

// Run implements run.Runner.
func (r *Runner) Run(ctx context.Context, c run.Command, s run.Streams) error {
	if len(c.Args) == 0 {
		return errors.New("remote: empty command")
	}
	if !c.Interactive && s.Stdin == nil {
		sh, err := r.Client.shell()
		if err != nil {
			return err
		}
		return sh.run(ctx, r.Client, r.Dir, c, s)
	}
	sess, err := r.Client.session()
	if err != nil {
		return fmt.Errorf("open a session on %s: %w", r.Where(), err)
	}
	defer sess.Close()
	pid := &pidCatcher{next: s.Stderr, found: make(chan int, 1)}
	sess.Stdin, sess.Stdout, sess.Stderr = s.Stdin, s.Stdout, pid

	line := Script(r.Dir, c)
	if c.Interactive {
		if f, ok := s.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			// With a terminal, stderr joins stdout and closing the session
			// hangs the command up: no pid line is needed (or wanted).
			line = script(r.Dir, c)
			w, h, _ := term.GetSize(int(f.Fd()))
			termName := r.Client.term
			if termName == "" {
				termName = "xterm"
			}
			if err := sess.RequestPty(termName, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
				return fmt.Errorf("request a terminal on %s: %w", r.Where(), err)
			}
			old, err := term.MakeRaw(int(f.Fd()))
			if err == nil {
				defer term.Restore(int(f.Fd()), old)
			}
		}
	}

	if err := sess.Start(line); err != nil {
		return fmt.Errorf("%s on %s: %w", c.String(), r.Where(), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Stop the remote command as Ctrl-C would, then kill it.
		r.signal(pid, "INT")
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			r.signal(pid, "KILL")
			sess.Close()
			<-done
		}
		return fmt.Errorf("%s on %s: %w", c.String(), r.Where(), ctx.Err())
	}
	if err == nil {
		return nil
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) && pid.noDir.Load() {
		d := c.Dir
		if d == "" {
			d = r.Dir
		}
		if d == "" {
			d = DefaultDir
		}
		return &NoStackError{Host: r.Where(), Dir: d}
	}
	if errors.As(err, &exit) {
		code := exit.ExitStatus()
		if exit.Signal() != "" && code == 0 {
			code = 128 + 15
		}
		return &run.ExitError{Command: c, Where: r.Where(), Code: code}
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return fmt.Errorf("%s on %s: the connection ended before the command reported its exit status: %w", c.String(), r.Where(), err)
	}
	return fmt.Errorf("%s on %s: %w", c.String(), r.Where(), err)
}

// signal sends a signal to the remote command through a new session.
func (r *Runner) signal(p *pidCatcher, sig string) {
	var pid int
	select {
	case pid = <-p.found:
		p.found <- pid
	case <-time.After(2 * time.Second):
		return
	}
	sess, err := r.Client.session()
	if err != nil {
		return
	}
	defer sess.Close()
	_ = sess.Run(fmt.Sprintf("kill -%s %d", sig, pid))
}

// pidCatcher takes the pid line off the front of stderr, and the line
// saying the folder is missing right after it, and passes the rest on.
type pidCatcher struct {
	next  io.Writer
	found chan int
	head  []byte
	lines int // header lines read: the pid line, then a possible marker
	noDir atomic.Bool
}

var noDirLine = []byte("\x1eselfhosted-nodir\n")

func (p *pidCatcher) Write(b []byte) (int, error) {
	n := len(b)
	for p.lines < 2 {
		p.head = append(p.head, b...)
		b = nil
		i := bytes.IndexByte(p.head, '\n')
		if i < 0 {
			// Wait for the whole line unless it can no longer be ours.
			if len(p.head) < 64 && (p.lines == 1 && bytes.HasPrefix(noDirLine, p.head) || p.lines == 0) {
				return n, nil
			}
			b, p.head, p.lines = p.head, nil, 2
			break
		}
		line := p.head[:i+1]
		switch {
		case p.lines == 0 && bytes.HasPrefix(line, []byte(pidPrefix)):
			if pid, err := strconv.Atoi(string(line[len(pidPrefix):i])); err == nil {
				p.found <- pid
			}
			p.head, p.lines = p.head[i+1:], 1
			if len(p.head) == 0 {
				return n, nil
			}
			b, p.head = p.head, nil
		case p.lines == 1 && bytes.Equal(line, noDirLine):
			p.noDir.Store(true)
			b, p.head, p.lines = p.head[i+1:], nil, 2
		default:
			b, p.head, p.lines = p.head, nil, 2
		}
	}
	if p.next == nil || len(b) == 0 {
		return n, nil
	}
	if _, err := p.next.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}
