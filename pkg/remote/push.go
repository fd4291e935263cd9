package remote

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	scp "github.com/bramvdbogaerde/go-scp"
	"golang.org/x/crypto/ssh"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Uploading the tree
//
// The server keeps each uploaded tree as a release, <DIR>.releases/<id>,
// and DIR is a symbolic link to the current one. A push hard-links the
// current release into a staging folder (nothing is copied), removes there
// what changed or disappeared, uploads new and changed files with go-scp,
// fixes modes, and swaps DIR to the new release with one rename of a
// symbolic link. However a push is interrupted, DIR is the complete old
// tree or the complete new one; the next push removes stale staging
// folders. A file is never written through a hard link: changed files are
// removed from staging before they are uploaded, so the live release is
// never touched. The three newest releases are kept (running containers
// may still reference files of the previous one).
//
// One push at a time: the push holds flock(1) on <DIR>.lock through an SSH
// session for as long as it runs, so the kernel releases it when the push
// ends in any way, connection cuts included.

// PushOptions tune Push.
type PushOptions struct {
	// LockWait is how long to wait for another push to finish (default 10s).
	LockWait time.Duration
	// Who names this push in the lock ("user@laptop" by default).
	Who string
	// Progress receives one line per phase and a final summary (may be nil).
	Progress io.Writer
	// OnFile is called for each file as it is packed for upload (tests use
	// it to cut the connection mid-push).
	OnFile func(e Entry)
	// PassThru wraps the upload stream (progress bars count its bytes).
	PassThru scp.PassThru
}

// PushResult says what a push did.
type PushResult struct {
	Plan    Plan
	Release string // absolute path of the new release on the server
}

// LockError reports a push refused because another one holds the lock.
type LockError struct {
	Dir    string
	Holder string // the holder's own description: who, since when, pid
	Since  time.Time
}

// StaleAfter is how old a held lock must be before it is reported as
// probably stale.
const StaleAfter = 30 * time.Minute

func (e *LockError) Error() string {
	msg := fmt.Sprintf("another deploy holds the lock on %s: %s", e.Dir, e.Holder)
	if !e.Since.IsZero() && time.Since(e.Since) > StaleAfter {
		msg += fmt.Sprintf("; it has been held for %s, so its process is probably stuck: if no deploy is running, break it with `go tool mage ssh-command COMMAND='pkill -f \"flock .*%s.lock\"'`", time.Since(e.Since).Round(time.Second), path.Base(e.Dir))
	} else {
		msg += "; wait for it to finish and try again"
	}
	return msg
}

