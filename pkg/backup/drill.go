package backup

import (
	"context"
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
}

func (r DrillReport) String() string {
	return fmt.Sprintf("restore drill of snapshot %s in project %s: %d volume(s) (%s), %d service(s) re-hydrated from their dumps (%s)",
		r.Snapshot, r.Project, len(r.Volumes), strings.Join(r.Volumes, ", "), len(r.Restored), strings.Join(r.Restored, ", "))
}

// drillLabel marks everything a drill creates, so it can all be removed.
const drillLabel = "io.selfhosted.drill"

// Drill proves a snapshot restores without touching the live stack. Next
// to it, it creates a throw-away project with the Docker Engine API alone
// (so it also runs inside the backup container, which has no compose CLI):
// for each service with a restore hook, a copy of its live container (same
// image, command, environment and healthcheck; no published ports; its own
// network and volumes, filled from the snapshot). It starts them, waits
// until they are healthy, feeds them their dumps, reports, and removes
// everything it created whatever happened.
func Drill(ctx context.Context, o Options, e *DockerEngine, snapshot string) (DrillReport, error) {
	if snapshot == "" {
		snapshot = "latest"
	}
	name := fmt.Sprintf("%s-drill-%d", o.Project, time.Now().Unix())
	report := DrillReport{Project: name, Snapshot: snapshot}
	hooks, live, err := Discover(ctx, e, o.Project)
	if err != nil {
		return report, err
	}

	staging, err := os.MkdirTemp("", "selfhosted-drill-")
	if err != nil {
		return report, err
	}
	defer os.RemoveAll(staging)
	o.say("drill: restoring snapshot %s into %s", snapshot, staging)
	if _, err := Output(ctx, o.Runner, o.Restic.Restore(snapshot, staging)); err != nil {
		return report, fmt.Errorf("restic restore: %w", err)
	}
	restored := filepath.Join(staging, o.volumesDir())
	entries, err := os.ReadDir(restored)
	if err != nil {
		return report, fmt.Errorf("the snapshot holds no volumes of %s: %w", o.Project, err)
	}
	prefix := o.Project + "_"
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), prefix) {
			report.Volumes = append(report.Volumes, strings.TrimPrefix(en.Name(), prefix))
		}
	}
	sort.Strings(report.Volumes)

	defer e.removeDrill(context.WithoutCancel(ctx), name)
	labels := map[string]string{drillLabel: name}
	if _, err := e.cli.NetworkCreate(ctx, name, network.CreateOptions{Labels: labels}); err != nil {
		return report, fmt.Errorf("create the drill's network: %w", err)
	}
	for _, h := range hooks {
		if h.Restore == "" {
			continue
		}
		c, ok := live[h.Service]
		if !ok {
			return report, fmt.Errorf("drill: service %s has no container to copy: run `go tool mage up` first", h.Service)
		}
		id, err := e.cloneForDrill(ctx, o, c, name, restored)
		if err != nil {
			return report, fmt.Errorf("drill: %s: %w", h.Service, err)
		}
		if err := e.Start(ctx, id); err != nil {
			return report, fmt.Errorf("drill: start %s: %w", h.Service, err)
		}
		if err := e.WaitHealthy(ctx, id); err != nil {
			return report, fmt.Errorf("drill: %s: %w", h.Service, err)
		}
		ro := RestoreOptions{Options: o}
		ro.DumpsDir = filepath.Join(restored, prefix+DumpsVolume, "_data")
		if err := feedDump(ctx, ro, h, Container{ID: id, Service: h.Service}); err != nil {
			return report, fmt.Errorf("drill: %w", err)
		}
		report.Restored = append(report.Restored, h.Service)
	}
	if len(report.Restored) == 0 {
		return report, fmt.Errorf("no service of %s has a %s label: there is nothing for a drill to prove", o.Project, RestoreLabel)
	}
	o.say("%s", report)
	return report, nil
}

// cloneForDrill creates a copy of live container c in the drill, its
// project volumes replaced by drill volumes filled from the snapshot.
func (e *DockerEngine) cloneForDrill(ctx context.Context, o Options, c Container, drill, restored string) (string, error) {
	info, err := e.cli.ContainerInspect(ctx, c.ID)
	if err != nil {
		return "", err
	}
	labels := map[string]string{drillLabel: drill}
	for _, k := range []string{DumpLabel, RestoreLabel} {
		labels[k] = info.Config.Labels[k]
	}
	var mounts []mount.Mount
	for _, m := range info.Mounts {
		if m.Type != mount.TypeVolume || !strings.HasPrefix(m.Name, o.Project+"_") {
			continue // bind mounts and foreign volumes stay out of a drill
		}
		v := drill + "_" + strings.TrimPrefix(m.Name, o.Project+"_")
		if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: v, Labels: labels}); err != nil {
			return "", err
		}
		source := filepath.Join(restored, m.Name, "_data")
		if _, err := os.Stat(source); err == nil {
			target := filepath.Join(VolumePath(o.volumesDir(), drill, strings.TrimPrefix(m.Name, o.Project+"_")), "_data")
			if _, err := run.Output(ctx, run.Local{}, run.Command{Args: []string{"cp", "-a", source + "/.", target}}); err != nil {
				return "", fmt.Errorf("fill volume %s: %w", v, err)
			}
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
