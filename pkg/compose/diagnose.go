package compose

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// MissingPluginError reports a host where `docker compose` is not Docker
// Compose v2: the plugin is missing (docker says "'compose' is not a docker
// command", or takes the flags for its own: "unknown flag:
// --project-directory").
type MissingPluginError struct {
	Where  string
	Output string // what `docker compose version` said
}

func (e *MissingPluginError) Error() string {
	msg := "Docker Compose v2 (the `docker compose` plugin) is not installed on " + e.Where
	if out := firstLine(e.Output); out != "" {
		msg += " (docker compose version: " + out + ")"
	}
	return msg
}

// MissingImagesError reports images a compose command needed that the
// host does not have and could not pull: no registry reachable, a
// private registry without login, or a wrong name or tag.
type MissingImagesError struct {
	Where  string
	Images []string
	Err    error // the compose command's failure
}

func (e *MissingImagesError) Error() string {
	return fmt.Sprintf("%s could not get image(s) %s: not on %s and not pulled", commandVerb(e.Err), strings.Join(e.Images, ", "), e.Where)
}

func (e *MissingImagesError) Unwrap() error { return e.Err }

// Diagnose explains a failed `docker compose` command run by r: when
// Compose v2 is missing there it returns a *MissingPluginError, when
// some of images are neither there nor pullable a *MissingImagesError,
// else err unchanged. It runs only after a failure: one `docker compose
// version` and one `docker image inspect`.
func Diagnose(ctx context.Context, r run.Runner, err error, images []string) error {
	var exit *run.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil || !isCompose(exit.Command) {
		return err
	}
	if verr := Available(ctx, r); verr != nil {
		var missing *MissingPluginError
		if errors.As(verr, &missing) {
			return verr
		}
		return err
	}
	if len(images) == 0 {
		return err
	}
	missing, ierr := MissingImages(ctx, r, images)
	if ierr != nil || len(missing) == 0 {
		return err
	}
	return &MissingImagesError{Where: r.Where(), Images: missing, Err: err}
}

// Available returns a *MissingPluginError when `docker compose` is not
// Compose v2 on r's host.
func Available(ctx context.Context, r run.Runner) error {
	out, err := run.Output(ctx, r, run.Command{Args: []string{"docker", "compose", "version"}, Dir: "/"})
	var exit *run.ExitError
	if errors.As(err, &exit) {
		return &MissingPluginError{Where: r.Where(), Output: exit.Stderr + string(out)}
	}
	return err
}

var noSuchImage = regexp.MustCompile(`No such image: (\S+)`)

// MissingImages returns which of images r's host does not have.
func MissingImages(ctx context.Context, r run.Runner, images []string) ([]string, error) {
	images = unique(images)
	args := append([]string{"docker", "image", "inspect", "--format", "{{.Id}}"}, images...)
	_, err := run.Output(ctx, r, run.Command{Args: args, Dir: "/"})
	var exit *run.ExitError
	if err == nil {
		return nil, nil
	}
	if !errors.As(err, &exit) {
		return nil, err
	}
	var missing []string
	for _, m := range noSuchImage.FindAllStringSubmatch(exit.Stderr, -1) {
		missing = append(missing, m[1])
	}
	return unique(missing), nil
}

// Images are the images the stack's services run that compose pulls
// (services with a build section are built instead).
func (s *Stack) Images() []string {
	var out []string
	for _, svc := range s.Model.Services {
		if svc.Build == nil && svc.Image != "" {
			out = append(out, svc.Image)
		}
	}
	return unique(out)
}

func isCompose(c run.Command) bool {
	return len(c.Args) >= 2 && c.Args[0] == "docker" && c.Args[1] == "compose"
}

// commandVerb names a failed command by program and verb: `docker compose
// up`, for messages that must not repeat a whole command line.
func commandVerb(err error) string {
	var exit *run.ExitError
	if errors.As(err, &exit) {
		return Verb(exit.Command)
	}
	return "the command"
}

// Verb is a command's program and verb, its flags and their values left
// out: `docker compose up`, `restic backup`, `git push`.
func Verb(c run.Command) string {
	args := c.Args
	if isCompose(c) {
		for i := 2; i < len(args); i++ {
			switch args[i] {
			case "--project-directory", "--project-name", "-p", "-f", "--file", "--env-file", "--profile", "--ansi", "--progress":
				i++ // and its value
			default:
				if !strings.HasPrefix(args[i], "-") {
					return "docker compose " + args[i]
				}
			}
		}
		return "docker compose"
	}
	if len(args) >= 2 && !strings.HasPrefix(args[1], "-") {
		return args[0] + " " + args[1]
	}
	if len(args) > 0 {
		return args[0]
	}
	return "the command"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func unique(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
