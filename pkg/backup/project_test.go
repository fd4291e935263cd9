package backup

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// project builds the few `docker compose` commands these tests need; the
// real builders live in package compose, which imports this one.
type project struct {
	Name  string
	Dir   string
	Files []string
}

func openProject(t *testing.T, root, name string) project {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "services", "*", "docker-compose.*.yml"))
	require.NoError(t, err)
	sort.Strings(files)
	return project{Name: name, Dir: root, Files: files}
}

func (p project) command(args ...string) run.Command {
	argv := []string{"docker", "compose", "--project-directory", ".", "--project-name", p.Name}
	for _, f := range p.Files {
		argv = append(argv, "-f", f)
	}
	return run.Command{Args: append(argv, args...), Dir: p.Dir}
}

func (p project) Up() run.Command { return p.command("up", "-d", "--remove-orphans") }
func (p project) UpWait(services ...string) run.Command {
	return p.command(append([]string{"up", "-d", "--wait"}, services...)...)
}
func (p project) Create() run.Command { return p.command("create", "--remove-orphans") }
func (p project) DownEverything() run.Command {
	return p.command("down", "--volumes", "--remove-orphans")
}
func (p project) Exec(service string, cmd ...string) run.Command {
	return p.command(append([]string{"exec", "-T", service}, cmd...)...)
}
func (p project) Run(service string, args ...string) run.Command {
	return p.command(append([]string{"run", "--rm", "-T", service}, args...)...)
}
