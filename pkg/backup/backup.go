package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// DefaultVolumesDir is where Docker keeps named volumes.
const DefaultVolumesDir = "/var/lib/docker/volumes"

// Options configure Backup, Restore, Drill and Unlock.
type Options struct {
	Project string
	Engine  Engine
	Restic  Restic
	// Runner runs restic (this machine, or the backup container's).
	Runner run.Runner
	// DumpsDir receives the dumps: the project's dumps volume, so that
	// snapshots include it.
	DumpsDir string
	// Tags are added to each snapshot.
	Tags []string
	// Retention, when set, forgets and prunes old snapshots after a backup.
	Retention *Retention
	// Log receives one line per step.
	Log io.Writer
	// LockWait is how long a run waits for another one on this host
	// (default 15 minutes); HealthWait how long a backup waits for a
	// database to become healthy before dumping it (default 3 minutes).
	LockWait, HealthWait time.Duration
	// Redactor keeps secrets out of what is logged and returned.
	Redactor *Redactor
}

func (o Options) say(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "%s\n", o.Redactor.String(fmt.Sprintf(format, args...)))
	}
}

func (o Options) lockWait() time.Duration {
	if o.LockWait <= 0 {
		return 15 * time.Minute
	}
	return o.LockWait
}

func (o Options) healthWait() time.Duration {
	if o.HealthWait <= 0 {
		return 3 * time.Minute
	}
	return o.HealthWait
}

// DumpsDir is where the dumps of project live on the Docker host, when its
// dumps volume has the default name (the backup program finds the volume
// by its labels).
func DumpsDir(volumesDir, project string) string {
	return filepath.Join(volumesDir, project+"_"+DumpsVolume, "_data")
}

// DumpsVolume is the compose volume that holds the dumps.
const DumpsVolume = "dumps"

// Result says what a backup did and how long each part took.
type Result struct {
	Summary
	// Dumps is the time spent finding services and dumping them; Snapshot
	// restic's and the stopped services'.
	Dumps, Snapshot time.Duration
	// Warning is set when the snapshot was taken but old snapshots could
	// not be forgotten (the repository was locked).
	Warning string
}

// Backup dumps every service with a dump hook (waiting for it to be
// healthy first, checking each dump before it replaces the last good one,
// and counting what the service held), stops the services marked
// stop=true (starting them again whatever happens), snapshots the
// project's volumes and declared folders minus live database state, and
// applies the retention. One backup run at a time per host.
func Backup(ctx context.Context, o Options) (Result, error) {
	release, err := lockHost(ctx, o.DumpsDir, "backup", o.lockWait(), o.say)
	if err != nil {
		return Result{}, err
	}
	defer release()
	began := time.Now()
	hooks, containers, err := Discover(ctx, o.Engine, o.Project)
	if err != nil {
		return Result{}, err
	}
	record := Record{Taken: time.Now().UTC(), Services: map[string]map[string]Range{}}
	for _, h := range hooks {
		if h.Dump == "" {
			continue
		}
		c := containers[h.Service]
		if !c.Running {
			return Result{}, &DumpError{Service: h.Service, Err: errors.New("its container is not running")}
		}
		// A backup at start may come before the database accepts connections.
		if err := o.Engine.WaitHealthy(ctx, c.ID, o.healthWait()); err != nil {
			return Result{}, &DumpError{Service: h.Service, Err: err}
		}
		var before Counts
		if h.Count != "" {
			if before, err = count(ctx, o.Engine, h, c.ID); err != nil {
				return Result{}, &DumpError{Service: h.Service, Err: err}
			}
		}
		o.say("backup: dumping %s", h.Service)
		if err := dumpService(ctx, o.Engine, o.DumpsDir, h, c.ID); err != nil {
			return Result{}, &DumpError{Service: h.Service, Err: err}
		}
		if h.Count != "" {
			after, err := count(ctx, o.Engine, h, c.ID)
			if err != nil {
				return Result{}, &DumpError{Service: h.Service, Err: err}
			}
			record.Services[h.Service] = Between(before, after)
		}
	}
	if err := writeRecord(o.DumpsDir, record); err != nil {
		return Result{}, err
	}
	res := Result{Dumps: time.Since(began)}

	snapStart := time.Now()
	var stopped []Container
	defer func() {
		for _, c := range stopped {
			if err := o.Engine.Start(context.WithoutCancel(ctx), c.ID); err != nil {
				o.say("backup: COULD NOT START %s AGAIN: %v", c.Service, err)
			} else {
				o.say("backup: started %s again", c.Service)
			}
		}
	}()
	for _, h := range hooks {
		if c := containers[h.Service]; h.Stop && c.Running {
			o.say("backup: stopping %s during the snapshot", h.Service)
			if err := o.Engine.Stop(ctx, c.ID); err != nil {
				return res, fmt.Errorf("stop %s for the snapshot: %w", h.Service, err)
			}
			stopped = append(stopped, c)
		}
	}
	set, err := Targets(ctx, o.Engine, o.Project, hooks)
	if err != nil {
		return res, err
	}
	excludes := append(slices.Clone(set.Excludes), internalFiles(o.DumpsDir)...)
	o.say("backup: snapshotting %d volume(s) and %d folder(s) of %s (excluding %d with live state)", len(set.Volumes), len(set.Paths), o.Project, len(set.Excludes))
	tags := append([]string{ProjectTagPrefix + o.Project, CheckedTag}, o.Tags...)
	out, err := resticOutput(ctx, o.Runner, o.Restic.Backup(set.Folders(), excludes, tags))
	if err != nil {
		return res, fmt.Errorf("restic backup: %w", err)
	}
	if res.Summary, err = ParseBackup(out); err != nil {
		return res, err
	}
	res.Snapshot = time.Since(snapStart)
	o.say("backup: snapshot %s (%d files, %d bytes added)", res.SnapshotID, res.TotalFilesProcessed, res.DataAdded)
	if o.Retention != nil {
		res.Warning = o.forget(ctx, *o.Retention)
	}
	return res, nil
}

