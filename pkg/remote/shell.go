package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// One shell for a whole run
//
// Every SSH session makes the server start the user's login shell, which
// reads its rc files: tens of milliseconds on a lean server, a second on
// one whose .bashrc initialises a language manager, and a few round trips
// at any distance. So a Client keeps one long-lived `sh -s` per connection
// and runs every non-interactive command through it, one after another;
// the deploy lock is taken and released inside it too. Only interactive
// commands, commands fed from stdin and the go-scp upload open sessions of
// their own.
//
// Each command is written to the shell's stdin as a line that runs it in
// the background with stdin from /dev/null and the lock's descriptor
// closed, reports its pid on stderr (so cancellation can signal it), waits
// for it and prints an end marker with its status on both streams. The
// markers carry a random nonce, so no command's output can fake them.

// shell is the Client's long-lived shell.
type shell struct {
	host  Host
	sess  *ssh.Session
	stdin io.WriteCloser
	out   *bufio.Reader
	nonce string

	mu sync.Mutex // one script at a time

	errMu   sync.Mutex
	errSink io.Writer     // where the running command's stderr goes
	errDone chan struct{} // closed when its stderr end marker arrived
	errPid  chan int
	noDir   bool
	errTail run.Tail // stderr of the running script, for messages
	dead    error
}

// lockFD is the shell's descriptor holding DIR.lock while locked.
const lockFD = 9

func (c *Client) shell() (*shell, error) {
	if err := c.Wait(); err != nil {
		return nil, err
	}
	c.shellMu.Lock()
	defer c.shellMu.Unlock()
	if c.sh != nil && c.sh.dead == nil {
		return c.sh, nil
	}
	sess, err := c.ssh.NewSession()
	if err != nil {
		return nil, fmt.Errorf("open a session on %s: %w", c.Host, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	sh := &shell{host: c.Host, sess: sess, stdin: stdin, out: bufio.NewReaderSize(stdout, 64<<10), nonce: "\x1eselfhosted-" + hex.EncodeToString(b)}
	sh.errTail.Max = 8192
	if err := sess.Start("exec sh -s"); err != nil {
		sess.Close()
		return nil, fmt.Errorf("start a shell on %s: %w", c.Host, err)
	}
	go sh.readStderr(bufio.NewReader(stderr))
	c.sh = sh
	return sh, nil
}

// readStderr routes the shell's stderr to the running command's sink,
// taking the pid, missing-folder and end markers off it.
func (sh *shell) readStderr(r *bufio.Reader) {
	var pending []byte // held back: the newline before an end marker is ours
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			sh.errMu.Lock()
			switch {
			case bytes.HasPrefix(line, []byte(sh.nonce+"-pid:")):
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(line[len(sh.nonce)+5:]))); perr == nil && sh.errPid != nil {
					select {
					case sh.errPid <- pid:
					default:
					}
				}
			case bytes.Equal(bytes.TrimSpace(line), []byte(sh.nonce+"-nodir")):
				sh.noDir = true
			case bytes.Equal(bytes.TrimSpace(line), []byte(sh.nonce+"-err")):
				sh.emit(bytes.TrimSuffix(pending, []byte("\n")))
				pending = nil
				if sh.errDone != nil {
					close(sh.errDone)
					sh.errDone = nil
				}
			default:
				sh.emit(pending)
				pending = line
			}
			sh.errMu.Unlock()
		}
		if err != nil {
			sh.errMu.Lock()
			sh.emit(pending)
			if sh.errDone != nil {
				close(sh.errDone)
				sh.errDone = nil
			}
			sh.errMu.Unlock()
			return
		}
	}
}

func (sh *shell) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	sh.errTail.Write(b)
	if sh.errSink != nil {
		sh.errSink.Write(b)
	}
}

