package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Release is one uploaded tree on the server.
type Release struct {
	ID      string
	Created time.Time
	// Who made it (user@laptop), and from which git commit ("" when the
	// tree was not a git checkout); Dirty when uncommitted changes went too.
	Who    string
	Commit string
	Dirty  bool
	// Current is the release DIR points to.
	Current bool
	// Failed says why a deploy of it was rolled back ("" when it was not).
	Failed string
	// Activated lists when DIR was pointed at it.
	Activated []time.Time
}

// Meta is what a release records about where it came from.
type Meta struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Who     string    `json:"who"`
	Commit  string    `json:"commit,omitempty"`
	Dirty   bool      `json:"dirty,omitempty"`
}

// Activation is one switch of DIR to a release.
type Activation struct {
	Time    time.Time
	Release string
	Why     string // deploy, rollback, push
}

// InitialRelease is the name of the release made of a plain DIR folder
// found on the first push.
const InitialRelease = "initial"

// releasePattern is a release id: its creation time and a random suffix,
// so ids sort by time and never collide.
var releasePattern = regexp.MustCompile(`^(initial|[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6})$`)

// releaseGlob is releasePattern as a shell case pattern, followed by suffix.
func releaseGlob(suffix string) string {
	d := "[0-9]"
	x := "[0-9a-f]"
	return InitialRelease + suffix + "|" + strings.Repeat(d, 8) + "T" + strings.Repeat(d, 6) + "Z-" + strings.Repeat(x, 6) + suffix
}

// ValidReleaseID reports whether id names a release.
func ValidReleaseID(id string) bool { return releasePattern.MatchString(id) }

func newReleaseID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// idTime is the creation time encoded in a release id (zero for initial).
func idTime(id string) time.Time {
	stamp, _, _ := strings.Cut(id, "-")
	t, _ := time.Parse("20060102T150405Z", stamp)
	return t
}

