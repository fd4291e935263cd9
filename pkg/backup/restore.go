package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// RestoreOptions add to Options what a restore needs.
type RestoreOptions struct {
	Options
	// Snapshot is a snapshot id, or "latest".
	Snapshot string
	// Force restores over volumes that hold data.
	Force bool
	// Resume lets automatic backups run right after the restore. By
	// default they wait until a person has looked at the restored stack
	// and taken a backup: a restore that went wrong must not be backed up
	// over the good snapshots.
	Resume bool
}

// RestoreResult says what a restore did and how long its parts took.
type RestoreResult struct {
	Refilled   []string // volumes and folders filled from the snapshot
	Rehydrated []string // services that loaded their dump
	// Restic is restic's restore; Lifecycle stopping, starting, waiting
	// for health and loading dumps.
	Restic, Lifecycle time.Duration
}

// NoSnapshotError names a snapshot the repository does not have.
type NoSnapshotError struct{ ID string }

func (e *NoSnapshotError) Error() string {
	return fmt.Sprintf("there is no snapshot %q in the repository (nothing was changed)", e.ID)
}

// Restore puts the project's volumes (and declared folders) back as they
// were in a snapshot, onto an empty state, and re-hydrates the databases
// from their dumps. The project's containers must exist (they may be
// freshly created, stopped): restic restores next to the volumes first,
// so a bad snapshot, password or repository fails before anything is
// touched; then the containers stop, dependents first, this project's
// volumes are refilled by renames, the services with restore hooks start
// in parallel and each loads its dump once healthy, and the others start.
// Automatic backups then pause until a person takes one (unless Resume).
// The caller has asked for confirmation.
func Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	if o.Snapshot == "" {
		o.Snapshot = Latest
	}
	release, err := lockHost(ctx, o.DumpsDir, "restore", o.lockWait(), o.say)
	if err != nil {
		return res, err
	}
	defer release()
	hooks, containers, err := Discover(ctx, o.Engine, o.Project)
	if err != nil {
		return res, err
	}
	all, err := o.Engine.Containers(ctx, o.Project)
	if err != nil {
		return res, err
	}
	set, err := Targets(ctx, o.Engine, o.Project, hooks)
	if err != nil {
		return res, err
	}
	if !o.Force {
		full, err := HoldingData(ctx, o.Engine, set, all, internalFiles(o.DumpsDir))
		if err != nil {
			return res, err
		}
		if len(full) > 0 {
			return res, &ExistingStateError{Volumes: full}
		}
	}

	// Restore next to the volumes, on the same file system, while the
	// stack still runs: then the volumes are refilled by renames.
	staging := filepath.Join(DefaultVolumesDir, fmt.Sprintf(".%s-restore-%d", o.Project, time.Now().UnixNano()))
	if len(set.Volumes) > 0 {
		staging = filepath.Join(filepath.Dir(set.Volumes[0].Dir()), filepath.Base(staging))
	}
	defer os.RemoveAll(staging)
	o.say("restore: restoring snapshot %s", o.Snapshot)
	began := time.Now()
	if _, err := resticOutput(ctx, o.Runner, o.Restic.Restore(o.Snapshot, staging, set.Folders()...)); err != nil {
		var ee *run.ExitError
		if errors.As(err, &ee) && strings.Contains(ee.Stderr, "no matching ID found") {
			return res, &NoSnapshotError{ID: o.Snapshot}
		}
		return res, fmt.Errorf("restic restore (nothing was changed): %w", err)
	}
	res.Restic = time.Since(began)

	lifecycle := time.Now()
	o.say("restore: stopping the project's containers, dependents first")
	for _, c := range stopOrder(containers) {
		if c.Running {
			if err := o.Engine.Stop(ctx, c.ID); err != nil {
				return res, fmt.Errorf("stop %s: %w", c.Service, err)
			}
		}
	}
	for _, dir := range set.Folders() {
		data := dir
		if !contains(set.Paths, dir) {
			data = filepath.Join(dir, "_data")
		}
		o.say("restore: refilling %s", dir)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return res, err
		}
		if err := emptyDir(data); err != nil {
			return res, err
		}
		if err := moveContents(filepath.Join(staging, data), data); err != nil {
			return res, err
		}
		res.Refilled = append(res.Refilled, dir)
	}

	if err := o.rehydrate(ctx, hooks, containers, &res); err != nil {
		return res, err
	}
	for _, c := range containers {
		if !contains(res.Rehydrated, c.Service) {
			if err := o.Engine.Start(ctx, c.ID); err != nil {
				return res, fmt.Errorf("start %s: %w", c.Service, err)
			}
		}
	}
	res.Lifecycle = time.Since(lifecycle)
	if !o.Resume {
		note := fmt.Sprintf("restored snapshot %s at %s", o.Snapshot, time.Now().UTC().Format(time.RFC3339))
		if err := os.WriteFile(filepath.Join(o.DumpsDir, PausedFile), []byte(note+"\n"), 0o600); err != nil {
			return res, err
		}
		o.say("restore: automatic backups are paused until a backup is taken by hand")
	}
	return res, nil
}

