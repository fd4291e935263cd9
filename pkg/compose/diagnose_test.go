package compose

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// scripted answers commands by their first words, as a host would.
type scripted map[string]error

func (s scripted) Run(_ context.Context, c run.Command, _ run.Streams) error {
	line := strings.Join(c.Args, " ")
	for prefix, err := range s {
		if strings.HasPrefix(line, prefix) {
			return err
		}
	}
	return nil
}

func (s scripted) Where() string { return "vps" }

func exitErr(code int, stderr string, args ...string) error {
	return &run.ExitError{Command: run.Command{Args: args}, Where: "vps", Code: code, Stderr: stderr}
}

func TestDiagnose(t *testing.T) {
	up := exitErr(1, "", "docker", "compose", "--project-directory", ".", "-f", "a.yml", "up", "--detach")
	for _, c := range []struct {
		name string
		host scripted
		err  error
		want string
	}{
		{"no plugin", scripted{"docker compose version": exitErr(1, "docker: 'compose' is not a docker command.")}, up,
			"Docker Compose v2 (the `docker compose` plugin) is not installed on vps (docker compose version: docker: 'compose' is not a docker command.)"},
		{"an image no registry gives", scripted{"docker image inspect": exitErr(1, "[]\nError response from daemon: No such image: registry.invalid/app:1\n")}, up,
			"docker compose up could not get image(s) registry.invalid/app:1: not on vps and not pulled"},
		{"every image there", scripted{}, up, up.Error()},
		{"not a compose command", scripted{"docker compose version": exitErr(1, "")}, exitErr(1, "", "git", "push"), "git push on vps: exit status 1"},
		{"not a command's failure", scripted{}, errors.New("connection lost"), "connection lost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Diagnose(context.Background(), c.host, c.err, []string{"registry.invalid/app:1", "debian:bookworm"})
			assert.Equal(t, c.want, err.Error())
		})
	}
	var missing *MissingImagesError
	err := Diagnose(context.Background(), scripted{"docker image inspect": exitErr(1, "Error: No such image: x:1")}, up, []string{"x:1"})
	require.ErrorAs(t, err, &missing)
	assert.ErrorIs(t, err, up, "the compose failure stays in the chain")
}

func TestVerb(t *testing.T) {
	for want, args := range map[string][]string{
		"docker compose up":   {"docker", "compose", "--project-directory", ".", "--project-name", "x", "-f", "a.yml", "-f", "b.yml", "up", "--detach"},
		"docker compose":      {"docker", "compose", "--project-name", "x"},
		"restic backup":       {"restic", "backup", "/data"},
		"git":                 {"git", "--no-pager"},
		"the command":         {},
		"docker compose exec": {"docker", "compose", "--ansi", "never", "exec", "-T", "db"},
	} {
		assert.Equal(t, want, Verb(run.Command{Args: args}))
	}
}
