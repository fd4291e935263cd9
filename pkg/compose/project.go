// Package compose models a stack of compose files and builds every
// `docker compose` verb as a run.Command.
package compose

import "github.com/selfhosted-go/selfhosted/pkg/run"

// Project is a compose project as the docker CLI sees it: a name and the
// compose files, relative to the project directory, that make it up.
type Project struct {
	// Name is COMPOSE_PROJECT_NAME: Docker prefixes networks and volumes with it.
	Name string
	// Files are the compose files, sorted, relative to the project directory.
	Files []string
	// Dir is the project directory where the command runs; empty means the
	// runner's own folder (the current directory, or DIR on the server).
	Dir string
}

// command builds `docker compose` with the project's name and files.
func (p Project) command(args ...string) run.Command {
	argv := []string{"docker", "compose", "--project-directory", ".", "--project-name", p.Name}
	for _, f := range p.Files {
		argv = append(argv, "-f", f)
	}
	return run.Command{Args: append(argv, args...), Dir: p.Dir}
}

// Up starts services (all when none is named) in the background.
func (p Project) Up(services ...string) run.Command {
	return p.command(append([]string{"up", "-d", "--remove-orphans"}, services...)...)
}
