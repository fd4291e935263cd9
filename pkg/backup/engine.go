package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// Container is one container of the compose project, as the backup sees it.
type Container struct {
	ID      string
	Name    string
	Service string
	Image   string
	Running bool
	Labels  map[string]string
	Mounts  []Mount
}

// Mount is one of a container's mounts.
type Mount struct {
	Type        string // volume or bind
	Name        string // the volume's name
	Source      string // the host path
	Destination string // the path in the container
}

// Volume is a Docker volume of the project.
type Volume struct {
	Name        string
	Mountpoint  string // its _data folder on the host
	ComposeName string // the name the compose file gives it
}

// Dir is the volume's folder on the host (its _data's parent): what
// snapshots hold.
func (v Volume) Dir() string { return path.Dir(v.Mountpoint) }

// FileSum is a file of an image, by content.
type FileSum struct {
	Size int64
	Hash string
}

// Engine is what backup and restore need of the Docker Engine. DockerEngine
// is the real one; tests of the logic use fakes.
type Engine interface {
	// Containers lists the containers of a compose project, running or
	// not, except `compose run` ones.
	Containers(ctx context.Context, project string) ([]Container, error)
	// Volumes lists the volumes Compose created for the project (its
	// project label), whatever their names.
	Volumes(ctx context.Context, project string) ([]Volume, error)
	// Exec runs cmd in a running container and returns its exit code.
	Exec(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error)
	Stop(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
	// WaitHealthy waits until the container's healthcheck passes (or it
	// runs, when it has none), for at most timeout.
	WaitHealthy(ctx context.Context, id string, timeout time.Duration) error
	// RunningContainer returns the running container whose id starts with
	// prefix (restic locks name the hostname, a container's short id).
	RunningContainer(ctx context.Context, idPrefix string) (Container, bool, error)
	// ImageFiles lists the regular files an image holds below dir: what
	// Docker copies into a new volume mounted there.
	ImageFiles(ctx context.Context, image, dir string) (map[string]FileSum, error)
}

// DockerEngine talks to the Docker Engine API with Docker's Go SDK
// (DOCKER_HOST and friends apply; the API version is negotiated, so old
// engines work).
type DockerEngine struct{ cli *client.Client }

// NewDockerEngine connects to the Docker Engine.
func NewDockerEngine() (*DockerEngine, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("connect to the Docker Engine: %w", err)
	}
	return &DockerEngine{cli: cli}, nil
}

// Close releases the connection.
func (d *DockerEngine) Close() error { return d.cli.Close() }