// Push uploads the tree at root to dir on the server (DefaultDir when empty).
func (c *Client) Push(ctx context.Context, dir, root string, opts PushOptions) (*PushResult, error) {
	if dir == "" {
		dir = DefaultDir
	}
	if opts.LockWait == 0 {
		opts.LockWait = 10 * time.Second
	}
	if opts.Who == "" {
		opts.Who = whoAmI()
	}
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	began := time.Now()
	trace := func(phase string) {
		if os.Getenv("SELFHOSTED_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "trace: %-10s %v\n", phase, time.Since(began))
		}
	}
	ignore, err := Ignore(root)
	if err != nil {
		return nil, err
	}
	hashes := OpenHashCache(root)
	local, err := LocalManifestCached(root, ignore, hashes)
	if err != nil {
		return nil, err
	}
	hashes.Save()
	trace("manifest")
	shell, err := c.lock(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	defer shell.Close()
	trace("lock")
	out, err := shell.Run(inspectScript(dir))
	if err != nil {
		return nil, fmt.Errorf("read the tree in %s: %w", dir, err)
	}
	home, listing, _ := bytes.Cut(out, []byte("\n"))
	remote, err := ParseManifest(listing)
	if err != nil {
		return nil, err
	}
	trace("inspect")
	plan := Diff(local, remote)
	say("push-files: %d to upload (%d bytes), %d to delete, %d folders to create on %s", len(plan.Upload), plan.Bytes, len(plan.Delete), len(plan.Mkdir), c.Host)
	if plan.Empty() {
		say("push-files: %s is up to date", dir)
		return &PushResult{Plan: plan}, nil
	}
	id := releaseID()
	archive := dir + ".releases/.upload-" + id + ".tar"
	if rest, ok := strings.CutPrefix(archive, "~/"); ok {
		// go-scp quotes its path, so the server's shell won't expand ~.
		archive = string(home) + "/" + rest
	}
	if err := c.upload(ctx, root, archive, plan.Upload, opts); err != nil {
		return nil, fmt.Errorf("upload to %s: %w (the server still runs the previous tree; run push-files again)", c.Host, err)
	}
	trace("upload")
	release, err := finalize(shell, dir, id, archive, plan, remote, cacheOf(local, remote, plan))
	if err != nil {
		return nil, err
	}
	trace("finalize")
	say("push-files: %s now points to %s", dir, release)
	return &PushResult{Plan: plan, Release: release}, nil
}

// PlanPush says what Push would upload and delete, changing nothing.
func (c *Client) PlanPush(ctx context.Context, dir, root string) (Plan, error) {
	if dir == "" {
		dir = DefaultDir
	}
	ignore, err := Ignore(root)
	if err != nil {
		return Plan{}, err
	}
	local, err := LocalManifest(root, ignore)
	if err != nil {
		return Plan{}, err
	}
	out, err := run.Output(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-c",
		"D=" + ShellPath(dir) + `; if [ -L "$D" ]; then cur=$(readlink -f "$D"); cd "$cur" && ` + ManifestScript(`"$cur.manifest"`) + "; else " + emptyManifest + "; fi"}})
	if err != nil {
		return Plan{}, fmt.Errorf("read the tree in %s on %s: %w", dir, c.Host, err)
	}
	remote, err := ParseManifest(out)
	if err != nil {
		return Plan{}, err
	}
	return Diff(local, remote), nil
}

func whoAmI() string {
	u := os.Getenv("USER")
	h, _ := os.Hostname()
	return u + "@" + h
}

func releaseID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// lockedShell is a shell on the server that holds flock on <dir>.lock for
// as long as it runs: it reads scripts from its stdin, so one session takes
// the lock, inspects the tree and swaps the release (each session costs
// round trips). Closing its stdin, or losing the connection, ends it and
// the kernel releases the lock.
type lockedShell struct {
	sess   *ssh.Session
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *strings.Builder
	host   Host
}

// endMarker ends each script's output in the locked shell.
const endMarker = "\n--selfhosted-end--"

