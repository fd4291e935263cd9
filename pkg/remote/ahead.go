package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Pushing ahead of the lock
//
// A push needs the server's state to know what to send, and go-scp's
// session costs round trips (and, on a server whose login shell reads a
// heavy rc file, much more) before the first byte. So when this machine
// pushed the same tree to the same DIR before, it guesses that the server
// still holds that release: it computes the plan against what it recorded
// then and starts the upload at once, while the lock is taken. The
// receiver waits for the staging; the lock's round trip reads the state
// and, when the current release is the one guessed, stages the release in
// the same round trip. When the guess is wrong (someone else pushed, or a
// rollback), the upload is abandoned and the push starts again from what
// the server said: it costs the wasted upload, never correctness, because
// the plan is always checked against the manifest read under the lock.

// PushAhead asks Lock to start pushing the tree at Root before it holds
// the lock (see Session.Push).
type PushAhead struct {
	Root string
	PushOptions
	// WithUpload is like LockOptions.With, run only when the guess has
	// something to upload, so a push that will make a new release reads
	// what it needs for the release's aftermath (push-files lists the
	// containers, to know which old releases it may prune) in the lock's
	// round trip, and a no-op push pays nothing for it. Session.With
	// returns its output; nil when it did not run.
	WithUpload run.Command
}

// guess is what this machine pushed last to a DIR of a host.
type guess struct {
	Release  string
	Manifest Manifest
}

// guessPath is where the guess for root pushed to dir on host is kept.
func guessPath(root, host, dir string) string {
	base, err := os.UserCacheDir()
	abs, err2 := filepath.Abs(root)
	if err != nil || err2 != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + host + "\x00" + dir))
	return filepath.Join(base, "selfhosted", "pushed-"+hex.EncodeToString(sum[:8])+".json")
}

func loadGuess(root, host, dir string) (guess, bool) {
	var g guess
	path := guessPath(root, host, dir)
	if path == "" {
		return g, false
	}
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &g) != nil || !ValidReleaseID(g.Release) {
		return guess{}, false
	}
	return g, true
}

// saveGuess records a push (best effort: a lost guess costs round trips).
func saveGuess(root, host, dir, release string, m Manifest) {
	path := guessPath(root, host, dir)
	if path == "" {
		return
	}
	data, err := json.Marshal(guess{Release: release, Manifest: m})
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) == nil {
		_ = atomicfile.WriteFileUnsynced(path, data, 0o600)
	}
}

// ahead is an upload started before the lock.
type ahead struct {
	id     string
	base   string   // the release guessed to be current
	remote Manifest // and its manifest
	tree   scan
	plan   Plan
	done   chan uploaded
	cancel context.CancelFunc
	staged bool
}

type uploaded struct {
	sent    map[string]string
	changed []string
	err     error
}

// startAhead starts the upload of the tree's guessed plan, or returns nil
// when there is nothing to guess from or nothing to send.
func (c *Client) startAhead(ctx context.Context, dir string, p *PushAhead, tree scan) *ahead {
	if tree.err != nil {
		return nil
	}
	g, ok := loadGuess(p.Root, c.Host.String(), dir)
	if !ok {
		return nil
	}
	plan := Diff(tree.local, g.Manifest)
	if len(plan.Upload) == 0 {
		return nil // nothing to send: the session would not be used
	}
	a := &ahead{id: newReleaseID(time.Now()), base: g.Release, remote: g.Manifest, tree: tree, plan: plan, done: make(chan uploaded, 1)}
	upCtx, cancel := context.WithCancel(ctx)
	a.cancel = cancel
	// The receiver waits for the lock, however long that takes.
	wait := p.LockWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	go func() {
		sent, changed, err := upload(upCtx, c, dir, p.Root, a.id, plan.Upload, tree.stamps, p.PushOptions, wait+time.Minute)
		a.done <- uploaded{sent, changed, err}
	}()
	return a
}

// stageIfCurrent stages the guessed release in the lock's round trip when
// the server's current release is the one guessed and its file system has
// the room the push needs (else the push stops on that, staging nothing);
// it prints "staged" in its own section.
func (a *ahead) stageIfCurrent(dir string) string {
	needKB := SpaceNeeded(a.plan, a.tree.local) / 1024
	return section("ahead") + `
if [ -L "$D" ] && cur=$(readlink -- "$D") && [ "${cur##*/}" = ` + a.base + ` ] &&
	avail=$(df -Pk -- "$R" | awk 'NR==2 {print $4}') && [ "${avail:-0}" -ge ` + strconv.FormatInt(needKB, 10) + ` ]; then
	if ( ` + stageScript(dir, a.id, a.plan, a.remote) + `
) >/dev/null 2>&1; then printf staged; fi
fi
`
}

// abandon stops an upload that will not be used and removes what it left.
// A receiver that never saw its marker gives up at its timeout (see
// receiver): whether it even started can't be known here, and a marker
// telling it to stop would be left behind if it did not.
func (a *ahead) abandon(s *shell, dir string) {
	a.cancel()
	<-a.done
	_, _ = s.script(discardScript(dir, a.id))
}

// samePlan reports whether two plans send, create and delete the same.
func samePlan(a, b Plan) bool {
	paths := func(es []Entry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Path + "\x00" + e.Hash + "\x00" + e.Mode.String()
		}
		return out
	}
	return slices.Equal(paths(a.Upload), paths(b.Upload)) && slices.Equal(paths(a.Mkdir), paths(b.Mkdir)) && slices.Equal(a.Delete, b.Delete)
}
