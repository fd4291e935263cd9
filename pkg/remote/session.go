package remote

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// The server side of a stack
//
// DIR on the server is a symbolic link to the current release,
// DIR.releases/<id>; every release is a complete tree. Next to each release
// the server keeps <id>.manifest (the content hash of every file, as
// uploaded), <id>.json (who made it, when, from which git commit) and
// <id>.model.json (the compose definition of every service it deployed).
// DIR.releases/history records each activation (time, release, why), so the
// release a running container has mounted can be told from the time it
// started: Docker resolves the DIR link when a container starts.
//
// One deploy at a time: a [Session] holds flock on DIR.lock through an SSH
// session for as long as it lives, so the kernel releases the lock when the
// session ends in any way, connection cuts and kill -9 included. Everything
// a deploy does on the server's files runs in that session's shell; every
// path it names is quoted, and nothing outside DIR, DIR.releases and
// DIR.lock is ever written or deleted.

// LockOptions tune Lock.
type LockOptions struct {
	// Wait is how long to wait for another deploy to finish (default 10s).
	Wait time.Duration
	// Who names this deploy in the lock ("user@laptop" by default).
	Who string
	// With is a command run in the same round trip once the lock is held
	// (a deploy lists its containers); Session.With returns its output,
	// whatever its exit status.
	With run.Command
	// PushAhead starts pushing a tree before the lock is held, for the
	// session's Push to finish (see PushAhead).
	PushAhead *PushAhead
}

// LockError reports a deploy refused because another one holds the lock.
type LockError struct {
	Host   string
	Dir    string
	Holder string // the holder's own description: who, since when, pid
	Since  time.Time
}

// StaleAfter is how old a held lock must be before it is reported as
// probably stale.
const StaleAfter = 30 * time.Minute

// Stale reports whether the lock has been held for longer than StaleAfter.
func (e *LockError) Stale() bool { return !e.Since.IsZero() && time.Since(e.Since) > StaleAfter }

func (e *LockError) Error() string {
	msg := fmt.Sprintf("another deploy holds the lock on %s on %s: %s", e.Dir, e.Host, e.Holder)
	if e.Stale() {
		msg += fmt.Sprintf("; it has been held for %s, so its process is probably stuck", time.Since(e.Since).Round(time.Second))
	}
	return msg
}

// NoStackError reports that DIR holds no stack on the server yet.
type NoStackError struct {
	Host string
	Dir  string
}

func (e *NoStackError) Error() string {
	return fmt.Sprintf("there is no stack in %s on %s yet", e.Dir, e.Host)
}

// State is what the server holds for a stack folder: its releases, their
// activations, and the current tree.
type State struct {
	// Dir is DIR as given (it may start with ~/); Abs is its absolute path.
	Dir, Abs string
	client   *Client
	host     Host
	st       serverState
}

// serverState is what one inspection read.
type serverState struct {
	home     string
	exists   bool   // DIR exists (as a link or a folder)
	current  string // id of the release DIR points to; "" when none
	releases []Release
	history  []Activation
	manifest Manifest // the current release's
	model    []byte   // the current release's compose model
	free     int64    // bytes available to DIR.releases
	mount    string   // the file system DIR.releases lives on
}

// Session is one deploy's hold on DIR on the server: a shell that holds the
// deploy lock, and the state it read when it took it.
type Session struct {
	*State
	client *Client
	sh     *shell
	with   []byte
	ahead  *ahead // an upload started before the lock (PushAhead)
	tree   *scan  // the tree PushAhead read
}

// With is the output of LockOptions.With.
func (s *Session) With() []byte { return s.with }

