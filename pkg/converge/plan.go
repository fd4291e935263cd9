// Package converge brings a stack's running containers to a release: every
// running container ends up seeing exactly the release's files it mounts,
// the release's environment and the release's compose definition, and only
// what changed is touched.
//
// # The model
//
// On the server DIR is a link to the current release, and containers mount
// the stack's files through it (DIR/services/x/conf). Docker resolves that
// link when a container starts, so a container keeps the release that was
// current when it last started, and sees a new one only once it restarts.
// Docker Compose recreates a container when its compose definition changes
// (its config hash, which covers env_file contents and .env interpolation),
// but it cannot see the content of bind-mounted files (compose issues
// #11900, #13045). So for each running container this package finds the
// release it started on (from the server's record of activations, see
// remote.Timeline), compares the files it mounts between that release and
// the target (the content hashes every release records), and restarts it
// when they differ. Compose's own `up` does the rest.
//
// [Compute] is a pure function of what the Engine and the server report, so
// the plan a deploy prints (DRY_RUN) and the one it applies are the same
// code, unit-tested without Docker. [Apply] runs it through a run.Runner and
// [Wait] gates on the touched containers' health.
package converge

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// Kind is what happens to a service.
type Kind string

const (
	Create   Kind = "create"   // a new service: no container yet
	Recreate Kind = "recreate" // its definition or environment changed
	Restart  Kind = "restart"  // files it mounts changed
	Start    Kind = "start"    // its container exists but is stopped
	Remove   Kind = "remove"   // no longer in the stack
)

// Change is one service's part of a plan, with the reasons.
type Change struct {
	Service string
	Kind    Kind
	Reasons []string
}

func (c Change) String() string {
	if len(c.Reasons) == 0 {
		return fmt.Sprintf("%-9s %s", c.Kind, c.Service)
	}
	return fmt.Sprintf("%-9s %s (%s)", c.Kind, c.Service, strings.Join(c.Reasons, "; "))
}

// Plan is what converging changes, service by service.
type Plan struct {
	Changes   []Change
	Unchanged []string // services whose containers keep running untouched
}

// Empty reports whether nothing changes.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// Services lists the services that change, with one kind.
func (p Plan) Services(kind Kind) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Kind == kind {
			out = append(out, c.Service)
		}
	}
	return out
}

func (p Plan) String() string {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(c.String() + "\n")
	}
	if len(p.Unchanged) > 0 {
		fmt.Fprintf(&b, "unchanged %s\n", strings.Join(p.Unchanged, ", "))
	}
	return b.String()
}

// Target is the state to converge to.
type Target struct {
	Release  string          // its id ("" for a tree not uploaded yet)
	Manifest remote.Manifest // its files
	Model    Model           // its services
}

// Input is everything Compute needs, as the Engine and the server report it.
type Input struct {
	// Dir is DIR's absolute path on the server: bind mounts below it are
	// the stack's files.
	Dir        string
	Containers []Container
	Timeline   remote.Timeline
	// Releases holds what the server recorded of the releases containers
	// run on.
	Releases map[string]remote.ReleaseFiles
	Target   Target
}

// Compute says what converging the containers to the target changes.
func Compute(in Input) Plan {
	byService := map[string][]Container{}
	for _, c := range in.Containers {
		byService[c.Service] = append(byService[c.Service], c)
	}
	// Without a recorded model (a release made before models were kept)
	// only the files containers mount are compared; compose still
	// recreates what its definition changed.
	known := in.Target.Model.Services != nil
	services := sortedServices(in.Target.Model)
	if !known {
		for svc := range byService {
			services = append(services, svc)
		}
		sort.Strings(services)
	}
	var p Plan
	for _, svc := range services {
		containers := byService[svc]
		if len(containers) == 0 {
			p.Changes = append(p.Changes, Change{Service: svc, Kind: Create, Reasons: []string{"new service"}})
			continue
		}
		if ch, changed := serviceChange(in, svc, containers); changed {
			p.Changes = append(p.Changes, ch)
		} else {
			p.Unchanged = append(p.Unchanged, svc)
		}
	}
	var orphans []string
	for svc := range byService {
		if _, ok := in.Target.Model.Services[svc]; known && !ok {
			orphans = append(orphans, svc)
		}
	}
	sort.Strings(orphans)
	for _, svc := range orphans {
		p.Changes = append(p.Changes, Change{Service: svc, Kind: Remove, Reasons: []string{"no longer in the stack"}})
	}
	return p
}