// exec writes line to the shell, streams the command's stdout to stdout
// until the end marker and returns the status it printed.
func (sh *shell) exec(line string, stdout, stderr io.Writer, pid chan int) (int, bool, error) {
	if sh.dead != nil {
		return 0, false, sh.dead
	}
	done := make(chan struct{})
	sh.errMu.Lock()
	sh.errSink, sh.errDone, sh.errPid, sh.noDir = stderr, done, pid, false
	sh.errTail.Reset()
	sh.errMu.Unlock()
	if _, err := io.WriteString(sh.stdin, line); err != nil {
		sh.dead = fmt.Errorf("the connection to %s ended: %w", sh.host, err)
		return 0, false, sh.dead
	}
	marker := []byte(sh.nonce + "-out ")
	var pending []byte
	status := -1
	for {
		l, err := sh.out.ReadBytes('\n')
		if bytes.HasPrefix(l, marker) && bytes.HasSuffix(l, []byte("\n")) {
			if stdout != nil && len(pending) > 1 {
				stdout.Write(pending[:len(pending)-1])
			}
			status, _ = strconv.Atoi(strings.TrimSpace(string(l[len(marker):])))
			break
		}
		if stdout != nil && len(pending) > 0 {
			stdout.Write(pending)
		}
		pending = l
		if err != nil {
			sh.dead = fmt.Errorf("the connection to %s ended: %w %s", sh.host, err, strings.TrimSpace(sh.errTail.String()))
			return 0, false, sh.dead
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	sh.errMu.Lock()
	noDir := sh.noDir
	sh.errSink, sh.errPid = nil, nil
	sh.errMu.Unlock()
	return status, noDir, nil
}

// endLine prints the end markers after a command whose status is in s.
func (sh *shell) endLine() string {
	return `printf '\n%s-err\n' '` + sh.nonce + `' >&2; printf '\n%s-out %s\n' '` + sh.nonce + `' "$s"` + "\n"
}

// script runs a shell script in a subshell with set -e and returns its
// stdout; a failure is a *ShellError with the script's stderr.
func (sh *shell) script(s string) ([]byte, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.scriptLocked(s)
}

func (sh *shell) scriptLocked(s string) ([]byte, error) {
	var out bytes.Buffer
	line := "( set -e\n" + s + "\n) </dev/null; s=$?; " + sh.endLine()
	status, _, err := sh.exec(line, &out, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != 0 {
		return out.Bytes(), &ShellError{Host: sh.host.String(), Status: strconv.Itoa(status), Stderr: strings.TrimSpace(sh.errTail.String())}
	}
	return out.Bytes(), nil
}

// run runs one command in dir, streaming its output, and stops it when ctx
// ends (sshd ignores signal requests, so the shell reports the pid and a
// second session signals it).
func (sh *shell) run(ctx context.Context, c *Client, dir string, cmd run.Command, s run.Streams) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cmd.Dir != "" {
		dir = cmd.Dir
	}
	if dir == "" {
		dir = DefaultDir
	}
	var b strings.Builder
	b.WriteString("( cd -- " + ShellPath(dir) + " 2>/dev/null || { printf '%s\\n' '" + sh.nonce + "-nodir' >&2; exit 127; }; exec ")
	if len(cmd.Env) > 0 {
		b.WriteString("env ")
	}
	b.WriteString(cmd.Line())
	fmt.Fprintf(&b, " ) </dev/null %d>&- &\np=$!; printf '%%s-pid:%%s\\n' '%s' \"$p\" >&2; wait \"$p\"; s=$?; ", lockFD, sh.nonce)
	b.WriteString(sh.endLine())

	pids := make(chan int, 1)
	type result struct {
		status int
		noDir  bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, noDir, err := sh.exec(b.String(), s.Stdout, s.Stderr, pids)
		done <- result{status, noDir, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		var pid int
		select {
		case pid = <-pids:
		case <-time.After(2 * time.Second):
		}
		if pid > 0 {
			c.signal(pid, "TERM")
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				c.signal(pid, "KILL")
				r = <-done
			}
		}
		return fmt.Errorf("%s on %s: %w", cmd.String(), sh.host, ctx.Err())
	}
	switch {
	case r.err != nil:
		return fmt.Errorf("%s on %s: %w", cmd.String(), sh.host, r.err)
	case r.noDir:
		return &NoStackError{Host: sh.host.String(), Dir: dir}
	case r.status != 0:
		return &run.ExitError{Command: cmd, Where: sh.host.String(), Code: r.status}
	}
	return nil
}

// close ends the shell without waiting for it to exit, a round trip
// at the end of every run: what it was last sent (unlock, prune) needs no
// answer, and a shell whose input ends exits, releasing the lock. Should
// sshd drop a line sent last, the lock still ends with the shell and the
// next push prunes what this one would have.
func (sh *shell) close() {
	sh.stdin.Close()
	sh.sess.Close()
}

// session opens a session of its own, once connected.
func (c *Client) session() (*ssh.Session, error) {
	if err := c.Wait(); err != nil {
		return nil, err
	}
	return c.ssh.NewSession()
}

// signal sends a signal to a remote process through a session of its own
// (the shell is busy waiting for it).
func (c *Client) signal(pid int, sig string) {
	if c.Wait() != nil {
		return
	}
	sess, err := c.ssh.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	_ = sess.Run(fmt.Sprintf("kill -%s %d", sig, pid))
}

// lock takes flock on dir.lock in the shell, waiting up to opts.Wait, and
// runs then (a script, as script runs it) once it holds it, in the same
// round trip. It returns then's output, or, when another deploy holds the
// lock, that deploy's description.
func (sh *shell) lock(dir string, opts LockOptions, then string) (locked bool, out []byte, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	lockPath := ShellPath(dir + ".lock")
	info := fmt.Sprintf("%s since %s (pid %d)", opts.Who, time.Now().UTC().Format(time.RFC3339), pidOf())
	// The descriptor is opened in the shell itself (not a subshell), so the
	// lock lasts until unlock; a failed open must not end the shell.
	line := fmt.Sprintf(`if ( mkdir -p -- "$(dirname -- %[1]s)" && : >> %[1]s ) </dev/null; then exec %[3]d>>%[1]s; flock -w %[2]d -E 75 %[3]d </dev/null; s=$?; else s=1; fi
if [ "$s" = 0 ]; then printf '%%s\n' %[4]s > %[1]s.info; ( set -e
%[5]s
) </dev/null; [ "$?" = 0 ] || s=76
elif [ "$s" = 75 ]; then exec %[3]d>&-; cat -- %[1]s.info 2>/dev/null; fi
`, lockPath, int(opts.Wait.Seconds()), lockFD, run.Quote(info), then)
	var buf bytes.Buffer
	status, _, err := sh.exec(line+sh.endLine(), &buf, nil, nil)
	if err != nil {
		return false, nil, err
	}
	switch status {
	case 0:
		return true, buf.Bytes(), nil
	case 75:
		return false, buf.Bytes(), nil
	case 76:
		return true, buf.Bytes(), &ShellError{Host: sh.host.String(), Status: "1", Stderr: strings.TrimSpace(sh.errTail.String())}
	}
	return false, nil, fmt.Errorf("take the deploy lock %s.lock on %s (is flock installed? it is part of util-linux): exit status %d: %s", dir, sh.host, status, strings.TrimSpace(sh.errTail.String()))
}

// unlock releases the deploy lock without waiting for the server (see
// send). Should the connection end first, the shell ends with it, and the
// lock too.
func (sh *shell) unlock() {
	_ = sh.send(fmt.Sprintf("flock -u %[1]d 2>/dev/null; exec %[1]d>&- 2>/dev/null\n", lockFD))
}

// send writes lines the shell runs without a reply: they print nothing and
// the shell runs what comes next after them, so they cost no round trip.
// Their failures go unseen: only for what needs no answer.
func (sh *shell) send(lines string) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead != nil {
		return sh.dead
	}
	if _, err := io.WriteString(sh.stdin, "{ "+strings.TrimRight(lines, "\n")+"\n} >/dev/null 2>&1 </dev/null\n"); err != nil {
		sh.dead = fmt.Errorf("the connection to %s ended: %w", sh.host, err)
		return sh.dead
	}
	return nil
}

func pidOf() int { return os.Getpid() }
