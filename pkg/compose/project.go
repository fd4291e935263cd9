// Package compose models a stack of compose files and builds every
// `docker compose` verb as a run.Command.
//
// A stack is every services/*/docker-compose.*.yml of a repository (rendered
// ones included), sorted and passed as -f files with --project-directory .
// and the project name COMPOSE_PROJECT_NAME from .env. [Open] gives the
// [Project] (enough to run any verb); [Load] also reads the merged model
// with compose-go, for the linter ([Lint]) and other tools.
//
// Verbs are pure builders on Project that return the command as a value,
// so tests compare argv without Docker; a run.Runner executes them on this
// machine or, over SSH, on the server (the same argv works in both places,
// because files are relative to the project directory).
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

func optional(args []string, service string) []string {
	if service != "" {
		args = append(args, service)
	}
	return args
}

// Up starts services (all when none is named) in the background, waiting
// for the healthchecks their dependents need.
func (p Project) Up(services ...string) run.Command {
	return p.command(append([]string{"up", "-d", "--remove-orphans"}, services...)...)
}

// Restart restarts the services' containers only (all when none is named);
// the others keep running untouched.
func (p Project) Restart(services ...string) run.Command {
	return p.command(append([]string{"restart"}, named(services)...)...)
}

// named drops empty service names: an unset SERVICE means all.
func named(services []string) []string {
	var out []string
	for _, s := range services {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// RestartHard recreates service's containers (all when empty) and their
// anonymous volumes.
func (p Project) RestartHard(service string) run.Command {
	return p.command(optional([]string{"up", "-d", "--remove-orphans", "--force-recreate", "--renew-anon-volumes"}, service)...)
}

// Down stops and removes service's containers; with no service, the whole
// stack's containers and networks (named volumes are kept).
func (p Project) Down(service string) run.Command {
	if service == "" {
		return p.command("down", "--remove-orphans")
	}
	return p.command("rm", "--stop", "--force", service)
}

// DownEverything removes the whole stack with its named volumes: data is
// lost, so callers confirm first (see DownEverything in this package).
func (p Project) DownEverything() run.Command {
	return p.command("down", "--volumes", "--remove-orphans")
}

// Rm removes service's stopped containers (all when empty).
func (p Project) Rm(service string) run.Command {
	return p.command(optional([]string{"rm", "--force"}, service)...)
}

// RmHard removes service's stopped containers with their anonymous volumes.
func (p Project) RmHard(service string) run.Command {
	return p.command(optional([]string{"rm", "--force", "--volumes"}, service)...)
}

// KeepLabel marks containers that Prune must not remove.
const KeepLabel = "com.docker.keep-container=true"

// Prune removes stopped containers, unused networks, dangling images and
// build cache, except containers labelled KeepLabel.
func Prune() run.Command {
	return run.Command{Args: []string{"docker", "system", "prune", "--force", "--filter", "label!=" + KeepLabel}}
}

// Pull pulls the images of service (all when empty).
func (p Project) Pull(service string) run.Command {
	return p.command(optional([]string{"pull"}, service)...)
}

// Exec runs args in service's running container. tty gives it a terminal
// (when the caller has one); without, stdin is still passed.
func (p Project) Exec(service string, tty bool, args ...string) run.Command {
	argv := []string{"exec"}
	if !tty {
		argv = append(argv, "-T")
	}
	c := p.command(append(append(argv, service), args...)...)
	c.Interactive = tty
	return c
}

// Run runs args in a new container of service, removed afterwards.
func (p Project) Run(service string, tty bool, args ...string) run.Command {
	argv := []string{"run", "--rm"}
	if !tty {
		argv = append(argv, "-T")
	}
	c := p.command(append(append(argv, service), args...)...)
	c.Interactive = tty
	return c
}

// Sh opens a shell in service's running container.
func (p Project) Sh(service string, tty bool) run.Command {
	return p.Exec(service, tty, "sh")
}

// Logs follows the logs of service (all when empty) until interrupted.
func (p Project) Logs(service string) run.Command {
	c := p.command(optional([]string{"logs", "--follow", "--tail", "200"}, service)...)
	c.Interactive = true
	return c
}

// Containers lists the ids of service's containers (all when empty).
func (p Project) Containers(service string) run.Command {
	return p.command(optional([]string{"ps", "--all", "--quiet"}, service)...)
}

// ContainerServices prints the service of each of the project's
// containers, one per line, from the labels compose gives them (no
// compose file is read).
func (p Project) ContainerServices() run.Command {
	return run.Command{Args: []string{"docker", "ps", "--all", "--filter", "label=com.docker.compose.project=" + p.Name,
		"--format", `{{.Label "com.docker.compose.service"}}`}}
}

// Mounts prints each container's mounts, one per line: container, type,
// source (volume name or host path), destination.
func Mounts(containerIDs ...string) run.Command {
	return run.Command{Args: append([]string{"docker", "inspect", "--format",
		`{{ $c := .Name }}{{ range .Mounts }}{{ $c }}	{{ .Type }}	{{ if .Name }}{{ .Name }}{{ else }}{{ .Source }}{{ end }}	{{ .Destination }}{{ println }}{{ end }}`}, containerIDs...)}
}

// Ports lists the stack's containers with the ports they publish.
func (p Project) Ports() run.Command {
	return p.command("ps", "--format", "table {{.Name}}\t{{.Ports}}")
}

// Mem shows the memory use of the stack's running containers.
func (p Project) Mem() run.Command {
	return p.command("stats", "--no-stream", "--format", "table {{.Name}}\t{{.MemUsage}}\t{{.MemPerc}}")
}

// Config validates the merged compose files quietly.
func (p Project) Config() run.Command {
	return p.command("config", "--quiet")
}

// Stop stops services (all when none is named) without removing them.
func (p Project) Stop(services ...string) run.Command {
	return p.command(append([]string{"stop"}, services...)...)
}

// Start starts services' existing containers (all when none is named).
func (p Project) Start(services ...string) run.Command {
	return p.command(append([]string{"start"}, services...)...)
}

// PS lists the project's containers as JSON, one object per line.
func (p Project) PS(services ...string) run.Command {
	return p.command(append([]string{"ps", "--all", "--format", "json"}, services...)...)
}

// Create creates the stack's containers, networks and volumes without
// starting them (restore fills the volumes first).
func (p Project) Create(services ...string) run.Command {
	return p.command(append([]string{"create", "--remove-orphans"}, services...)...)
}

// UpWait starts services and waits until they are running and healthy.
func (p Project) UpWait(services ...string) run.Command {
	return p.command(append([]string{"up", "-d", "--wait"}, services...)...)
}
