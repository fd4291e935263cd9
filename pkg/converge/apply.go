package converge

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Options say where and how to converge.
type Options struct {
	Runner  run.Runner
	Project compose.Project
	// Output receives compose's own progress (may be nil).
	Output io.Writer
	// Timeout bounds Wait (default DefaultTimeout).
	Timeout time.Duration
	// Services limits Apply to these services (all when empty).
	Services []string

	poll time.Duration // how often Wait looks (tests shorten it)
}

// DefaultTimeout is how long Wait gives the touched services to become
// healthy.
const DefaultTimeout = 5 * time.Minute

// Result says what Apply touched.
type Result struct {
	// Touched are the services whose containers were created, recreated,
	// restarted or started: the ones Wait must see healthy.
	Touched []string
	// Restarted are those Apply restarted because files they mount changed.
	Restarted []string
}

// Apply converges the project to the release DIR points to, activated at
// since: `docker compose up -d --remove-orphans` creates, recreates (on a
// changed definition), starts and removes; then every service the plan
// restarts whose containers still run on an older release (started before
// since) is restarted, which mounts the current release. before are the
// containers as Compute saw them.
func Apply(ctx context.Context, o Options, before []Container, plan Plan, since time.Time) (Result, error) {
	streams := run.Streams{Stdout: o.Output, Stderr: o.Output}
	if err := o.Runner.Run(ctx, o.Project.Up(o.Services...), streams); err != nil {
		return Result{}, err
	}
	after, err := List(ctx, o.Runner, o.Project.Name)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for _, svc := range plan.Services(Restart) {
		if len(o.Services) > 0 && !slices.Contains(o.Services, svc) {
			continue
		}
		for _, c := range after {
			if c.Service == svc && c.Running() && c.StartedAt.Before(since) {
				res.Restarted = append(res.Restarted, svc)
				break
			}
		}
	}
	if len(res.Restarted) > 0 {
		if err := o.Runner.Run(ctx, o.Project.Restart(res.Restarted...), streams); err != nil {
			return res, err
		}
		if after, err = List(ctx, o.Runner, o.Project.Name); err != nil {
			return res, err
		}
	}
	res.Touched = touched(before, after)
	return res, nil
}

// touched lists the services with a container that is new or started again.
func touched(before, after []Container) []string {
	was := map[string]time.Time{}
	for _, c := range before {
		was[c.ID] = c.StartedAt
	}
	set := map[string]bool{}
	for _, c := range after {
		if started, ok := was[c.ID]; !ok || !started.Equal(c.StartedAt) {
			set[c.Service] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// UnhealthyError names a service that did not become healthy, with the end
// of its logs.
type UnhealthyError struct {
	Service   string
	Container string
	State     string // what was seen: "unhealthy", "exited with status 1", ...
	Timeout   time.Duration
	Logs      string
}

func (e *UnhealthyError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("service %s did not become healthy within %s (%s)", e.Service, e.Timeout, e.State)
	}
	return fmt.Sprintf("service %s is %s", e.Service, e.State)
}

// Wait waits until every container of services runs and is healthy (or,
// without a healthcheck, keeps running; or, for a one-shot task, has
// exited 0). It fails at once on an unhealthy, exited or restarting
// container, and after o.Timeout on one still starting.
func Wait(ctx context.Context, o Options, services []string) error {
	if len(services) == 0 {
		return nil
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	poll := o.poll
	if poll <= 0 {
		poll = time.Second
	}
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	deadline := time.Now().Add(timeout)
	restarts := map[string]int{}
	running := map[string]time.Time{} // containers seen running, by the start they were seen with
	for first := true; ; first = false {
		containers, err := List(ctx, o.Runner, o.Project.Name)
		if err != nil {
			return err
		}
		pending := ""
		pendingState := ""
		seen := map[string]bool{}
		for _, c := range containers {
			if !want[c.Service] {
				continue
			}
			seen[c.Service] = true
			if first {
				restarts[c.ID] = c.RestartCount
			}
			prev, wasRunning := running[c.ID]
			settled := wasRunning && prev.Equal(c.StartedAt)
			if c.Status == "running" {
				running[c.ID] = c.StartedAt
			}
			ok, state, failed := readiness(c, restarts[c.ID], settled)
			if failed {
				return &UnhealthyError{Service: c.Service, Container: c.Name, State: state, Logs: Logs(ctx, o.Runner, c.ID)}
			}
			if !ok && pending == "" {
				pending, pendingState = c.Service, state
			}
		}
		for _, s := range services {
			if !seen[s] && pending == "" {
				pending, pendingState = s, "no container"
			}
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return &UnhealthyError{Service: pending, State: pendingState, Timeout: timeout, Logs: serviceLogs(ctx, o, containers, pending)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// readiness judges one container: ready, or failed for good, with what
// was seen. settled says it was already seen running, since the same
// start, one poll earlier (the server's clock is not this machine's).
func readiness(c Container, restartsBefore int, settled bool) (ready bool, state string, failed bool) {
	switch {
	case c.Status == "exited" && c.OneShot && c.ExitCode == 0:
		return true, "done", false
	case c.Status == "exited" || c.Status == "dead":
		return false, fmt.Sprintf("exited with status %d", c.ExitCode), true
	case c.Status == "restarting" || c.RestartCount > restartsBefore:
		return false, "restarting after a crash", true
	case c.Status != "running":
		return false, c.Status, false
	case c.Health == "unhealthy":
		return false, "unhealthy", true
	case c.Health == "starting":
		return false, "health: starting", false
	case c.Health == "healthy":
		return true, "healthy", false
	}
	// No healthcheck: running, and still running one poll later.
	if !settled {
		return false, "just started", false
	}
	return true, "running", false
}

// LogLines is how much of a failed service's log is shown.
const LogLines = 20

// Logs returns the end of a container's log (stdout and stderr).
func Logs(ctx context.Context, r run.Runner, container string) string {
	var b strings.Builder
	_ = r.Run(ctx, run.Command{Args: []string{"docker", "logs", "--tail", fmt.Sprint(LogLines), container}, Dir: "/"}, run.Streams{Stdout: &b, Stderr: &b})
	return strings.TrimRight(b.String(), "\n")
}

func serviceLogs(ctx context.Context, o Options, containers []Container, service string) string {
	for _, c := range containers {
		if c.Service == service {
			return Logs(ctx, o.Runner, c.ID)
		}
	}
	return ""
}
