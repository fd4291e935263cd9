package backup

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// Container is one container of the compose project, as the backup sees it.
type Container struct {
	ID      string
	Service string
	Running bool
	Labels  map[string]string
}

// Engine is what backup and restore need of the Docker Engine. DockerEngine
// is the real one; tests of the logic use fakes.
type Engine interface {
	// Containers lists the containers of a compose project, running or not.
	Containers(ctx context.Context, project string) ([]Container, error)
	// Exec runs cmd in a running container and returns its exit code.
	Exec(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error)
	Stop(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
	// WaitHealthy waits until the container's healthcheck passes (or it
	// runs, when it has none).
	WaitHealthy(ctx context.Context, id string) error
	// ContainerRunning reports whether a running container has that id
	// prefix (restic locks name the backup container's hostname).
	ContainerRunning(ctx context.Context, idPrefix string) (bool, error)
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
		if c.Labels[OneOffLabel] == "True" {
			continue // `compose run` containers, the backup program's own among them
		}
		out = append(out, Container{ID: c.ID, Service: c.Labels[ServiceLabel], Running: c.State == "running", Labels: c.Labels})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
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

// WaitHealthy implements Engine (up to five minutes).
func (d *DockerEngine) WaitHealthy(ctx context.Context, id string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		info, err := d.cli.ContainerInspect(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case info.State == nil:
		case info.State.Health == nil && info.State.Running:
			return nil
		case info.State.Health != nil && info.State.Health.Status == "healthy":
			return nil
		case !info.State.Running && info.State.ExitCode != 0:
			return fmt.Errorf("container %s exited with status %d", info.Name, info.State.ExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s did not become healthy in 5 minutes", info.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
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