// parseHistory reads DIR.releases/history: nanoseconds, release, why.
func parseHistory(text string) []Activation {
	var out []Activation
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !ValidReleaseID(f[1]) {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		a := Activation{Time: time.Unix(0, ns), Release: f[1]}
		if len(f) > 2 {
			a.Why = f[2]
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func parseReleases(names, metas, failed, current string, history []Activation) []Release {
	byID := map[string]*Release{}
	for _, id := range strings.Fields(names) {
		if ValidReleaseID(id) {
			byID[id] = &Release{ID: id, Created: idTime(id)}
		}
	}
	for _, line := range strings.Split(metas, "\n") {
		var m Meta
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if r, ok := byID[m.ID]; ok {
			r.Who, r.Commit, r.Dirty = m.Who, m.Commit, m.Dirty
			if !m.Created.IsZero() {
				r.Created = m.Created
			}
		}
	}
	for _, name := range strings.Fields(failed) {
		if r, ok := byID[strings.TrimSuffix(name, ".failed")]; ok {
			r.Failed = "rolled back"
		}
	}
	for _, a := range history {
		if r, ok := byID[a.Release]; ok {
			r.Activated = append(r.Activated, a.Time)
		}
	}
	out := make([]Release, 0, len(byID))
	for _, r := range byID {
		r.Current = r.ID == current
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return releaseLess(out[i].ID, out[j].ID) })
	return out
}

// releaseLess orders ids by creation: initial first, then by time.
func releaseLess(a, b string) bool {
	if a == InitialRelease || b == InitialRelease {
		return a == InitialRelease && b != InitialRelease
	}
	return a < b
}

// Timeline tells which release DIR pointed to at a given time: Docker
// resolves the DIR link when a container starts, so a container has the
// release mounted that was current when it last started.
type Timeline struct {
	steps []Activation // sorted by time
}

// NewTimeline builds the timeline from the recorded activations. Releases
// made before activations were recorded count as activated when created.
func NewTimeline(releases []Release, history []Activation) Timeline {
	seen := map[string]bool{}
	var steps []Activation
	for _, a := range history {
		seen[a.Release] = true
		steps = append(steps, a)
	}
	var firstRecorded time.Time
	if len(history) > 0 {
		firstRecorded = history[0].Time
	}
	for _, r := range releases {
		if seen[r.ID] {
			continue
		}
		t := idTime(r.ID)
		if !firstRecorded.IsZero() && !t.Before(firstRecorded) {
			continue // made after recording began, never activated
		}
		steps = append(steps, Activation{Time: t, Release: r.ID, Why: "push"})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Time.Before(steps[j].Time) })
	return Timeline{steps: steps}
}

// At returns the release current at t ("" when none was).
func (tl Timeline) At(t time.Time) string {
	id := ""
	for _, s := range tl.steps {
		if s.Time.After(t) {
			break
		}
		id = s.Release
	}
	return id
}

// Since returns when release id was last activated (zero when never).
func (tl Timeline) Since(id string) time.Time {
	var t time.Time
	for _, s := range tl.steps {
		if s.Release == id {
			t = s.Time
		}
	}
	return t
}

// Around returns every release current at some time in [t-margin, t]: a
// container that started while DIR was being switched may have either.
func (tl Timeline) Around(t time.Time, margin time.Duration) []string {
	ids := []string{}
	if id := tl.At(t.Add(-margin)); id != "" {
		ids = append(ids, id)
	}
	for _, s := range tl.steps {
		if s.Time.After(t.Add(-margin)) && !s.Time.After(t) && (len(ids) == 0 || ids[len(ids)-1] != s.Release) {
			ids = append(ids, s.Release)
		}
	}
	return ids
}

// Previous returns the release active before the current activation that
// did not fail: where a rollback returns to.
func Previous(releases []Release, history []Activation, current string) (string, bool) {
	failed := map[string]bool{}
	exists := map[string]bool{}
	for _, r := range releases {
		exists[r.ID] = true
		if r.Failed != "" {
			failed[r.ID] = true
		}
	}
	tl := NewTimeline(releases, history)
	for i := len(tl.steps) - 1; i >= 0; i-- {
		id := tl.steps[i].Release
		if id != current && !failed[id] && exists[id] {
			return id, true
		}
	}
	return "", false
}

// Activate points DIR at release id with one rename, records the
// activation and returns its time on the server's clock.
func (s *Session) Activate(ctx context.Context, id, why string) (time.Time, error) {
	if !ValidReleaseID(id) {
		return time.Time{}, fmt.Errorf("%q is not a release id", id)
	}
	known := false
	for _, r := range s.st.releases {
		known = known || r.ID == id
	}
	if !known {
		return time.Time{}, &UnknownReleaseError{Host: s.host.String(), ID: id, Releases: s.st.releases}
	}
	out, err := s.sh.script(activateScript(s.Dir, id, why))
	if err != nil {
		return time.Time{}, fmt.Errorf("switch %s to release %s on %s: %w", s.Dir, id, s.host, err)
	}
	at, err := parseNanos(out)
	if err != nil {
		return time.Time{}, err
	}
	s.noteActivation(id, why, at)
	return at, nil
}

func (s *Session) noteActivation(id, why string, at time.Time) {
	s.st.current = id
	s.st.history = append(s.st.history, Activation{Time: at, Release: id, Why: why})
	for i := range s.st.releases {
		r := &s.st.releases[i]
		r.Current = r.ID == id
		if r.ID == id {
			r.Activated = append(r.Activated, at)
		}
	}
}

// activateScript swaps DIR to the release with one rename of a symbolic
// link made next to the releases, and prints the time of the swap.
func activateScript(dir, id, why string) string {
	return `D=` + ShellPath(dir) + `
R="$D.releases"
ln -sfn -- "$R/` + id + `" "$R/.swap-` + id + `"
mv -T -- "$R/.swap-` + id + `" "$D"
now=$(date +%s%N)
printf '%s %s %s\n' "$now" ` + id + ` ` + shellWord(why) + ` >> "$R/history"
printf '%s\n' "$now"
`
}

// shellWord keeps only letters for a word written into the history.
func shellWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "deploy"
	}
	return b.String()
}

func parseNanos(out []byte) (time.Time, error) {
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unexpected output from the server's clock: %.100q", out)
	}
	return time.Unix(0, ns), nil
}

// MarkFailed records that a deploy of release id was rolled back.
func (s *Session) MarkFailed(ctx context.Context, id, reason string) error {
	if !ValidReleaseID(id) {
		return fmt.Errorf("%q is not a release id", id)
	}
	_, err := s.sh.script(`printf '%s\n' ` + quoteLine(reason) + ` > ` + ShellPath(s.Dir+".releases/"+id+".failed"))
	for i := range s.st.releases {
		if s.st.releases[i].ID == id {
			s.st.releases[i].Failed = "rolled back"
		}
	}
	return err
}

func quoteLine(s string) string {
	return ShellPath(strings.ReplaceAll(s, "\n", " "))
}

