package remote

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	scp "github.com/bramvdbogaerde/go-scp"
)

// Uploading the tree
//
// A push makes a new release from the current one without copying data:
// the current release is hard-linked into a staging folder, what changed
// or disappeared is removed there (so no file of the live release is ever
// written through a link), and the new and changed files are streamed as
// one tar archive through a single go-scp session straight into `tar -x`
// in the staging folder: nothing is stored twice, on either side, so a push
// needs about the size of the changed files in free space, and no local
// temporary copy of the tree exists to survive a kill. Staging then becomes
// the release and DIR is switched to it with one rename. However a push
// ends, DIR is the complete old tree or the complete new one; a failed
// push removes its staging folder at once, and the next push removes what
// a killed one left.

// PushOptions tune Push.
type PushOptions struct {
	// LockWait and Who are the lock's options for Client.Push.
	LockWait time.Duration
	Who      string
	// Commit and Dirty record where the tree came from in the release.
	Commit string
	Dirty  bool
	// Model is the compose model of the tree, recorded with the release so
	// that later deploys can say what changed.
	Model []byte
	// Progress receives one line per phase and a final summary (may be nil).
	Progress io.Writer
	// PassThru wraps the upload stream (progress bars count its bytes).
	PassThru scp.PassThru

	// onFile is called as each file is streamed (tests cut the connection
	// or rewrite the file there).
	onFile func(e Entry)
}

// PushResult says what a push did.
type PushResult struct {
	Plan Plan
	// Release is the id of the release DIR now points to, Previous the one
	// it pointed to before ("" on a first push). UpToDate is true when
	// nothing had to be sent and no release was made.
	Release, Previous string
	UpToDate          bool
	// Activated is when DIR was switched, on the server's clock.
	Activated time.Time
	// Changed lists files rewritten locally after they were hashed: each
	// was sent whole as read, and the release records what was sent.
	Changed []string
}

// SpaceError reports too little free space on the server for a push.
type SpaceError struct {
	Host  string
	Mount string // the file system DIR.releases lives on
	Need  int64
	Free  int64
	// During is true when the disk filled up during the upload.
	During bool
}

func (e *SpaceError) Error() string {
	if e.During {
		return fmt.Sprintf("the disk of %s on %s filled up during the upload (need %s, %s free before it started); the partial upload was removed and the server still runs the previous tree", e.Mount, e.Host, megabytes(e.Need), megabytes(e.Free))
	}
	return fmt.Sprintf("not enough space on %s: need %s on %s, %s free; nothing was uploaded", e.Host, megabytes(e.Need), e.Mount, megabytes(e.Free))
}

func megabytes(n int64) string {
	if n < 10<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}

// ChangedError reports a file that changed while it was being uploaded.
type ChangedError struct {
	Path string
	Host string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed while it was being uploaded, so nothing was changed on %s", e.Path, e.Host)
}

// Push uploads the tree at root to dir on the server (DefaultDir when
// empty) under the deploy lock, in its own session.
func (c *Client) Push(ctx context.Context, dir, root string, opts PushOptions) (*PushResult, error) {
	s, err := c.Lock(ctx, dir, LockOptions{Wait: opts.LockWait, Who: opts.Who, PushAhead: &PushAhead{Root: root, PushOptions: opts}})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.push(ctx, root, opts, *s.tree)
}

// scan is the local tree as it would be uploaded.
type scan struct {
	local  Manifest
	stamps map[string]hashKey
	err    error
}

func scanTree(root string) scan {
	ignore, err := Ignore(root)
	if err != nil {
		return scan{err: err}
	}
	hashes := OpenHashCache(root)
	local, stamps, err := localManifest(root, ignore, hashes)
	if err != nil {
		return scan{err: err}
	}
	hashes.Save()
	return scan{local: local, stamps: stamps}
}

// Local describes the tree at root as it would be uploaded.
func Local(root string) (Manifest, error) {
	ignore, err := Ignore(root)
	if err != nil {
		return nil, err
	}
	m, _, err := localManifest(root, ignore, nil)
	return m, err
}

// Plan says what a push of the tree at root would upload and delete.
func (s *Session) Plan(root string) (Plan, Manifest, error) {
	ignore, err := Ignore(root)
	if err != nil {
		return Plan{}, nil, err
	}
	hashes := OpenHashCache(root)
	local, _, err := localManifest(root, ignore, hashes)
	if err != nil {
		return Plan{}, nil, err
	}
	hashes.Save()
	return Diff(local, s.st.manifest), local, nil
}

// Push uploads the tree at root as a new release and switches DIR to it.
func (s *Session) Push(ctx context.Context, root string, opts PushOptions) (*PushResult, error) {
	return s.push(ctx, root, opts, scanTree(root))
}

