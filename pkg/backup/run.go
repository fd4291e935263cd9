package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// DefaultVolumesDir is where Docker keeps named volumes.
const DefaultVolumesDir = "/var/lib/docker/volumes"

// Options configure Backup and Restore.
type Options struct {
	Project string
	Engine  Engine
	Restic  Restic
	// Runner runs restic (this machine, or the backup container's).
	Runner run.Runner
	// VolumesDir is the folder of Docker volumes (DefaultVolumesDir).
	VolumesDir string
	// DumpsDir receives the dumps; it must lie inside VolumesDir so that
	// snapshots include it (the backup container mounts the project's
	// dumps volume there).
	DumpsDir string
	// Tags are added to each snapshot.
	Tags []string
	// Retention, when set, forgets and prunes old snapshots after a backup.
	Retention *Retention
	// Log receives one line per step.
	Log io.Writer
	// Timing, when set, receives how the time was spent (bench-backup
	// reports the databases' own work apart from restic's).
	Timing *Timing
}

// Timing splits a backup's or a restore's time: Dumps is discovering the
// services and dumping them; Lifecycle is a restore's stopping, starting,
// waiting for health and loading the dumps.
type Timing struct {
	Dumps, Snapshot, Lifecycle time.Duration
}

func (o Options) volumesDir() string {
	if o.VolumesDir == "" {
		return DefaultVolumesDir
	}
	return o.VolumesDir
}

func (o Options) say(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// DumpPath is where a service's dump is kept.
func DumpPath(dumpsDir, service string) string { return filepath.Join(dumpsDir, service+".dump") }

// DumpError names the service whose dump failed.
type DumpError struct {
	Service string
	Err     error
}

func (e *DumpError) Error() string {
	return fmt.Sprintf("dump of service %s failed, so no snapshot was taken (the last good dump is kept): %v", e.Service, e.Err)
}

func (e *DumpError) Unwrap() error { return e.Err }

// Backup dumps every service with a dump hook, stops the services marked
// stop=true (starting them again whatever happens), snapshots the volumes
// folder minus the live-state volumes, and applies the retention.
func Backup(ctx context.Context, o Options) (Summary, error) {
	began := time.Now()
	hooks, containers, err := Discover(ctx, o.Engine, o.Project)
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(o.DumpsDir, 0o700); err != nil {
		return Summary{}, err
	}
	for _, h := range hooks {
		if h.Dump == "" {
			continue
		}
		c := containers[h.Service]
		if !c.Running {
			return Summary{}, &DumpError{Service: h.Service, Err: errors.New("its container is not running: start it with `go tool mage up`")}
		}
		o.say("backup: dumping %s", h.Service)
		err := atomicfile.Write(DumpPath(o.DumpsDir, h.Service), 0o600, func(w io.Writer) error {
			var stderr bytes.Buffer
			code, err := o.Engine.Exec(ctx, c.ID, ShellCommand(h.Dump), nil, w, &stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return fmt.Errorf("`%s` exited with status %d: %s", h.Dump, code, strings.TrimSpace(stderr.String()))
			}
			return nil
		})
		if err != nil {
			return Summary{}, &DumpError{Service: h.Service, Err: err}
		}
	}

	if o.Timing != nil {
		o.Timing.Dumps = time.Since(began)
		defer func(start time.Time) { o.Timing.Snapshot = time.Since(start) }(time.Now())
	}
	var stopped []Container
	defer func() {
		for _, c := range stopped {
			if err := o.Engine.Start(context.WithoutCancel(ctx), c.ID); err != nil {
				o.say("backup: COULD NOT START %s AGAIN: %v (start it with `go tool mage up`)", c.Service, err)
			} else {
				o.say("backup: started %s again", c.Service)
			}
		}
	}()
	for _, h := range hooks {
		if c := containers[h.Service]; h.Stop && c.Running {
			o.say("backup: stopping %s during the snapshot", h.Service)
			if err := o.Engine.Stop(ctx, c.ID); err != nil {
				return Summary{}, fmt.Errorf("stop %s for the snapshot: %w", h.Service, err)
			}
			stopped = append(stopped, c)
		}
	}

	paths, err := ProjectVolumes(o.volumesDir(), o.Project)
	if err != nil {
		return Summary{}, err
	}
	excludes := Excludes(o.volumesDir(), o.Project, hooks)
	o.say("backup: snapshotting %d volume(s) of %s (excluding %d with live state)", len(paths), o.Project, len(excludes))
	out, err := Output(ctx, o.Runner, o.Restic.Backup(paths, excludes, append([]string{"project=" + o.Project}, o.Tags...)))
	if err != nil {
		return Summary{}, fmt.Errorf("restic backup: %w", err)
	}
	summary, err := ParseBackup(out)
	if err != nil {
		return Summary{}, err
	}
	o.say("backup: snapshot %s (%d files, %d bytes added)", summary.SnapshotID, summary.TotalFilesProcessed, summary.DataAdded)
	if o.Retention != nil {
		if _, err := Output(ctx, o.Runner, o.Restic.Forget(*o.Retention)); err != nil {
			return summary, fmt.Errorf("snapshot %s was taken, but forgetting old snapshots failed: %w", summary.SnapshotID, err)
		}
	}
	return summary, nil
}

// ProjectVolumes lists the folders of project's volumes in volumesDir:
// Compose names them <project>_<volume>.
func ProjectVolumes(volumesDir, project string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(volumesDir, project+"_*"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("project %s has no volumes in %s: nothing to back up (is COMPOSE_PROJECT_NAME right, and the stack up?)", project, volumesDir)
	}
	return paths, nil
}