// UnknownReleaseError names a release that does not exist on the server.
type UnknownReleaseError struct {
	Host     string
	ID       string
	Releases []Release
}

func (e *UnknownReleaseError) Error() string {
	ids := make([]string, len(e.Releases))
	for i, r := range e.Releases {
		ids[i] = r.ID
	}
	return fmt.Sprintf("there is no release %s on %s (releases: %s)", e.ID, e.Host, strings.Join(ids, ", "))
}

// ReleaseFiles are what the server recorded of a release: the content
// hash of each file, and the compose model it deployed.
type ReleaseFiles struct {
	Manifest Manifest
	Model    []byte
}

// ReleaseFiles reads the recorded manifests and models of releases, in
// the session's shell.
func (s *Session) ReleaseFiles(ctx context.Context, ids []string) (map[string]ReleaseFiles, error) {
	return readReleaseFiles(s.Dir, s.host, ids, s.sh.script)
}

// ReleaseFiles reads the recorded manifests and models of releases of dir,
// without the lock.
func (c *Client) ReleaseFiles(ctx context.Context, dir string, ids []string) (map[string]ReleaseFiles, error) {
	if dir == "" {
		dir = DefaultDir
	}
	return readReleaseFiles(dir, c.Host, ids, func(script string) ([]byte, error) {
		return run.Output(ctx, c.Runner("/"), run.Command{Args: []string{"sh", "-c", script}})
	})
}

func readReleaseFiles(dir string, host Host, ids []string, runScript func(string) ([]byte, error)) (map[string]ReleaseFiles, error) {
	var b strings.Builder
	b.WriteString(`R=` + ShellPath(dir+".releases") + "\n")
	var valid []string
	for _, id := range ids {
		if !ValidReleaseID(id) || slices.Contains(valid, id) {
			continue
		}
		valid = append(valid, id)
		b.WriteString(section("manifest "+id) + "\ncat -- \"$R/" + id + ".manifest\" 2>/dev/null || true\n")
		b.WriteString(section("model "+id) + "\ncat -- \"$R/" + id + ".model.json\" 2>/dev/null || true\n")
	}
	out := map[string]ReleaseFiles{}
	if len(valid) == 0 {
		return out, nil
	}
	b.WriteString(section("end") + "\n")
	raw, err := runScript(b.String())
	if err != nil {
		return nil, fmt.Errorf("read releases %s on %s: %w", strings.Join(valid, ", "), host, err)
	}
	parts := sections(raw, "end")
	for _, id := range valid {
		model := bytes.TrimSpace(parts["model "+id])
		if len(model) == 0 {
			model = nil
		}
		out[id] = ReleaseFiles{Manifest: parseCache(parts["manifest "+id]), Model: model}
	}
	return out, nil
}

// parseCache reads a release's .manifest file: the files as uploaded.
func parseCache(data []byte) Manifest {
	m := Manifest{}
	for _, line := range strings.Split(string(data), "\n") {
		if e, ok := parseCacheLine(line); ok {
			m[e.Path] = e
		}
	}
	return m
}

// Prune deletes the releases not in keep, in the background (the new
// tree is already live). Only release folders and their records inside
// DIR.releases are ever deleted.
func (s *Session) Prune(ctx context.Context, keep map[string]bool) ([]string, error) {
	var doomed []string
	for _, r := range s.st.releases {
		if !keep[r.ID] && !r.Current && ValidReleaseID(r.ID) {
			doomed = append(doomed, r.ID)
		}
	}
	if len(doomed) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString(`R=` + ShellPath(s.Dir+".releases") + "\n(cd -- \"$R\" && rm -rf --")
	for _, id := range doomed {
		for _, suffix := range []string{"", ".manifest", ".json", ".model.json", ".failed"} {
			b.WriteString(" " + id + suffix)
		}
	}
	b.WriteString(") </dev/null >/dev/null 2>&1 9>&- &\n")
	// Nothing to wait for: the deletion runs in the background anyway.
	if err := s.sh.send(b.String()); err != nil {
		return nil, fmt.Errorf("prune old releases on %s: %w", s.host, err)
	}
	gone := map[string]bool{}
	for _, id := range doomed {
		gone[id] = true
	}
	kept := s.st.releases[:0]
	for _, r := range s.st.releases {
		if !gone[r.ID] {
			kept = append(kept, r)
		}
	}
	s.st.releases = kept
	return doomed, nil
}