func (s *Session) push(ctx context.Context, root string, opts PushOptions, tree scan) (*PushResult, error) {
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	trace := s.client.Trace
	if tree.err != nil {
		return nil, tree.err
	}
	local, stamps := tree.local, tree.stamps
	trace("push: manifest")
	plan := Diff(local, s.st.manifest)
	host := s.host.String()
	previous := s.st.current
	say("push-files: %d to upload (%s), %d to delete, %d folders to create on %s", len(plan.Upload), megabytes(plan.Bytes), len(plan.Delete), len(plan.Mkdir), s.host)
	if plan.Empty() && previous != "" {
		saveGuess(root, host, s.Dir, previous, s.st.manifest)
		say("push-files: %s is up to date (release %s)", s.Dir, previous)
		return &PushResult{Plan: plan, Release: previous, Previous: previous, UpToDate: true}, nil
	}
	if need := SpaceNeeded(plan, local); s.st.free >= 0 && need > s.st.free {
		return nil, &SpaceError{Host: host, Mount: s.st.mount, Need: need, Free: s.st.free}
	}

	var id string
	var done chan uploaded
	usedAhead := false
	if a := s.ahead; a != nil && a.staged && samePlan(plan, a.plan) && samePlan(Diff(local, a.tree.local), Plan{}) {
		// Started before the lock, on the right guess: staged already.
		id, done, usedAhead = a.id, a.done, true
	} else {
		if a != nil {
			a.abandon(s.sh, s.Dir)
		}
		// The upload's session opens while the shell stages the release:
		// its receiver starts extracting once staging is ready.
		id = newReleaseID(time.Now())
		upCtx, cancelUpload := context.WithCancel(ctx)
		defer cancelUpload()
		done = make(chan uploaded, 1)
		go func() {
			sent, changed, err := upload(upCtx, s.client, s.Dir, root, id, plan.Upload, stamps, opts, time.Minute)
			done <- uploaded{sent, changed, err}
		}()
		if _, err := s.sh.script(stageScript(s.Dir, id, plan, s.st.manifest)); err != nil {
			cancelUpload()
			<-done
			s.discard(id)
			return nil, s.pushError(id, "prepare the new release", plan, local, err)
		}
		trace("push: stage")
	}
	s.ahead = nil
	up := <-done
	var changedErr *ChangedError
	if usedAhead && up.err != nil && !errors.As(up.err, &changedErr) {
		// The upload ahead failed (its receiver gave up waiting for a
		// long-held lock, say): start again, as without a guess.
		s.discard(id)
		return s.push(ctx, root, opts, tree)
	}
	sent, changed, err := up.sent, up.changed, up.err
	if err != nil {
		s.discard(id)
		return nil, s.pushError(id, "upload", plan, local, err)
	}
	trace("push: upload")
	for path, hash := range sent {
		e := local[path]
		e.Hash = hash
		local[path] = e
	}
	meta := Meta{ID: id, Created: time.Now().UTC(), Who: opts.Who, Commit: opts.Commit, Dirty: opts.Dirty}
	if meta.Who == "" {
		meta.Who = WhoAmI()
	}
	// One round trip: record the release and switch DIR to it.
	out, err := s.sh.script(recordScript(s.Dir, id, plan, local, s.st.manifest, meta, opts.Model) + activateScript(s.Dir, id, "push"))
	if err != nil {
		s.discard(id)
		return nil, s.pushError(id, "record the new release", plan, local, err)
	}
	at, err := parseNanos(out)
	if err != nil {
		return nil, err
	}
	s.st.releases = append(s.st.releases, Release{ID: id, Created: meta.Created, Who: meta.Who, Commit: meta.Commit, Dirty: meta.Dirty})
	s.st.manifest = local
	s.st.model = opts.Model
	s.noteActivation(id, "push", at)
	saveGuess(root, host, s.Dir, id, local)
	trace("push: record+switch")
	say("push-files: %s now points to release %s", s.Dir, id)
	return &PushResult{Plan: plan, Release: id, Previous: previous, Activated: at, Changed: changed}, nil
}

// SpaceNeeded estimates the free space a push needs: the new and changed
// files in whole blocks, one block per folder (the hard-linked copy makes
// every folder anew) and the release's records.
func SpaceNeeded(plan Plan, local Manifest) int64 {
	const block = 4096
	var need int64 = 1 << 20
	for _, e := range plan.Upload {
		need += (e.Size + block - 1) / block * block
	}
	for _, e := range local {
		if e.Dir {
			need += block
		} else {
			need += 128 // its line in the manifest
		}
	}
	return need
}

