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

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// DrillReport is what a restore drill found.
type DrillReport struct {
	Project  string   // the throw-away project
	Snapshot string   // the snapshot restored
	Volumes  []string // volumes found in the snapshot
	Restored []string // services whose restore hook loaded their dump
	Counted  []string // services whose counts matched what the backup counted
	Files    int64    // files restored, as many as the snapshot lists
	Bytes    int64
}

func (r DrillReport) String() string {
	counted := "none counted"
	if len(r.Counted) > 0 {
		counted = "counts match for " + strings.Join(r.Counted, ", ")
	}
	return fmt.Sprintf("restore drill of snapshot %s in project %s: %d file(s), %d byte(s) as the snapshot lists; %d volume(s) (%s); %d service(s) re-hydrated from their dumps (%s); %s",
		r.Snapshot, r.Project, r.Files, r.Bytes, len(r.Volumes), strings.Join(r.Volumes, ", "), len(r.Restored), strings.Join(r.Restored, ", "), counted)
}

// DrillMismatchError reports a snapshot that restored, but not to what
// the backup counted.
type DrillMismatchError struct {
	Snapshot    string
	Differences []string
}

func (e *DrillMismatchError) Error() string {
	return fmt.Sprintf("snapshot %s does not restore what was backed up: %s", e.Snapshot, strings.Join(e.Differences, "; "))
}

// drillLabel marks everything a drill creates, so it can all be removed.
const drillLabel = "io.selfhosted.drill"

// Drill proves a snapshot restores without touching the live stack: it
// restores the snapshot aside and checks that every file the snapshot
// lists came back; then, next to the live stack, it creates a throw-away
// project with the Docker Engine API alone (so it also runs inside the
// backup container, which has no compose CLI): for each service with a
// restore hook, a copy of its live container (same image, command,
// environment and healthcheck; no published ports; its own network and
// volumes, filled from the snapshot). It starts them, feeds them their
// dumps once healthy, counts what they hold and compares it with what the
// backup counted when it dumped, reports, and removes everything it
// created whatever happened.
func Drill(ctx context.Context, o Options, e *DockerEngine, snapshot string) (DrillReport, error) {
	if snapshot == "" {
		snapshot = Latest
	}
	name := fmt.Sprintf("%s-drill-%d", o.Project, time.Now().Unix())
	report := DrillReport{Project: name, Snapshot: snapshot}
	release, err := lockHost(ctx, o.DumpsDir, "drill", o.lockWait(), o.say)
	if err != nil {
		return report, err
	}
	defer release()
	hooks, live, err := Discover(ctx, e, o.Project)
	if err != nil {
		return report, err
	}
	set, err := Targets(ctx, e, o.Project, hooks)
	if err != nil {
		return report, err
	}

	staging, err := os.MkdirTemp("", "selfhosted-drill-")
	if err != nil {
		return report, err
	}
	defer os.RemoveAll(staging)
	o.say("drill: restoring snapshot %s into %s", snapshot, staging)
	if _, err := resticOutput(ctx, o.Runner, o.Restic.Restore(snapshot, staging)); err != nil {
		var ee *run.ExitError
		if errors.As(err, &ee) && strings.Contains(ee.Stderr, "no matching ID found") {
			return report, &NoSnapshotError{ID: snapshot}
		}
		return report, fmt.Errorf("restic restore: %w", err)
	}
	listing, err := resticOutput(ctx, o.Runner, o.Restic.Ls(snapshot))
	if err != nil {
		return report, fmt.Errorf("restic ls: %w", err)
	}
	wantFiles, wantBytes, err := ParseLs(listing, "/")
	if err != nil {
		return report, err
	}
	if report.Files, report.Bytes, err = treeContent(staging); err != nil {
		return report, err
	}
	if report.Files != wantFiles || report.Bytes != wantBytes {
		return report, &DrillMismatchError{Snapshot: snapshot, Differences: []string{fmt.Sprintf("the snapshot lists %d file(s), %d byte(s); %d file(s), %d byte(s) came back", wantFiles, wantBytes, report.Files, report.Bytes)}}
	}
	staged := map[string]string{} // volume name → its restored _data
	for _, v := range set.Volumes {
		dir := filepath.Join(staging, v.Mountpoint)
		if _, err := os.Stat(dir); err == nil {
			staged[v.Name] = dir
			report.Volumes = append(report.Volumes, v.ComposeName)
		}
	}
	sort.Strings(report.Volumes)
	record, err := ReadRecord(filepath.Join(staging, o.DumpsDir))
	if err != nil {
		return report, err
	}

	defer e.removeDrill(context.WithoutCancel(ctx), name)
	labels := map[string]string{drillLabel: name}
	if _, err := e.cli.NetworkCreate(ctx, name, network.CreateOptions{Labels: labels}); err != nil {
		return report, fmt.Errorf("create the drill's network: %w", err)
	}
	var mismatches []string
	for _, h := range hooks {
		if h.Restore == "" {
			continue
		}
		c, ok := live[h.Service]
		if !ok {
			return report, fmt.Errorf("drill: service %s has no container to copy", h.Service)
		}
		id, err := e.cloneForDrill(ctx, c, name, staged)
		if err != nil {
			return report, fmt.Errorf("drill: %s: %w", h.Service, err)
		}
		if err := e.Start(ctx, id); err != nil {
			return report, fmt.Errorf("drill: start %s: %w", h.Service, err)
		}
		if err := e.WaitHealthy(ctx, id, o.healthWait()); err != nil {
			return report, fmt.Errorf("drill: %s: %w", h.Service, err)
		}
		if err := feedDump(ctx, o, filepath.Join(staging, o.DumpsDir), h, id); err != nil {
			return report, fmt.Errorf("drill: %w", err)
		}
		report.Restored = append(report.Restored, h.Service)
		want, counted := record.Services[h.Service]
		if h.Count == "" || !counted {
			continue
		}
		got, err := count(ctx, e, h, id)
		if err != nil {
			return report, fmt.Errorf("drill: %w", err)
		}
		if diff := Differences(want, got); len(diff) > 0 {
			for _, d := range diff {
				mismatches = append(mismatches, h.Service+" "+d)
			}
			continue
		}
		report.Counted = append(report.Counted, h.Service)
	}
	if len(mismatches) > 0 {
		return report, &DrillMismatchError{Snapshot: snapshot, Differences: mismatches}
	}
	if len(report.Restored) == 0 {
		return report, fmt.Errorf("no service of %s has a %s label: there is nothing for a drill to prove", o.Project, RestoreLabel)
	}
	o.say("%s", report)
	return report, nil
}