func serviceChange(in Input, svc string, containers []Container) (Change, bool) {
	var recreate, restart []string
	stopped := false
	for _, c := range containers {
		release := in.Timeline.At(c.StartedAt)
		recorded, known := in.Releases[release]
		if old, ok := DecodeModel(recorded.Model); known && ok && in.Target.Model.Services != nil {
			if before, ok := old.Services[svc]; ok {
				for _, k := range Changed(before, in.Target.Model.Services[svc]) {
					recreate = appendNew(recreate, k+" changed")
				}
			}
		}
		if !c.Running() {
			stopped = stopped || !c.OneShot
			continue
		}
		for _, b := range c.Binds {
			rel, ok := below(in.Dir, b.Source)
			if !ok {
				continue
			}
			if !known || release == "" {
				restart = appendNew(restart, rel+" from an unrecorded release")
				continue
			}
			for _, f := range changedBelow(recorded.Manifest, in.Target.Manifest, rel) {
				restart = appendNew(restart, f)
			}
		}
	}
	switch {
	case len(recreate) > 0:
		return Change{Service: svc, Kind: Recreate, Reasons: shorten(recreate)}, true
	case len(restart) > 0:
		sort.Strings(restart)
		return Change{Service: svc, Kind: Restart, Reasons: shorten(restart)}, true
	case stopped:
		return Change{Service: svc, Kind: Start, Reasons: []string{"stopped"}}, true
	}
	return Change{}, false
}

// below returns source relative to dir when it lies inside it.
func below(dir, source string) (string, bool) {
	dir = strings.TrimSuffix(path.Clean(dir), "/")
	source = path.Clean(source)
	if source == dir {
		return ".", true
	}
	rel, ok := strings.CutPrefix(source, dir+"/")
	return rel, ok
}

// changedBelow says which files at or below rel differ between two
// manifests: added, removed, or changed in content or mode.
func changedBelow(old, new remote.Manifest, rel string) []string {
	inside := func(p string) bool { return rel == "." || p == rel || strings.HasPrefix(p, rel+"/") }
	var out []string
	for _, p := range unionPaths(old, new) {
		if !inside(p) {
			continue
		}
		a, inOld := old[p]
		b, inNew := new[p]
		if a.Dir || b.Dir {
			continue
		}
		switch {
		case !inOld:
			out = append(out, p+" added")
		case !inNew:
			out = append(out, p+" removed")
		case a.Hash != b.Hash || a.Mode.Perm() != b.Mode.Perm():
			out = append(out, p+" changed")
		}
	}
	return out
}

func unionPaths(a, b remote.Manifest) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []remote.Manifest{a, b} {
		for p := range m {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// shorten keeps a plan readable: three reasons, then a count.
func shorten(reasons []string) []string {
	if len(reasons) <= 3 {
		return reasons
	}
	return append(reasons[:3:3], fmt.Sprintf("and %d more", len(reasons)-3))
}

func sortedServices(m Model) []string {
	out := make([]string, 0, len(m.Services))
	for s := range m.Services {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Referenced lists the releases running containers may have mounted:
// those must not be pruned. A container that started within a second of a
// switch may hold either release.
func Referenced(dir string, containers []Container, tl remote.Timeline) map[string]bool {
	keep := map[string]bool{}
	for _, c := range containers {
		if !c.Running() {
			continue
		}
		mounts := false
		for _, b := range c.Binds {
			if _, ok := below(dir, b.Source); ok {
				mounts = true
			}
		}
		if !mounts {
			continue
		}
		for _, id := range tl.Around(c.StartedAt, time.Second) {
			keep[id] = true
		}
	}
	return keep
}