// Containers implements Engine.
func (d *DockerEngine) Containers(ctx context.Context, project string) ([]Container, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", ProjectLabel+"="+project))})
	if err != nil {
		return nil, fmt.Errorf("list the containers of project %s: %w", project, err)
	}
	out := make([]Container, 0, len(list))
	for _, c := range list {
		if strings.EqualFold(c.Labels[OneOffLabel], "true") {
			continue // `compose run` containers, the backup program's own among them
		}
		ctr := Container{ID: c.ID, Service: c.Labels[ServiceLabel], Image: c.Image, Running: c.State == "running", Labels: c.Labels}
		if len(c.Names) > 0 {
			ctr.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		for _, m := range c.Mounts {
			ctr.Mounts = append(ctr.Mounts, Mount{Type: string(m.Type), Name: m.Name, Source: m.Source, Destination: m.Destination})
		}
		out = append(out, ctr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

// Volumes implements Engine.
func (d *DockerEngine) Volumes(ctx context.Context, project string) ([]Volume, error) {
	list, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", ProjectLabel+"="+project))})
	if err != nil {
		return nil, fmt.Errorf("list the volumes of project %s: %w", project, err)
	}
	out := make([]Volume, 0, len(list.Volumes))
	for _, v := range list.Volumes {
		// The label filter is exact; the check keeps a fake or an old
		// engine from handing over another project's volume.
		if v.Labels[ProjectLabel] != project {
			continue
		}
		out = append(out, Volume{Name: v.Name, Mountpoint: v.Mountpoint, ComposeName: v.Labels[VolumeLabel]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Exec implements Engine.
func (d *DockerEngine) Exec(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	created, err := d.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, err
	}
	resp, err := d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, err
	}
	defer resp.Close()
	if stdin != nil {
		go func() {
			_, _ = io.Copy(resp.Conn, stdin)
			_ = resp.CloseWrite()
		}()
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if _, err := stdcopy.StdCopy(stdout, stderr, resp.Reader); err != nil {
		return -1, err
	}
	inspect, err := d.cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return -1, err
	}
	return inspect.ExitCode, nil
}

// Stop implements Engine.
func (d *DockerEngine) Stop(ctx context.Context, id string) error {
	return d.cli.ContainerStop(ctx, id, container.StopOptions{})
}

// Start implements Engine.
func (d *DockerEngine) Start(ctx context.Context, id string) error {
	return d.cli.ContainerStart(ctx, id, container.StartOptions{})
}

// WaitHealthy implements Engine.
func (d *DockerEngine) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := d.cli.ContainerInspect(ctx, id)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(info.Name, "/")
		switch {
		case info.State == nil:
		case info.State.Health == nil && info.State.Running:
			return nil
		case info.State.Health != nil && info.State.Health.Status == "healthy":
			return nil
		case !info.State.Running && info.State.ExitCode != 0:
			return fmt.Errorf("container %s exited with status %d", name, info.State.ExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s did not become healthy within %s", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// RunningContainer implements Engine.
func (d *DockerEngine) RunningContainer(ctx context.Context, idPrefix string) (Container, bool, error) {
	if idPrefix == "" {
		return Container{}, false, nil
	}
	list, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("id", idPrefix), filters.Arg("status", "running"))})
	if err != nil {
		return Container{}, false, err
	}
	for _, c := range list {
		if strings.HasPrefix(c.ID, idPrefix) {
			return Container{ID: c.ID, Service: c.Labels[ServiceLabel], Image: c.Image, Running: true, Labels: c.Labels}, true, nil
		}
	}
	return Container{}, false, nil
}

// ImageFiles implements Engine: it creates (never starts) a container of
// the image and reads dir out of it, then removes it and any volume it made.
func (d *DockerEngine) ImageFiles(ctx context.Context, image, dir string) (map[string]FileSum, error) {
	created, err := d.cli.ContainerCreate(ctx, &container.Config{Image: image, Entrypoint: []string{"true"}, Labels: map[string]string{drillLabel: "image-files"}}, nil, nil, nil, "")
	if err != nil {
		return nil, fmt.Errorf("read what image %s holds in %s: %w", image, dir, err)
	}
	defer d.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	rc, _, err := d.cli.CopyFromContainer(ctx, created.ID, dir)
	if err != nil {
		if client.IsErrNotFound(err) {
			return map[string]FileSum{}, nil // the image has nothing there
		}
		return nil, fmt.Errorf("read what image %s holds in %s: %w", image, dir, err)
	}
	defer rc.Close()
	files := map[string]FileSum{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// The archive's paths start with dir's own name.
		_, rel, _ := strings.Cut(h.Name, "/")
		hash := sha256.New()
		n, err := io.Copy(hash, tr)
		if err != nil {
			return nil, err
		}
		files[rel] = FileSum{Size: n, Hash: hex.EncodeToString(hash.Sum(nil))}
	}
}

// Discover reads the hooks of every service of project, one container per
// service (the first, sorted by service).
func Discover(ctx context.Context, e Engine, project string) ([]Hooks, map[string]Container, error) {
	containers, err := e.Containers(ctx, project)
	if err != nil {
		return nil, nil, err
	}
	byService := map[string]Container{}
	var hooks []Hooks
	for _, c := range containers {
		if _, seen := byService[c.Service]; seen || c.Service == "" {
			continue
		}
		byService[c.Service] = c
		h, err := HooksFromLabels(c.Service, c.Labels)
		if err != nil {
			return nil, nil, err
		}
		hooks = append(hooks, h)
	}
	return hooks, byService, nil
}

func filtersFor(label string) filters.Args { return filters.NewArgs(filters.Arg("label", label)) }