// cloneForDrill creates a copy of live container c in the drill, its
// project volumes replaced by drill volumes filled from the snapshot
// (staged: volume name → its restored data).
func (e *DockerEngine) cloneForDrill(ctx context.Context, c Container, drill string, staged map[string]string) (string, error) {
	info, err := e.cli.ContainerInspect(ctx, c.ID)
	if err != nil {
		return "", err
	}
	labels := map[string]string{drillLabel: drill}
	for _, k := range []string{DumpLabel, RestoreLabel} {
		labels[k] = info.Config.Labels[k]
	}
	var mounts []mount.Mount
	for i, m := range info.Mounts {
		source, ours := staged[m.Name]
		if m.Type != mount.TypeVolume || !ours {
			continue // bind mounts and other projects' volumes stay out of a drill
		}
		v := fmt.Sprintf("%s_%s_%d", drill, c.Service, i)
		created, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: v, Labels: labels})
		if err != nil {
			return "", err
		}
		if _, err := run.Output(ctx, run.Local{}, run.Command{Args: []string{"cp", "-a", source + "/.", created.Mountpoint}}); err != nil {
			return "", fmt.Errorf("fill volume %s: %w", v, err)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: v, Target: m.Destination})
	}
	config := &container.Config{
		Image: info.Config.Image, Cmd: info.Config.Cmd, Entrypoint: info.Config.Entrypoint,
		Env: info.Config.Env, User: info.Config.User, WorkingDir: info.Config.WorkingDir,
		Healthcheck: info.Config.Healthcheck, Labels: labels,
	}
	host := &container.HostConfig{Mounts: mounts, NetworkMode: container.NetworkMode(drill)}
	created, err := e.cli.ContainerCreate(ctx, config, host, &network.NetworkingConfig{
		EndpointsConfig: map[string]*network.EndpointSettings{drill: {Aliases: []string{c.Service}}},
	}, nil, drill+"-"+c.Service)
	if err != nil {
		return "", err
	}
	return created.ID, nil
}

// removeDrill removes the drill's containers, volumes and network.
func (e *DockerEngine) removeDrill(ctx context.Context, drill string) {
	filter := filtersFor(drillLabel + "=" + drill)
	if list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filter}); err == nil {
		for _, c := range list {
			_ = e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if vols, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filter}); err == nil {
		for _, v := range vols.Volumes {
			_ = e.cli.VolumeRemove(ctx, v.Name, true)
		}
	}
	_ = e.cli.NetworkRemove(ctx, drill)
}
