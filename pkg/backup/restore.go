package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// HooksOf reads the backup hooks from the stack's compose model (restore
// can't read them from containers: they may be gone).
func HooksOf(s *compose.Stack) ([]Hooks, error) {
	var hooks []Hooks
	for name, svc := range s.Model.Services {
		h, err := HooksFromLabels(name, svc.Labels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Sources[name], err)
		}
		hooks = append(hooks, h)
	}
	sort.Slice(hooks, func(i, j int) bool { return hooks[i].Service < hooks[j].Service })
	return hooks, nil
}

// ExistingStateError refuses to restore over data.
type ExistingStateError struct{ Volumes []string }

func (e *ExistingStateError) Error() string {
	return fmt.Sprintf("the project's volumes hold data (%v): a restore replaces it all; take a backup first if it matters, then restore with FORCE=1", e.Volumes)
}

// RestoreOptions add to Options what a restore needs.
type RestoreOptions struct {
	Options
	// Snapshot is a snapshot id, or "latest".
	Snapshot string
	// Force restores over volumes that hold data.
	Force bool
	// Compose is the stack's project and ComposeRunner where it runs: when
	// set, the stack is created first (it may have been destroyed) and
	// brought up last. Inside the backup container, where there is no
	// compose CLI, it is nil and the existing containers are used.
	Compose       compose.Project
	ComposeRunner run.Runner
	// Hooks default to the containers' labels.
	Hooks []Hooks
}

// Restore puts the project's volumes back as they were in a snapshot, onto
// an empty state, and re-hydrates the databases from their dumps: it
// stops the project's containers, empties this project's volumes only,
// restores them, starts the services that have restore hooks and waits
// until they are healthy, feeds each its dump, and starts the rest. The
// caller has asked for confirmation.
func Restore(ctx context.Context, o RestoreOptions) error {
	if o.Snapshot == "" {
		o.Snapshot = "latest"
	}
	volumes := o.volumesDir()
	if existing, _ := ProjectVolumes(volumes, o.Project); !o.Force {
		var full []string
		for _, v := range existing {
			if entries, _ := os.ReadDir(filepath.Join(v, "_data")); len(entries) > 0 {
				full = append(full, filepath.Base(v))
			}
		}
		if len(full) > 0 {
			return &ExistingStateError{Volumes: full}
		}
	}
	std := run.Streams{Stdout: o.Log, Stderr: o.Log}
	if o.ComposeRunner != nil {
		// Recreate what may have been destroyed; containers are created
		// stopped, volumes empty.
		o.say("restore: creating the stack's containers and volumes")
		if err := o.ComposeRunner.Run(ctx, o.Compose.Create(), std); err != nil {
			return err
		}
	}
	paths, err := ProjectVolumes(volumes, o.Project)
	if err != nil {
		return err
	}
	// Restore next to the volumes first, on the same filesystem, while the
	// stack still runs: an unknown snapshot, a wrong password or a broken
	// repository fails here, before anything is touched, and the volumes
	// are then refilled by renames.
	staging := filepath.Join(volumes, fmt.Sprintf(".%s-restore-%d", o.Project, time.Now().UnixNano()))
	defer os.RemoveAll(staging)
	o.say("restore: restoring snapshot %s", o.Snapshot)
	if _, err := Output(ctx, o.Runner, o.Restic.Restore(o.Snapshot, staging, paths...)); err != nil {
		var ee *run.ExitError
		if errors.As(err, &ee) && strings.Contains(ee.Stderr, "no matching ID found") {
			return fmt.Errorf("no snapshot %q in the repository (nothing was changed): list them with `go tool mage list-snapshots`", o.Snapshot)
		}
		return fmt.Errorf("restic restore (nothing was changed): %w", err)
	}

	hooks, containers, err := Discover(ctx, o.Engine, o.Project)
	if err != nil {
		return err
	}
	if len(o.Hooks) == 0 {
		o.Hooks = hooks
	}
	lifecycle := time.Now()
	o.say("restore: stopping the project's containers, dependents first")
	for _, c := range StopOrder(containers) {
		if c.Running {
			if err := o.Engine.Stop(ctx, c.ID); err != nil {
				return fmt.Errorf("stop %s: %w", c.Service, err)
			}
		}
	}
	stopping := time.Since(lifecycle)
	for _, p := range paths {
		o.say("restore: refilling %s", filepath.Base(p))
		data := filepath.Join(p, "_data")
		if err := EmptyDir(data); err != nil {
			return err
		}
		if err := moveContents(filepath.Join(staging, data), data); err != nil {
			return err
		}
	}

	starting := time.Now()
	if o.Timing != nil {
		defer func() { o.Timing.Lifecycle = stopping + time.Since(starting) }()
	}
	started := map[string]bool{}
	for _, h := range o.Hooks {
		if h.Restore == "" {
			continue
		}
		c, ok := containers[h.Service]
		if !ok {
			return fmt.Errorf("restore %s: the service has no container: run `go tool mage up` once, then restore", h.Service)
		}
		o.say("restore: starting %s and waiting until healthy", h.Service)
		if err := o.Engine.Start(ctx, c.ID); err != nil {
			return fmt.Errorf("start %s: %w", h.Service, err)
		}
		if err := o.Engine.WaitHealthy(ctx, c.ID); err != nil {
			return fmt.Errorf("restore %s: %w", h.Service, err)
		}
		started[h.Service] = true
		if err := feedDump(ctx, o, h, c); err != nil {
			return err
		}
	}
	if o.ComposeRunner != nil {
		o.say("restore: bringing the whole stack up")
		return o.ComposeRunner.Run(ctx, o.Compose.Up(), std)
	}
	for _, c := range containers {
		if !started[c.Service] {
			if err := o.Engine.Start(ctx, c.ID); err != nil {
				return fmt.Errorf("start %s: %w", c.Service, err)
			}
		}
	}
	return nil
}

func feedDump(ctx context.Context, o RestoreOptions, h Hooks, c Container) error {
	dump, err := os.Open(DumpPath(o.DumpsDir, h.Service))
	if err != nil {
		return fmt.Errorf("restore %s: its dump is not in the snapshot: %w", h.Service, err)
	}
	defer dump.Close()
	o.say("restore: loading %s's dump", h.Service)
	code, err := o.Engine.Exec(ctx, c.ID, ShellCommand(h.Restore), dump, o.Log, o.Log)
	if err != nil {
		return fmt.Errorf("restore %s: %w", h.Service, err)
	}
	if code != 0 {
		return fmt.Errorf("restore %s: `%s` exited with status %d (its output is above)", h.Service, h.Restore, code)
	}
	return nil
}

// moveContents renames what from holds into to (same filesystem); a
// missing from (a volume the snapshot excludes) leaves to empty.
func moveContents(from, to string) error {
	entries, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return fmt.Errorf("refill %s: %w", to, err)
		}
	}
	return nil
}

// EmptyDir removes what dir holds, keeping dir itself (a volume's _data).
func EmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