// Lock takes the deploy lock of dir (DefaultDir when empty), waiting up to
// opts.Wait for another deploy, then reads the server's state in the same
// round trip: releases, activations, the current tree's manifest and free
// space. Interrupted deploys' leftovers are removed first, and a plain DIR
// folder becomes the first release.
func (c *Client) Lock(ctx context.Context, dir string, opts LockOptions) (*Session, error) {
	if dir == "" {
		dir = DefaultDir
	}
	if opts.Wait == 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Who == "" {
		opts.Who = WhoAmI()
	}
	// The tree is read and its upload started while the connection and
	// the shell come up.
	var tree *scan
	var a *ahead
	if opts.PushAhead != nil {
		t := scanTree(opts.PushAhead.Root)
		tree = &t
		a = c.startAhead(ctx, dir, opts.PushAhead, t)
	}
	sh, err := c.shell()
	if err != nil {
		if a != nil {
			a.cancel()
			<-a.done
		}
		return nil, err
	}
	// One round trip: the lock, then what the server holds, and what the
	// options add.
	var extra string
	with := opts.With
	if a != nil && len(with.Args) == 0 {
		with = opts.PushAhead.WithUpload
	}
	if len(with.Args) > 0 {
		extra += section("with") + "\n(" + script(dir, with) + ") || true\n"
	}
	if a != nil {
		extra += a.stageIfCurrent(dir)
	}
	then := strings.Replace(inspectScript(dir, true), section("manifest"), extra+section("manifest"), 1)
	locked, out, err := sh.lock(dir, opts, then)
	fail := func(err error) (*Session, error) {
		if a != nil {
			a.abandon(sh, dir)
		}
		if locked {
			sh.unlock()
		}
		return nil, err
	}
	if err != nil {
		if locked {
			return fail(fmt.Errorf("read the stack folder %s on %s: %w", dir, c.Host, err))
		}
		return fail(err)
	}
	if !locked {
		return fail(lockError(c.Host.String(), dir, strings.TrimSpace(string(out))))
	}
	st, err := newState(c, dir, out)
	if err != nil {
		return fail(err)
	}
	c.Trace("lock+inspect")
	parts := sections(out, "manifest")
	sess := &Session{State: st, client: c, sh: sh, with: parts["with"], ahead: a, tree: tree}
	if a != nil {
		a.staged = string(parts["ahead"]) == "staged"
	}
	return sess, nil
}

// Inspect reads the server's state for dir without taking the lock or
// changing anything. A missing DIR is a *NoStackError.
func (c *Client) Inspect(ctx context.Context, dir string) (*State, error) {
	if dir == "" {
		dir = DefaultDir
	}
	out, err := run.Output(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-c", inspectScript(dir, false)}})
	if err != nil {
		return nil, fmt.Errorf("read the stack folder %s on %s: %w", dir, c.Host, err)
	}
	st, err := newState(c, dir, out)
	if err != nil {
		return nil, err
	}
	if !st.st.exists {
		return nil, &NoStackError{Host: c.Host.String(), Dir: dir}
	}
	return st, nil
}

func newState(c *Client, dir string, out []byte) (*State, error) {
	st, err := parseInspect(out)
	if err != nil {
		return nil, fmt.Errorf("read the stack folder %s on %s: %w", dir, c.Host, err)
	}
	return &State{Dir: dir, Abs: absolute(dir, st.home), client: c, host: c.Host, st: st}, nil
}

// AbsDir is DIR's absolute path on the server.
func (s *State) AbsDir() string { return s.Abs }

// ReleaseFiles reads the recorded manifests and models of releases.
func (s *State) ReleaseFiles(ctx context.Context, ids []string) (map[string]ReleaseFiles, error) {
	return s.client.ReleaseFiles(ctx, s.Dir, ids)
}

// Close releases the lock.
func (s *Session) Close() {
	if s.ahead != nil {
		s.ahead.abandon(s.sh, s.Dir)
		s.ahead = nil
	}
	s.sh.unlock()
}

// Host names the server.
func (s *State) Host() Host { return s.host }

// Exists reports whether DIR exists on the server.
func (s *State) Exists() bool { return s.st.exists }

// Current is the id of the release DIR points to ("" before the first push).
func (s *State) Current() string { return s.st.current }

// Releases lists the releases on the server, oldest first.
func (s *State) Releases() []Release { return s.st.releases }

// History lists the activations of releases, oldest first.
func (s *State) History() []Activation { return s.st.history }

// Timeline is the releases' activations, to tell which release a
// container started on.
func (s *State) Timeline() Timeline { return NewTimeline(s.st.releases, s.st.history) }

// CurrentManifest is the manifest of the current release.
func (s *State) CurrentManifest() Manifest { return s.st.manifest }

// CurrentModel is the compose model recorded with the current release (nil
// when it has none).
func (s *State) CurrentModel() []byte { return s.st.model }

// absolute expands a leading ~ and makes dir absolute from the login folder,
// as the server's shell would.
func absolute(dir, home string) string {
	switch {
	case dir == "~":
		return home
	case strings.HasPrefix(dir, "~/"):
		return path.Join(home, dir[2:])
	case strings.HasPrefix(dir, "/"):
		return path.Clean(dir)
	default:
		return path.Join(home, dir)
	}
}

// WhoAmI names this deploy: user@host.
func WhoAmI() string {
	name := "uid" + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown-host"
	}
	return name + "@" + host
}

// ShellError is a script of the locked shell that failed.
type ShellError struct {
	Host   string
	Status string
	Stderr string
}

func (e *ShellError) Error() string {
	return fmt.Sprintf("exit status %s on %s: %s", e.Status, e.Host, e.Stderr)
}