// discard removes a failed push's staging folder, marker and log at once,
// so a full disk is not kept full until the next push. A receiver still
// waiting for the marker gives up at its timeout (see receiver).
func (s *Session) discard(id string) { _, _ = s.sh.script(discardScript(s.Dir, id)) }

func discardScript(dir, id string) string {
	return `R=` + ShellPath(dir+".releases") + "\nrm -rf -- \"$R/.staging-" + id + "\" \"$R/.staging-" + id + ".ready\" \"$R/.upload-" + id + ".log\""
}

// pushError explains a failed push: a full disk is said as such.
func (s *Session) pushError(id, step string, plan Plan, local Manifest, err error) error {
	var changed *ChangedError
	if errors.As(err, &changed) {
		return err
	}
	out, derr := s.sh.script(`df -Pk -- ` + ShellPath(s.Dir+".releases") + ` | tail -n 1`)
	if derr == nil {
		if free, mount := parseDF(string(out)); free >= 0 && (free < 1<<20 || strings.Contains(err.Error(), "No space left")) {
			return &SpaceError{Host: s.host.String(), Mount: mount, Need: SpaceNeeded(plan, local), Free: s.st.free, During: true}
		}
	}
	return fmt.Errorf("%s to %s: %w (the server still runs the previous tree)", step, s.host, err)
}

// stageScript hard-links the current release into a staging folder (no
// data is copied), removes there what disappeared and what will be sent
// again (so the live release is never written through a link), and
// creates folders with their modes.
func stageScript(dir, id string, plan Plan, remote Manifest) string {
	var b strings.Builder
	b.WriteString(`D=` + ShellPath(dir) + `
S="$D.releases/.staging-` + id + `"
if [ -L "$D" ]; then cp -al -- "$(readlink -f -- "$D")/." "$S"; else mkdir -p -- "$S"; fi
cd -- "$S"
`)
	var remove []string
	remove = append(remove, plan.Delete...)
	for _, e := range plan.Upload {
		if _, exists := remote[e.Path]; exists {
			remove = append(remove, e.Path)
		}
	}
	batches(&b, "rm -rf --", remove)
	byMode := map[string][]string{}
	var dirs []string
	for _, e := range plan.Mkdir {
		dirs = append(dirs, e.Path)
		mode := fmt.Sprintf("%04o", e.Mode.Perm())
		byMode[mode] = append(byMode[mode], e.Path)
	}
	batches(&b, "mkdir -p --", dirs)
	for _, mode := range sortedKeys(byMode) {
		batches(&b, "chmod "+mode+" --", byMode[mode])
	}
	// The receiver, started meanwhile in a session of its own, waits for
	// this.
	b.WriteString(`printf go > "$S.ready"` + "\n")
	return b.String()
}

// batches writes cmd over paths, a few hundred per line, so a push of
// thousands of files costs a handful of processes, not thousands. Paths
// are relative and start with a letter of the tree: "./" keeps one that
// starts with "-" from being read as an option.
func batches(b *strings.Builder, cmd string, paths []string) {
	for len(paths) > 0 {
		n := min(len(paths), 500)
		b.WriteString(cmd)
		for _, p := range paths[:n] {
			b.WriteString(" " + ShellPath("./"+p))
		}
		b.WriteString("\n")
		paths = paths[n:]
	}
}

// receiver is the command go-scp starts on the server: scp's sink writes
// the file it receives into a pipe to tar (its descriptor 3), while its
// protocol replies still reach go-scp (descriptor 4 keeps the session's
// output). Nothing is stored but the extracted files.
//
// It starts while the shell is still staging the release (so the session
// costs no round trip of its own): it first waits, polling every 20 ms for
// up to wait, for the marker the staging writes last.
func receiver(dir, id string, wait time.Duration) string {
	staging := ShellPath(dir + ".releases/.staging-" + id)
	log := ShellPath(dir + ".releases/.upload-" + id + ".log")
	polls := strconv.Itoa(int(wait / (20 * time.Millisecond)))
	return `selfhosted_receive() { n=0; while [ ! -s ` + staging + `.ready ]; do n=$((n+1)); [ "$n" -le ` + polls + ` ] || exit 70; sleep 0.02; done; ` +
		`[ "$(cat -- ` + staging + `.ready)" = go ] || exit 70; cd -- ` + staging + ` || exit 70; ` +
		`{ scp "$@" 3>&1 1>&4 | tar -x -p -f - 2>>` + log + `; } 4>&1; } && selfhosted_receive`
}

