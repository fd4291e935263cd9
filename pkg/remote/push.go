package remote

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	scp "github.com/bramvdbogaerde/go-scp"

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
	// OnFile is called after each uploaded file (tests use it to cut the
	// connection mid-upload; progress bars to advance).
	OnFile func(e Entry)
	// Workers is how many files upload at once over the connection (default 6).
	Workers int
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
	if opts.Workers == 0 {
		opts.Workers = 6
	}
	if opts.Who == "" {
		opts.Who = whoAmI()
	}
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	ignore, err := Ignore(root)
	if err != nil {
		return nil, err
	}
	local, err := LocalManifest(root, ignore)
	if err != nil {
		return nil, err
	}

	unlock, err := c.lock(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	defer unlock()

	id := releaseID()
	out, err := run.Output(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-c", prepareScript(dir, id)}})
	if err != nil {
		return nil, fmt.Errorf("prepare the upload to %s on %s: %w", dir, c.Host, err)
	}
	staging, listing, _ := strings.Cut(string(out), "\n")
	remote, err := ParseManifest([]byte(listing))
	if err != nil {
		return nil, err
	}
	plan := Diff(local, remote)
	say("push-files: %d to upload (%d bytes), %d to delete, %d folders to create on %s", len(plan.Upload), plan.Bytes, len(plan.Delete), len(plan.Mkdir), c.Host)

	if err := c.shellScript(ctx, clearScript(staging, plan)); err != nil {
		return nil, fmt.Errorf("apply deletions in %s on %s: %w", staging, c.Host, err)
	}
	if err := c.upload(ctx, root, staging, plan.Upload, opts); err != nil {
		return nil, fmt.Errorf("upload to %s: %w (the server still runs the previous tree; run push-files again)", c.Host, err)
	}
	release, err := c.finalize(ctx, dir, id, staging, local, plan)
	if err != nil {
		return nil, err
	}
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
		"if cd " + ShellPath(dir) + " 2>/dev/null; then " + ManifestScript + "; else printf '\\n--hashes--\\n'; fi"}})
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

// lock holds flock on <dir>.lock through a session until unlock is called
// or the connection ends.
func (c *Client) lock(ctx context.Context, dir string, opts PushOptions) (func(), error) {
	sess, err := c.ssh.NewSession()
	if err != nil {
		return nil, err
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	var stderr strings.Builder
	sess.Stderr = &stderr
	lockPath := ShellPath(dir + ".lock")
	info := fmt.Sprintf("%s since %s (pid %d)", opts.Who, time.Now().UTC().Format(time.RFC3339), os.Getpid())
	script := fmt.Sprintf(`mkdir -p "$(dirname %[1]s)" && exec flock -w %[2]d -E 75 %[1]s sh -c 'printf "%%s\n" "$1" > "$2.info"; echo locked; exec cat' sh %[3]s %[1]s`,
		lockPath, int(opts.LockWait.Seconds()), run.Quote(info))
	if err := sess.Start(script); err != nil {
		sess.Close()
		return nil, err
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) == "locked" {
		return func() { stdin.Close(); sess.Wait(); sess.Close() }, nil
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

// prepareScript makes the staging folder and prints its path and manifest.
func prepareScript(dir, id string) string {
	d := ShellPath(dir)
	return `set -e
D=` + d + `
R="$D.releases"
mkdir -p "$R"
rm -rf "$R"/.staging-*
if [ -d "$D" ] && [ ! -L "$D" ]; then
	# First push onto a plain folder: it becomes the first release.
	mv "$D" "$R/initial"
	ln -s "$R/initial" "$D"
fi
S="$R/.staging-` + id + `"
if [ -L "$D" ]; then cp -al "$(readlink -f "$D")/." "$S"; else mkdir -p "$S"; fi
cd "$S"
printf '%s\n' "$PWD"
` + ManifestScript
}

// clearScript removes, in staging, what disappeared and what will be
// uploaded again (breaking hard links to the live release), and creates
// folders.
func clearScript(staging string, plan Plan) string {
	var b strings.Builder
	b.WriteString("set -e\ncd " + run.Quote(staging) + "\n")
	for _, p := range plan.Delete {
		b.WriteString("rm -rf -- " + run.Quote(p) + "\n")
	}
	for _, e := range plan.Upload {
		b.WriteString("rm -rf -- " + run.Quote(e.Path) + "\n")
	}
	for _, e := range plan.Mkdir {
		b.WriteString("mkdir -p -- " + run.Quote(e.Path) + "\n")
	}
	return b.String()
}

// shellScript runs a script fed on stdin (no command-line length limit).
func (c *Client) shellScript(ctx context.Context, script string) error {
	_, err := run.OutputFrom(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-s"}}, strings.NewReader(script))
	return err
}

func (c *Client) upload(ctx context.Context, root, staging string, files []Entry, opts PushOptions) error {
	if len(files) == 0 {
		return nil
	}
	client, err := scp.NewClientBySSH(c.ssh)
	if err != nil {
		return err
	}
	jobs := make(chan Entry)
	errs := make(chan error, opts.Workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < min(opts.Workers, len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				if err := copyFile(ctx, &client, root, staging, e); err != nil {
					errs <- err
					for range jobs {
					}
					return
				}
				if opts.OnFile != nil {
					mu.Lock()
					opts.OnFile(e)
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, e := range files {
			select {
			case jobs <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func copyFile(ctx context.Context, client *scp.Client, root, staging string, e Entry) error {
	f, err := os.Open(root + "/" + e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := client.Copy(ctx, f, staging+"/"+e.Path, fmt.Sprintf("%04o", e.Mode.Perm()), e.Size); err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return nil
}

// finalize fixes modes (scp applies the server's umask), makes staging a
// release and swaps DIR to it atomically, then drops old releases.
func (c *Client) finalize(ctx context.Context, dir, id, staging string, local Manifest, plan Plan) (string, error) {
	var b strings.Builder
	b.WriteString("set -e\ncd " + run.Quote(staging) + "\n")
	for _, e := range plan.Mkdir {
		fmt.Fprintf(&b, "chmod %04o -- %s\n", e.Mode.Perm(), run.Quote(e.Path))
	}
	for _, e := range plan.Upload {
		fmt.Fprintf(&b, "chmod %04o -- %s\n", e.Mode.Perm(), run.Quote(e.Path))
	}
	if _, ok := local[EnvFile]; ok {
		b.WriteString("chmod 0600 -- " + EnvFile + "\n")
	}
	d := ShellPath(dir)
	b.WriteString(`D=` + d + `
R="$D.releases"
mv ` + run.Quote(staging) + ` "$R/` + id + `"
ln -sfn "$R/` + id + `" "$D.swap-` + id + `"
mv -T "$D.swap-` + id + `" "$D"
ls -1d "$R"/2*/ 2>/dev/null | sort | head -n -3 | xargs -r rm -rf
printf '%s\n' "$R/` + id + `"
`)
	out, err := run.OutputFrom(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-s"}}, strings.NewReader(b.String()))
	if err != nil {
		return "", fmt.Errorf("swap %s to the new release on %s: %w", dir, c.Host, err)
	}
	return strings.TrimSpace(string(out)), nil
}