func lockError(host, dir, holder string) *LockError {
	e := &LockError{Host: host, Dir: dir, Holder: holder}
	if _, rest, ok := strings.Cut(holder, " since "); ok {
		stamp, _, _ := strings.Cut(rest, " ")
		e.Since, _ = time.Parse(time.RFC3339, stamp)
	}
	if e.Holder == "" {
		e.Holder = "unknown holder"
	}
	return e
}

// section starts a named part of a script's output.
func section(name string) string { return `printf '\n\036` + name + `\n'` }

// sections splits output made with section markers. The last section is
// taken whole: it may list files planted on the server, whose names could
// hold anything, even a marker.
func sections(out []byte, last string) map[string][]byte {
	parts := map[string][]byte{}
	head, tail, found := bytes.Cut(out, []byte("\n\x1e"+last+"\n"))
	if found {
		parts[last] = tail
	}
	for _, chunk := range bytes.Split(head, []byte("\n\x1e"))[1:] {
		name, body, _ := bytes.Cut(chunk, []byte("\n"))
		parts[string(name)] = body
	}
	return parts
}

// inspectScript prints the server's state. With tidy (under the lock) it
// first removes what interrupted deploys left and turns a plain DIR folder
// into the first release.
func inspectScript(dir string, tidy bool) string {
	script := `D=` + ShellPath(dir) + `
R="$D.releases"
`
	if tidy {
		script += `mkdir -p -- "$R"
rm -rf -- "$R"/.staging-* "$R"/.upload-* "$R"/.swap-*
if [ -d "$D" ] && [ ! -L "$D" ]; then
	# First push onto a plain folder: it becomes the first release.
	mv -- "$D" "$R/initial"
	ln -s -- "$R/initial" "$D"
fi
`
	}
	return script + section("home") + `
printf '%s' "$HOME"
` + section("exists") + `
if [ -e "$D" ]; then printf yes; fi
` + section("current") + `
if [ -L "$D" ]; then cur=$(readlink -- "$D"); printf '%s' "${cur##*/}"; fi
` + section("releases") + `
for f in "$R"/*; do [ -d "$f" ] && case "${f##*/}" in ` + releaseGlob("") + `) printf '%s\n' "${f##*/}" ;; esac; done
` + section("meta") + `
for f in "$R"/*.json; do case "$f" in *.model.json) ;; *) [ -f "$f" ] && { tr -d '\n' < "$f"; echo; } ;; esac; done
` + section("failed") + `
for f in "$R"/*.failed; do [ -f "$f" ] && case "${f##*/}" in ` + releaseGlob(".failed") + `) printf '%s\n' "${f##*/}" ;; esac; done
` + section("history") + `
cat -- "$R/history" 2>/dev/null || true
` + section("space") + `
if [ -d "$R" ]; then df -Pk -- "$R" | tail -n 1; fi
` + section("model") + `
if [ -L "$D" ]; then cur=$(readlink -f -- "$D"); cat -- "$cur.model.json" 2>/dev/null || true; fi
` + section("manifest") + `
if [ -L "$D" ]; then cur=$(readlink -f -- "$D"); cd -- "$cur" && ` + ManifestScript(`"$cur.manifest"`) + `; else ` + emptyManifest + `; fi
`
}

func parseInspect(out []byte) (serverState, error) {
	parts := sections(out, "manifest")
	for _, name := range []string{"home", "current", "releases", "history", "space", "manifest"} {
		if _, ok := parts[name]; !ok {
			return serverState{}, fmt.Errorf("unexpected output from the server (no %s): %.300q", name, out)
		}
	}
	st := serverState{home: string(parts["home"]), exists: string(parts["exists"]) == "yes", current: strings.TrimSpace(string(parts["current"])), model: bytes.TrimSpace(parts["model"])}
	if len(st.model) == 0 {
		st.model = nil
	}
	var err error
	if st.manifest, err = ParseManifest(parts["manifest"]); err != nil {
		return st, err
	}
	st.free, st.mount = parseDF(string(parts["space"]))
	st.history = parseHistory(string(parts["history"]))
	st.releases = parseReleases(string(parts["releases"]), string(parts["meta"]), string(parts["failed"]), st.current, st.history)
	return st, nil
}

// parseDF reads the last line of `df -Pk`: available kilobytes and the
// mount point.
func parseDF(line string) (int64, string) {
	f := strings.Fields(line)
	if len(f) < 6 {
		return -1, ""
	}
	kb, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return -1, ""
	}
	return kb * 1024, strings.Join(f[5:], " ")
}