// upload streams the files to send as one tar archive into the staging
// folder. It returns the content hash of what was sent for each file, and
// the files that had been rewritten since they were hashed (sent whole).
func upload(ctx context.Context, c *Client, dir, root, id string, files []Entry, stamps map[string]hashKey, opts PushOptions, wait time.Duration) (map[string]string, []string, error) {
	sent := map[string]string{}
	if len(files) == 0 {
		return sent, nil, nil
	}
	size, err := tarSize(files)
	if err != nil {
		return nil, nil, err
	}
	client, err := scp.NewClientBySSH(c.SSH())
	if err != nil {
		return nil, nil, err
	}
	client.RemoteBinary = receiver(dir, id, wait)
	pr, pw := io.Pipe()
	var changed []string
	go func() {
		// Whole SSH packets: unbuffered, every tar header and padding
		// would travel as a packet of its own, each costing the server a
		// wakeup of sshd, scp and tar.
		bw := bufio.NewWriterSize(pw, packetSize)
		err := writeTar(ctx, bw, root, files, stamps, sent, &changed, c.Host.String(), opts.onFile)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	err = client.CopyPassThru(ctx, pr, "/dev/fd/3", "0600", size, opts.PassThru)
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		return nil, nil, err
	}
	return sent, changed, nil
}

// packetSize is the payload of the largest packet OpenSSH's sshd accepts
// on a session channel.
const packetSize = 32 << 10

func header(e Entry) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Mode: int64(e.Mode.Perm()), Size: e.Size,
		ModTime: time.Unix(e.MTime, 0), Format: tar.FormatPAX}
}

// tarSize is the exact length of the archive writeTar makes: scp's
// protocol announces a file's size before its content.
func tarSize(files []Entry) (int64, error) {
	var total int64
	for _, e := range files {
		var c countWriter
		if err := tar.NewWriter(&c).WriteHeader(header(e)); err != nil {
			return 0, fmt.Errorf("%s: %w", e.Path, err)
		}
		total += c.n + (e.Size+511)/512*512
	}
	return total + 1024, nil // two zero blocks end the archive
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeTar writes the files as a tar archive, hashing what it sends. A
// file whose size differs from the plan, or that changes while it is read,
// stops the upload: what was sent would not be what the release records.
func writeTar(ctx context.Context, w io.Writer, root string, files []Entry, stamps map[string]hashKey, sent map[string]string, changed *[]string, host string, onFile func(Entry)) error {
	tw := tar.NewWriter(w)
	for _, e := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		hash, rewritten, err := sendFile(tw, root, e, stamps[e.Path], host)
		if err != nil {
			return err
		}
		sent[e.Path] = hash
		if rewritten {
			*changed = append(*changed, e.Path)
		}
		if onFile != nil {
			onFile(e)
		}
	}
	return tw.Close()
}

func sendFile(tw *tar.Writer, root string, e Entry, planned hashKey, host string) (string, bool, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	if before.Size() != e.Size {
		return "", false, &ChangedError{Path: e.Path, Host: host}
	}
	if err := tw.WriteHeader(header(e)); err != nil {
		return "", false, err
	}
	h := sha256.New()
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(f, e.Size), h))
	if err != nil {
		return "", false, err
	}
	after, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	stamp := hashKey{after.Size(), after.ModTime().UnixNano()}
	if n != e.Size || stamp != (hashKey{before.Size(), before.ModTime().UnixNano()}) {
		return "", false, &ChangedError{Path: e.Path, Host: host}
	}
	hash := hex.EncodeToString(h.Sum(nil))
	return hash, stamp != planned || hash != e.Hash, nil
}

// recordScript writes the release's records (manifest, origin, model) and
// makes staging the release. Modes were set by tar -p and stageScript.
func recordScript(dir, id string, plan Plan, local, remote Manifest, meta Meta, model []byte) string {
	metaJSON, _ := json.Marshal(meta)
	var b strings.Builder
	b.WriteString(`R=` + ShellPath(dir+".releases") + `
cat > "$R/` + id + `.manifest" <<'SELFHOSTED_RECORD_END'
` + cacheOf(local, remote, plan) + `SELFHOSTED_RECORD_END
cat > "$R/` + id + `.json" <<'SELFHOSTED_RECORD_END'
` + string(metaJSON) + `
SELFHOSTED_RECORD_END
`)
	if len(model) > 0 {
		b.WriteString(`cat > "$R/` + id + `.model.json" <<'SELFHOSTED_RECORD_END'
` + strings.ReplaceAll(string(model), "\n", " ") + `
SELFHOSTED_RECORD_END
`)
	}
	b.WriteString(`mv -- "$R/.staging-` + id + `" "$R/` + id + `"
rm -f -- "$R/.upload-` + id + `.log" "$R/.staging-` + id + `.ready"
`)
	return b.String()
}

// cacheOf records the new release's files for the next push: the files
// sent now carry their local mtime (tar keeps it) and the hash of what was
// sent, the others keep the server's.
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