// forget applies the retention, never forgetting the newest checked
// snapshot, retrying while another restic holds the repository; the
// snapshot being taken already, a failure is a warning.
func (o Options) forget(ctx context.Context, keep Retention) string {
	var err error
	for attempt, wait := 0, 5*time.Second; attempt < 4; attempt, wait = attempt+1, wait*2 {
		if err = o.forgetOnce(ctx, keep); err == nil {
			return ""
		}
		var locked *LockedError
		if !errors.As(err, &locked) {
			break
		}
		o.say("backup: the repository is locked; forgetting old snapshots again in %s", wait)
		select {
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-time.After(wait):
		}
	}
	w := fmt.Sprintf("the snapshot was taken, but old snapshots were not forgotten: %v", err)
	o.say("backup: WARNING: %s", w)
	return w
}

func (o Options) forgetOnce(ctx context.Context, keep Retention) error {
	out, err := resticOutput(ctx, o.Runner, o.Restic.ForgetPlan(keep))
	if err != nil {
		return err
	}
	doomed, err := ParseForgetPlan(out)
	if err != nil {
		return err
	}
	snaps, err := o.snapshots(ctx)
	if err != nil {
		return err
	}
	doomed = spare(doomed, snaps)
	if len(doomed) == 0 {
		return nil
	}
	if _, err := resticOutput(ctx, o.Runner, o.Restic.ForgetIDs(doomed)); err != nil {
		return err
	}
	_, err = resticOutput(ctx, o.Runner, o.Restic.Prune())
	return err
}

// spare keeps the newest snapshot whose checks passed out of doomed,
// whatever the retention says.
func spare(doomed []string, snaps []Snapshot) []string {
	var newest *Snapshot
	for i := range snaps {
		if slices.Contains(snaps[i].Tags, CheckedTag) && (newest == nil || snaps[i].Time.After(newest.Time)) {
			newest = &snaps[i]
		}
	}
	if newest == nil {
		return doomed
	}
	return slices.DeleteFunc(doomed, func(id string) bool { return id == newest.ID })
}

func (o Options) snapshots(ctx context.Context) ([]Snapshot, error) {
	out, err := resticOutput(ctx, o.Runner, o.Restic.Snapshots())
	if err != nil {
		return nil, err
	}
	return ParseSnapshots(out)
}

// PausedFile, in the dumps area, pauses automatic backups after a restore
// until a person has looked at the restored stack and taken a backup.
const PausedFile = ".paused-after-restore"

// Paused says why automatic backups are paused ("" when they are not).
func Paused(dumpsDir string) string {
	data, err := os.ReadFile(filepath.Join(dumpsDir, PausedFile))
	if err != nil {
		return ""
	}
	return string(data)
}
