package compose

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	gitignore "github.com/sabhiram/go-gitignore"
	"gopkg.in/yaml.v3"

	"github.com/selfhosted-go/selfhosted/pkg/remote"
)

// FilePattern is where a stack's compose files live, relative to its root.
const FilePattern = "services/*/docker-compose.*.yml"

// Stack is a stack repository read with compose-go, the loader Docker
// Compose itself uses (merging, .env interpolation, profiles).
type Stack struct {
	// Root is the repository root: the project directory.
	Root string
	// Project is what the docker CLI needs to address the stack.
	Project Project
	// Model is the merged, interpolated compose model.
	Model *types.Project
	// Sources maps each service to the compose file that declares it.
	Sources map[string]string
	// Raw holds each service's keys as written in its file, before
	// compose-go fills in defaults (it adds a "default" network, for one).
	Raw map[string]map[string]any

	traefikCache []*traefik // read by the linter once

	ignoreOnce sync.Once
	ignore     *gitignore.GitIgnore
}

// Files returns the stack's compose files, sorted, relative to root.
func Files(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, FilePattern))
	if err != nil {
		return nil, err
	}
	files := make([]string, len(matches))
	for i, m := range matches {
		files[i], _ = filepath.Rel(root, m)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, &NoComposeFilesError{Root: root}
	}
	return files, nil
}

// NoComposeFilesError reports a folder that holds no stack.
type NoComposeFilesError struct{ Root string }

func (e *NoComposeFilesError) Error() string {
	return fmt.Sprintf("no compose files in %s: a stack is every %s", e.Root, FilePattern)
}

// MissingProjectNameError reports a stack without COMPOSE_PROJECT_NAME.
type MissingProjectNameError struct {
	EnvFile string
	NoFile  bool // EnvFile does not exist
}

func (e *MissingProjectNameError) Error() string {
	if e.NoFile {
		return fmt.Sprintf("%s does not exist, so COMPOSE_PROJECT_NAME is not set: Docker prefixes every network and volume with it", e.EnvFile)
	}
	return fmt.Sprintf("COMPOSE_PROJECT_NAME is not set in %s: Docker prefixes every network and volume with it, and Traefik watches the ${COMPOSE_PROJECT_NAME}_public network", e.EnvFile)
}

// ProjectName returns COMPOSE_PROJECT_NAME from environ (KEY=VALUE pairs,
// the process environment for a command line) or, as Docker Compose does,
// from root/.env.
func ProjectName(root string, environ []string) (string, error) {
	if name := Lookup(environ, "COMPOSE_PROJECT_NAME"); name != "" {
		return name, nil
	}
	path := filepath.Join(root, ".env")
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(path); statErr == nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	if name := env["COMPOSE_PROJECT_NAME"]; name != "" {
		return name, nil
	}
	_, statErr := os.Stat(path)
	return "", &MissingProjectNameError{EnvFile: path, NoFile: errors.Is(statErr, fs.ErrNotExist)}
}

// Lookup returns key's value in environ ("" when it is not there); a later
// pair wins, as in a process environment.
func Lookup(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Open returns the Project of the stack at root without reading the compose
// files' contents: enough to run any verb. environ may name the project
// (COMPOSE_PROJECT_NAME), as it does for docker compose.
func Open(root string, environ []string) (Project, error) {
	name, err := ProjectName(root, environ)
	if err != nil {
		return Project{}, err
	}
	files, err := Files(root)
	if err != nil {
		return Project{}, err
	}
	return Project{Name: name, Files: files}, nil
}

// Load reads the stack at root, interpolating variables from environ
// (KEY=VALUE pairs) and root/.env, as docker compose does with its
// process environment.
func Load(ctx context.Context, root string, environ []string) (*Stack, error) {
	p, err := Open(root, environ)
	if err != nil {
		return nil, err
	}
	abs := make([]string, len(p.Files))
	for i, f := range p.Files {
		abs[i] = filepath.Join(root, f)
	}
	opts, err := cli.NewProjectOptions(abs,
		cli.WithWorkingDirectory(root),
		cli.WithName(p.Name),
		cli.WithEnv(environ),
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		// The linter reports what normalization would paper over (a
		// missing networks: list) and what consistency checks would refuse
		// (a depends_on on a missing service), so both are left off here;
		// `docker compose config` still checks the stack in check-config.
		cli.WithNormalization(false),
		cli.WithConsistency(false),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	model, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the stack (%s): %w", joinFiles(p.Files), err)
	}
	s := &Stack{Root: root, Project: p, Model: model, Sources: map[string]string{}, Raw: map[string]map[string]any{}}
	for _, f := range p.Files {
		if err := s.readRaw(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readRaw records which file declares each service and its keys as written.
func (s *Stack) readRaw(file string) error {
	data, err := os.ReadFile(filepath.Join(s.Root, file))
	if err != nil {
		return err
	}
	var doc struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for name, keys := range doc.Services {
		if _, seen := s.Sources[name]; !seen {
			s.Sources[name] = file
		}
		raw := s.Raw[name]
		if raw == nil {
			raw = map[string]any{}
			s.Raw[name] = raw
		}
		for k, v := range keys {
			raw[k] = v
		}
	}
	return nil
}

func joinFiles(files []string) string {
	out := ""
	for i, f := range files {
		if i > 0 {
			out += ", "
		}
		out += f
	}
	return out
}

// deployIgnore is the stack's .deployignore (nil when it can't be read):
// what uploads leave out.
func (s *Stack) deployIgnore() *gitignore.GitIgnore {
	s.ignoreOnce.Do(func() { s.ignore, _ = remote.Ignore(s.Root) })
	return s.ignore
}
