package converge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Labels Docker Compose sets on the containers it creates, and the one
// that marks a task that exits.
const (
	ProjectLabel    = "com.docker.compose.project"
	ServiceLabel    = "com.docker.compose.service"
	OneOffLabel     = "com.docker.compose.oneoff"
	ConfigHashLabel = "com.docker.compose.config-hash"
	OneShotLabel    = "selfhosted.lint.one-shot"
)

// Container is one container of the project, as the Engine reports it.
type Container struct {
	ID, Name, Service string
	// Status is the Engine's: created, running, restarting, exited, ...
	Status       string
	ExitCode     int
	StartedAt    time.Time
	Health       string // "" without a healthcheck, else starting, healthy or unhealthy
	RestartCount int
	// OneOff containers come from `compose run`; OneShot services exit
	// when their task is done.
	OneOff, OneShot bool
	ConfigHash      string
	// Binds are the host paths the container bind-mounts, as configured
	// (through the DIR link, not the release it resolved to).
	Binds []Bind
}

// Bind is a bind mount.
type Bind struct {
	Source, Destination string
}

// Running reports whether the container runs (or is being restarted).
func (c Container) Running() bool { return c.Status == "running" || c.Status == "restarting" }

// The Engine's commands run in "/": they need no stack folder, and on a
// server DIR may not exist yet.

// ListCommand describes project's containers, stopped ones too, as
// docker inspect's JSON, in one round trip: the ids from docker ps go
// straight to docker inspect. A container removed between the two makes
// inspect fail for it alone; the others are still printed.
func ListCommand(project string) run.Command {
	return run.Command{Args: []string{"sh", "-c", `ids=$(docker ps --all --quiet --no-trunc --filter "label=$1") || exit; ` +
		`if [ -z "$ids" ]; then echo '[]'; else docker inspect --type container $ids; fi`, "sh", ProjectLabel + "=" + project}, Dir: "/"}
}

// List returns project's containers (one-off `compose run` ones left out),
// sorted by service and name.
func List(ctx context.Context, r run.Runner, project string) ([]Container, error) {
	data, err := run.Output(ctx, r, ListCommand(project))
	if err != nil && !json.Valid(bytes.TrimSpace(data)) {
		return nil, fmt.Errorf("list the containers of project %s on %s: %w", project, r.Where(), err)
	}
	return ParseList(data)
}

// ParseList reads ListCommand's output, one-off `compose run` containers
// left out.
func ParseList(data []byte) ([]Container, error) {
	all, perr := ParseInspect(data)
	if perr != nil {
		return nil, perr
	}
	var out2 []Container
	for _, c := range all {
		if !c.OneOff {
			out2 = append(out2, c)
		}
	}
	return out2, nil
}

type inspected struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status    string
		ExitCode  int
		StartedAt string
		Health    *struct{ Status string }
	}
	RestartCount int
	Config       struct{ Labels map[string]string }
	Mounts       []struct{ Type, Source, Destination string }
}

// ParseInspect reads `docker inspect` output.
func ParseInspect(data []byte) ([]Container, error) {
	var raw []inspected
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("unexpected output from docker inspect: %w", err)
	}
	out := make([]Container, 0, len(raw))
	for _, r := range raw {
		c := Container{
			ID: r.ID, Name: strings.TrimPrefix(r.Name, "/"),
			Service:      r.Config.Labels[ServiceLabel],
			Status:       r.State.Status,
			ExitCode:     r.State.ExitCode,
			RestartCount: r.RestartCount,
			OneOff:       strings.EqualFold(r.Config.Labels[OneOffLabel], "true"),
			OneShot:      strings.EqualFold(r.Config.Labels[OneShotLabel], "true"),
			ConfigHash:   r.Config.Labels[ConfigHashLabel],
		}
		c.StartedAt, _ = time.Parse(time.RFC3339Nano, r.State.StartedAt)
		if r.State.Health != nil {
			c.Health = r.State.Health.Status
		}
		for _, m := range r.Mounts {
			if m.Type == "bind" {
				c.Binds = append(c.Binds, Bind{Source: m.Source, Destination: m.Destination})
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