// rehydrate starts every service with a restore hook at once, and feeds
// each its dump as soon as it is healthy.
func (o RestoreOptions) rehydrate(ctx context.Context, hooks []Hooks, containers map[string]Container, res *RestoreResult) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, h := range hooks {
		if h.Restore == "" {
			continue
		}
		c, ok := containers[h.Service]
		if !ok {
			return fmt.Errorf("restore %s: the service has no container", h.Service)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := o.rehydrateOne(ctx, h, c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			res.Rehydrated = append(res.Rehydrated, h.Service)
		}()
	}
	wg.Wait()
	sortStrings(res.Rehydrated)
	return errors.Join(errs...)
}

func (o RestoreOptions) rehydrateOne(ctx context.Context, h Hooks, c Container) error {
	o.say("restore: starting %s and waiting until healthy", h.Service)
	if err := o.Engine.Start(ctx, c.ID); err != nil {
		return fmt.Errorf("start %s: %w", h.Service, err)
	}
	if err := o.Engine.WaitHealthy(ctx, c.ID, o.healthWait()); err != nil {
		return fmt.Errorf("restore %s: %w", h.Service, err)
	}
	return feedDump(ctx, o.Options, o.DumpsDir, h, c.ID)
}

// RestoreHookError reports a restore hook that failed: the database is
// not as it was.
type RestoreHookError struct {
	Service, Command string
	Code             int
	Output           string
}

func (e *RestoreHookError) Error() string {
	return fmt.Sprintf("restore %s: `%s` exited with status %d: %s", e.Service, e.Command, e.Code, e.Output)
}

func feedDump(ctx context.Context, o Options, dumpsDir string, h Hooks, id string) error {
	dump, err := os.Open(DumpPath(dumpsDir, h.Service))
	if err != nil {
		return fmt.Errorf("restore %s: its dump is not in the snapshot: %w", h.Service, err)
	}
	defer dump.Close()
	o.say("restore: loading %s's dump", h.Service)
	var out run.Tail
	code, err := o.Engine.Exec(ctx, id, shellCommand(h.Restore), dump, &out, &out)
	if err != nil {
		return fmt.Errorf("restore %s: %w", h.Service, err)
	}
	if code != 0 {
		return &RestoreHookError{Service: h.Service, Command: h.Restore, Code: code, Output: lastLines(out.String(), 3)}
	}
	return nil
}

// moveContents renames what from holds into to, copying when they are on
// different file systems; a missing from (excluded from the snapshot)
// leaves to empty.
func moveContents(from, to string) error {
	entries, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		err := os.Rename(src, dst)
		if errors.Is(err, syscall.EXDEV) {
			_, err = run.Output(context.Background(), run.Local{}, run.Command{Args: []string{"cp", "-a", "--", src, dst}})
		}
		if err != nil {
			return fmt.Errorf("refill %s: %w", to, err)
		}
	}
	return nil
}

// emptyDir removes what dir holds, keeping dir itself (a volume's _data).
func emptyDir(dir string) error {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
