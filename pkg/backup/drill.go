package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// DrillReport is what a restore drill found.
type DrillReport struct {
	Project  string   // the throw-away project
	Snapshot string   // the snapshot restored
	Volumes  []string // volumes found in the snapshot
	Restored []string // services whose restore hook loaded their dump
}

func (r DrillReport) String() string {
	return fmt.Sprintf("restore drill of snapshot %s in project %s: %d volume(s) (%s), %d service(s) re-hydrated from their dumps (%s)",
		r.Snapshot, r.Project, len(r.Volumes), strings.Join(r.Volumes, ", "), len(r.Restored), strings.Join(r.Restored, ", "))
}

// Drill proves a snapshot restores without touching the live stack: it
// creates a throw-away compose project next to it (same files, another
// name, no published ports), restores the snapshot into that project's
// volumes, starts the services that have restore hooks, waits until they
// are healthy, feeds them their dumps, reports, and removes the project
// with its volumes whatever happened.
func Drill(ctx context.Context, o RestoreOptions) (DrillReport, error) {
	if o.Snapshot == "" {
		o.Snapshot = "latest"
	}
	drill := o.Compose
	drill.Name = fmt.Sprintf("%s-drill-%d", o.Project, time.Now().Unix())
	report := DrillReport{Project: drill.Name, Snapshot: o.Snapshot}
	std := run.Streams{Stdout: o.Log, Stderr: o.Log}

	// An override file strips published ports so the drill can't clash
	// with the live stack.
	override, err := noPortsOverride(o.ComposeDir, o.Hooks)
	if err != nil {
		return report, err
	}
	defer os.Remove(override)
	drill.Files = append(append([]string{}, drill.Files...), override)
	defer func() {
		_ = o.ComposeRunner.Run(context.WithoutCancel(ctx), drill.DownEverything(), std)
	}()

	staging, err := os.MkdirTemp("", "selfhosted-drill-")
	if err != nil {
		return report, err
	}
	defer os.RemoveAll(staging)
	o.say("drill: restoring snapshot %s into %s", o.Snapshot, staging)
	if _, err := Output(ctx, o.Runner, o.Restic.Restore(o.Snapshot, staging)); err != nil {
		return report, fmt.Errorf("restic restore: %w", err)
	}
	restoredVolumes := filepath.Join(staging, o.volumesDir())

	var hydrate []string
	for _, h := range o.Hooks {
		if h.Restore != "" {
			hydrate = append(hydrate, h.Service)
		}
	}
	sort.Strings(hydrate)
	if err := o.ComposeRunner.Run(ctx, drill.Create(hydrate...), std); err != nil {
		return report, err
	}
	entries, err := os.ReadDir(restoredVolumes)
	if err != nil {
		return report, fmt.Errorf("the snapshot holds no volumes of %s: %w", o.Project, err)
	}
	prefix := o.Project + "_"
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		volume := strings.TrimPrefix(e.Name(), prefix)
		report.Volumes = append(report.Volumes, volume)
		target := filepath.Join(VolumePath(o.volumesDir(), drill.Name, volume), "_data")
		if _, err := os.Stat(target); err != nil {
			continue // not used by the services the drill starts
		}
		if _, err := run.Output(ctx, run.Local{}, run.Command{Args: []string{"cp", "-a", filepath.Join(restoredVolumes, e.Name(), "_data") + "/.", target}}); err != nil {
			return report, fmt.Errorf("copy volume %s into the drill: %w", volume, err)
		}
	}
	if err := o.ComposeRunner.Run(ctx, drill.UpWait(hydrate...), std); err != nil {
		return report, fmt.Errorf("the drill's services did not become healthy: %w", err)
	}
	_, containers, err := Discover(ctx, o.Engine, drill.Name)
	if err != nil {
		return report, err
	}
	dumps := filepath.Join(restoredVolumes, prefix+DumpsVolume, "_data")
	for _, h := range o.Hooks {
		if h.Restore == "" {
			continue
		}
		ho := o
		ho.DumpsDir = dumps
		if err := feedDump(ctx, ho, h, containers[h.Service]); err != nil {
			return report, fmt.Errorf("drill: %w", err)
		}
		report.Restored = append(report.Restored, h.Service)
	}
	o.say("%s", report)
	return report, nil
}

// noPortsOverride writes a compose override that removes the published
// ports of the services the drill starts.
func noPortsOverride(dir string, hooks []Hooks) (string, error) {
	var b strings.Builder
	b.WriteString("services:\n")
	n := 0
	for _, h := range hooks {
		if h.Restore != "" {
			fmt.Fprintf(&b, "  %s:\n    ports: !reset []\n", h.Service)
			n++
		}
	}
	if n == 0 {
		return "", fmt.Errorf("no service has a %s label: there is nothing for a drill to prove", RestoreLabel)
	}
	f, err := os.CreateTemp(dir, ".drill-override-*.yml")
	if err != nil {
		return "", err
	}
	f.Close()
	if err := atomicfile.WriteFile(f.Name(), []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	return filepath.Base(f.Name()), nil
}
