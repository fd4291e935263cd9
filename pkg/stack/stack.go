// Package stack is the library's entry point: a stack repository and where
// it runs, with a method for everything the Mage targets do.
//
// # The model
//
// A [Stack] is a repository of compose files (services/*/docker-compose.*.yml,
// some rendered from Jinja templates, with secrets in a gitignored .env) and
// a place to run it: this machine, or a server reached over one SSH
// connection ([remote.Client]), where the stack lives in DIR. Every method
// builds commands as values (package compose, run) and runs them through one
// run.Runner, here or there alike.
//
// On a server, DIR is a link to the current release, a complete uploaded
// tree, and [Stack.Deploy] is the pipeline: render, check (docker compose
// config, the linter, git), upload a new release, converge the running
// containers to it (package converge: exactly the services whose
// definition, environment or mounted files changed are recreated or
// restarted), wait until they are healthy, and return to the previous
// release if one is not. [Stack.Releases] lists the releases and
// [Stack.Rollback] returns to one.
//
// The package reads no environment variables and prints no advice in the
// words of a command line: settings arrive as option fields, progress goes
// to Options.Out, and failures are typed errors carrying the facts (which
// service, which file, which host), for the caller to explain.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	scp "github.com/bramvdbogaerde/go-scp"

	"github.com/selfhosted-go/selfhosted/pkg/compose"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"
	"github.com/selfhosted-go/selfhosted/pkg/secrets"
)

// Options say where a stack runs and how it reports.
type Options struct {
	// Server is the SSH connection to the server the stack runs on; nil
	// means this machine.
	Server *remote.Client
	// Dir is the stack's folder on the server (remote.DefaultDir when empty).
	Dir string
	// Environ is the process environment compose files and templates may
	// read, as KEY=VALUE pairs (os.Environ() for a command line); nil
	// means none.
	Environ []string
	// In feeds interactive commands (exec, sh, ssh); a terminal gives them
	// one. Out receives progress, plans and the output of the commands
	// run (nil discards it); Err receives their errors (nil: Out).
	In       io.Reader
	Out, Err io.Writer
	// CloudflareIPs replaces the Cloudflare ranges templates see (default:
	// fetched, else the list embedded in package render).
	CloudflareIPs []string
	// Upload wraps the upload stream (a progress bar counts its bytes).
	Upload scp.PassThru
}

// Stack is a stack repository and where it runs.
type Stack struct {
	// Root is the repository's folder on this machine.
	Root string
	// Project is the compose project: its name (COMPOSE_PROJECT_NAME) and
	// compose files.
	Project compose.Project
	opts    Options
	runner  run.Runner
	nameErr error // the project has no name until .env exists
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// named fails when the project has no name yet (no .env).
func (s *Stack) named() error { return s.nameErr }

// ensureEnv creates .env from .env.example when it is missing (secrets
// generated), then names the project from it.
func (s *Stack) ensureEnv(ctx context.Context) error {
	if _, err := secrets.EnsureEnv(ctx, s.Root, run.Local{Dir: s.Root}, s.opts.Out); err != nil {
		return err
	}
	name, err := compose.ProjectName(s.Root, s.opts.Environ)
	if err != nil {
		return err
	}
	s.Project.Name, s.nameErr = name, nil
	return nil
}

// Open opens the stack repository at root. The compose project's name comes
// from COMPOSE_PROJECT_NAME in opts.Environ, else in root/.env.
func Open(root string, opts Options) (*Stack, error) {
	if root == "" {
		root = "."
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Err == nil {
		opts.Err = opts.Out
	}
	if opts.Server != nil && opts.Dir == "" {
		opts.Dir = remote.DefaultDir
	}
	s := &Stack{Root: root, opts: opts}
	if opts.Server != nil {
		s.runner = opts.Server.Runner(opts.Dir)
	} else {
		s.runner = run.Local{Dir: root}
	}
	name, err := compose.ProjectName(root, opts.Environ)
	if err != nil {
		// A fresh clone has no .env yet: Up creates it from .env.example.
		var missing *compose.MissingProjectNameError
		if !errors.As(err, &missing) || exists(filepath.Join(root, ".env")) || !exists(filepath.Join(root, secrets.ExampleFile)) {
			return nil, err
		}
		s.nameErr = err
	}
	s.Project = compose.Project{Name: name}
	if err := s.findFiles(); err != nil {
		// A fresh clone may hold only templates of its compose files:
		// they exist once rendered.
		if templates, _ := render.Templates(root, "services"); len(templates) == 0 {
			return nil, err
		}
	}
	return s, nil
}

// findFiles reads which compose files make up the stack.
func (s *Stack) findFiles() error {
	files, err := compose.Files(s.Root)
	if err != nil {
		return err
	}
	s.Project.Files = files
	return nil
}

// Runner is where the stack's commands run: this machine, or DIR on the
// server.
func (s *Stack) Runner() run.Runner { return s.runner }

// Where names the place the stack runs, for messages.
func (s *Stack) Where() string { return s.runner.Where() }

// Remote reports whether the stack runs on a server.
func (s *Stack) Remote() bool { return s.opts.Server != nil }

// NeedsServerError reports a verb that only makes sense on a server.
type NeedsServerError struct{ Verb string }

func (e *NeedsServerError) Error() string {
	return fmt.Sprintf("%s needs a server to run on", e.Verb)
}

func (s *Stack) server(verb string) (*remote.Client, error) {
	if s.opts.Server == nil {
		return nil, &NeedsServerError{Verb: verb}
	}
	return s.opts.Server, nil
}

func (s *Stack) say(format string, args ...any) {
	fmt.Fprintf(s.opts.Out, format+"\n", args...)
}

func (s *Stack) streams() run.Streams {
	return run.Streams{Stdout: s.opts.Out, Stderr: s.opts.Err}
}
