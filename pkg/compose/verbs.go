package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Verbs that are more than one command: each still only builds commands
// with the builders of project.go and runs them through a run.Runner.

// NoContainersError reports a project (or service) with no containers.
type NoContainersError struct {
	Project, Service, Where string
	// WithContainers are the project's services that have containers.
	WithContainers []string
}

func (e *NoContainersError) Error() string {
	msg := fmt.Sprintf("no containers for %s in project %s on %s", orAll(e.Service), e.Project, e.Where)
	if e.Service != "" && len(e.WithContainers) > 0 {
		msg += " (services with containers: " + strings.Join(e.WithContainers, ", ") + ")"
	}
	return msg
}

// Volumes prints the mounts of service's containers (all when empty).
func Volumes(ctx context.Context, r run.Runner, p Project, service string, out io.Writer) error {
	ids, err := run.Output(ctx, r, p.Containers(service))
	if err != nil {
		return err
	}
	list := strings.Fields(string(ids))
	if len(list) == 0 {
		e := &NoContainersError{Project: p.Name, Service: service, Where: r.Where()}
		if service != "" {
			if out, err := run.Output(ctx, r, p.ContainerServices()); err == nil {
				e.WithContainers = unique(strings.Fields(string(out)))
			}
		}
		return e
	}
	return r.Run(ctx, Mounts(list...), run.Streams{Stdout: out, Stderr: out})
}

// DownEverything removes the whole stack and its volumes once confirm
// returns nil for the question it is asked. It is the only verb that
// deletes volumes.
func DownEverything(ctx context.Context, r run.Runner, p Project, confirm func(question string) error, s run.Streams) error {
	question := fmt.Sprintf("Remove every container, network AND VOLUME of project %q on %s? Its data is lost.", p.Name, r.Where())
	if confirm == nil {
		return fmt.Errorf("not confirmed: %s", question)
	}
	if err := confirm(question); err != nil {
		return err
	}
	return r.Run(ctx, p.DownEverything(), s)
}

// CheckConfig validates the merged compose files with `docker compose
// config`; when that fails it validates each file alone to name the broken
// one.
func CheckConfig(ctx context.Context, r run.Runner, p Project) error {
	_, err := run.Output(ctx, r, p.Config())
	if err == nil {
		return nil
	}
	for _, f := range p.Files {
		single := Project{Name: p.Name, Files: []string{f}, Dir: p.Dir}
		c := single.command("config", "--quiet", "--no-consistency")
		if _, ferr := run.Output(ctx, r, c); ferr != nil {
			return fmt.Errorf("%s is not a valid compose file: %w", f, stderrOf(ferr))
		}
	}
	return fmt.Errorf("the merged compose files (%s) are not valid together: %w", joinFiles(p.Files), stderrOf(err))
}

// stderrOf keeps only compose's own message from a failed command.
func stderrOf(err error) error {
	var ee *run.ExitError
	if errors.As(err, &ee) && strings.TrimSpace(ee.Stderr) != "" {
		return errors.New(strings.TrimSpace(ee.Stderr))
	}
	return err
}

func orAll(service string) string {
	if service == "" {
		return "the stack"
	}
	return "service " + service
}