// lock starts the locked shell, waiting up to opts.LockWait for another push.
func (c *Client) lock(ctx context.Context, dir string, opts PushOptions) (*lockedShell, error) {
	sess, err := c.ssh.NewSession()
	if err != nil {
		return nil, err
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	stderr := &strings.Builder{}
	sess.Stderr = stderr
	lockPath := ShellPath(dir + ".lock")
	info := fmt.Sprintf("%s since %s (pid %d)", opts.Who, time.Now().UTC().Format(time.RFC3339), os.Getpid())
	cmd := fmt.Sprintf(`mkdir -p "$(dirname %[1]s)" && exec flock -w %[2]d -E 75 %[1]s sh -s`, lockPath, int(opts.LockWait.Seconds()))
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return nil, err
	}
	sh := &lockedShell{sess: sess, stdin: stdin, out: bufio.NewReader(stdout), stderr: stderr, host: c.Host}
	if _, err := io.WriteString(stdin, "printf '%s\\n' "+run.Quote(info)+" > "+lockPath+".info\necho locked\n"); err != nil {
		sh.Close()
		return nil, err
	}
	line, _ := sh.out.ReadString('\n')
	if strings.TrimSpace(line) == "locked" {
		return sh, nil
	}
	err = sess.Wait()
	sess.Close()
	var exit interface{ ExitStatus() int }
	if errors.As(err, &exit) && exit.ExitStatus() == 75 {
		holder, _ := run.Output(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-c", "cat " + ShellPath(dir+".lock.info") + " 2>/dev/null || true"}})
		return nil, lockError(dir, strings.TrimSpace(string(holder)))
	}
	return nil, fmt.Errorf("take the deploy lock %s.lock on %s (is flock installed? it is part of util-linux): %v %s", dir, c.Host, err, strings.TrimSpace(stderr.String()))
}

// Run runs script in a subshell (set -e) and returns its output; a failing
// script is an error carrying its exit status and stderr.
func (l *lockedShell) Run(script string) ([]byte, error) {
	wrapped := "(\nset -e\n" + script + "\n)\nprintf '" + endMarker + " %d\\n' $?\n"
	if _, err := io.WriteString(l.stdin, wrapped); err != nil {
		return nil, fmt.Errorf("the connection to %s ended: %w", l.host, err)
	}
	var buf []byte
	marker := []byte(endMarker[1:] + " ")
	for {
		line, err := l.out.ReadBytes('\n')
		// The marker starts a line of its own (it begins with a newline).
		if bytes.HasPrefix(line, marker) && bytes.HasSuffix(line, []byte("\n")) && bytes.HasSuffix(buf, []byte("\n")) {
			status := strings.TrimSpace(string(line[len(marker):]))
			out := buf[:len(buf)-1]
			if status != "0" {
				return out, fmt.Errorf("exit status %s on %s: %s", status, l.host, strings.TrimSpace(l.stderr.String()))
			}
			return out, nil
		}
		buf = append(buf, line...)
		if err != nil {
			return nil, fmt.Errorf("the connection to %s ended: %w %s", l.host, err, strings.TrimSpace(l.stderr.String()))
		}
	}
}

// Close ends the shell and so releases the lock.
func (l *lockedShell) Close() {
	l.stdin.Close()
	_ = l.sess.Wait()
	l.sess.Close()
}

func lockError(dir, holder string) *LockError {
	e := &LockError{Dir: dir, Holder: holder}
	if _, rest, ok := strings.Cut(holder, " since "); ok {
		stamp, _, _ := strings.Cut(rest, " ")
		e.Since, _ = time.Parse(time.RFC3339, stamp)
	}
	if e.Holder == "" {
		e.Holder = "unknown holder"
	}
	return e
}

// inspectScript removes what interrupted pushes left, turns a plain DIR
// into the first release, and prints $HOME on a line, then the manifest of
// the current release.
func inspectScript(dir string) string {
	return `printf '%s\n' "$HOME"
D=` + ShellPath(dir) + `
R="$D.releases"
mkdir -p "$R"
rm -rf "$R"/.staging-* "$R"/.upload-*
if [ -d "$D" ] && [ ! -L "$D" ]; then
	# First push onto a plain folder: it becomes the first release.
	mv "$D" "$R/initial"
	ln -s "$R/initial" "$D"
fi
if [ -L "$D" ]; then cur=$(readlink -f "$D"); cd "$cur" && ` + ManifestScript(`"$cur.manifest"`) + `; else ` + emptyManifest + `; fi
`
}

// stageScript hard-links the current release into a staging folder (no
// data is copied), removes there what disappeared and what will be sent
// again (so the live release is never written through a link), creates
// folders. finalize runs it first.
func stageScript(dir, id string, plan Plan, remote Manifest) string {
	var b strings.Builder
	b.WriteString(`set -e
D=` + ShellPath(dir) + `
S="$D.releases/.staging-` + id + `"
if [ -L "$D" ]; then cp -al "$(readlink -f "$D")/." "$S"; else mkdir -p "$S"; fi
cd "$S"
`)
	var remove []string
	remove = append(remove, plan.Delete...)
	for _, e := range plan.Upload {
		if _, exists := remote[e.Path]; exists {
			remove = append(remove, e.Path)
		}
	}
	batches(&b, "rm -rf --", remove)
	var dirs []string
	for _, e := range plan.Mkdir {
		dirs = append(dirs, e.Path)
	}
	batches(&b, "mkdir -p --", dirs)
	b.WriteString(`printf '%s\n' "$PWD"` + "\n")
	return b.String()
}

// batches writes cmd over paths, a few hundred per line, so a push of
// thousands of files costs a handful of processes, not thousands.
func batches(b *strings.Builder, cmd string, paths []string) {
	for len(paths) > 0 {
		n := min(len(paths), 500)
		b.WriteString(cmd)
		for _, p := range paths[:n] {
			b.WriteString(" " + run.Quote(p))
		}
		b.WriteString("\n")
		paths = paths[n:]
	}
}

// upload packs the files to send into one tar archive and sends it with
// go-scp in a single session: one transfer instead of a session (and
// several round trips) per file. finalize unpacks it into staging.
func (c *Client) upload(ctx context.Context, root, archive string, files []Entry, opts PushOptions) error {
	if len(files) == 0 {
		return nil
	}
	tmp, err := os.CreateTemp("", "selfhosted-upload-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	tw := tar.NewWriter(tmp)
	for _, e := range files {
		if err := addToTar(tw, root, e); err != nil {
			return err
		}
		if opts.OnFile != nil {
			opts.OnFile(e)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	client, err := scp.NewClientBySSH(c.ssh)
	if err != nil {
		return err
	}
	return client.CopyPassThru(ctx, tmp, archive, "0600", size, opts.PassThru)
}

func addToTar(tw *tar.Writer, root string, e Entry) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != e.Size {
		return fmt.Errorf("%s changed while uploading: run push-files again", e.Path)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Mode: int64(e.Mode.Perm()), Size: e.Size, ModTime: st.ModTime(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// cacheOf records the new release's files for the next push: the files
// sent now carry their local mtime (tar keeps it), the others keep the
// server's.
func cacheOf(local, remote Manifest, plan Plan) string {
	sent := map[string]bool{}
	for _, e := range plan.Upload {
		sent[e.Path] = true
	}
	var b strings.Builder
	for _, path := range sortedPaths(local) {
		e := local[path]
		if e.Dir {
			continue
		}
		if !sent[path] {
			e.MTime = remote[path].MTime
		}
		b.WriteString(CacheLine(e))
	}
	return b.String()
}

// finalize fixes modes (scp applies the server's umask), makes staging a
// release and swaps DIR to it atomically, then drops old releases.
func finalize(shell *lockedShell, dir, id, archive string, plan Plan, remote Manifest, cache string) (string, error) {
	var b strings.Builder
	b.WriteString(stageScript(dir, id, plan, remote))
	if len(plan.Upload) > 0 {
		b.WriteString("tar -xpf " + ShellPath(archive) + " && rm -f -- " + ShellPath(archive) + "\n")
	}
	// tar -p restores the uploaded files' modes exactly; folders get theirs here.
	byMode := map[string][]string{}
	for _, e := range plan.Mkdir {
		mode := fmt.Sprintf("%04o", e.Mode.Perm())
		byMode[mode] = append(byMode[mode], e.Path)
	}
	for mode, paths := range byMode {
		batches(&b, "chmod "+mode+" --", paths)
	}
	d := ShellPath(dir)
	b.WriteString(`D=` + d + `
R="$D.releases"
cat > "$R/` + id + `.manifest" <<'SELFHOSTED_MANIFEST_END'
` + cache + `SELFHOSTED_MANIFEST_END
mv "$S" "$R/` + id + `"
ln -sfn "$R/` + id + `" "$D.swap-` + id + `"
mv -T "$D.swap-` + id + `" "$D"
# Old releases go in the background: the new tree is already live.
old=$(ls -1d "$R"/2*/ 2>/dev/null | sort | head -n -3 | tr '\n' ' ')
if [ -n "$old" ]; then (for o in $old; do rm -rf "$o" "${o%/}.manifest"; done) </dev/null >/dev/null 2>&1 & fi
printf '%s\n' "$R/` + id + `"
`)
	out, err := shell.Run(b.String())
	if err != nil {
		return "", fmt.Errorf("swap %s to the new release: %w", dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
