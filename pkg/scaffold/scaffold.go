// Package scaffold creates a stack repository of its own: a Go module that
// requires selfhosted, has Mage as a tool and a magefile of a few lines
// importing the targets, and holds the stack (the example one, or a
// skeleton with only the backup service). Upgrading the tool is then `go
// get -u github.com/selfhosted-go/selfhosted@latest`: the stack pins the
// version in its go.mod and go.sum.
package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/selfhosted-go/selfhosted"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Module is selfhosted's module path.
const Module = "github.com/selfhosted-go/selfhosted"

// Options tune Create.
type Options struct {
	// ModulePath of the new repository (default example.com/<folder name>).
	ModulePath string
	// Version of selfhosted to require (default: latest, resolved by go).
	Version string
	// Replace points the requirement at a local checkout of selfhosted
	// (for its own tests and for trying unreleased changes).
	Replace string
	// Skeleton starts from an empty stack with only the backup service
	// instead of the example one.
	Skeleton bool
	// Force writes into a folder that is not empty.
	Force bool
	// Out receives progress (may be nil).
	Out io.Writer
	// Environ is the environment `go` and `git` run with (nil: this
	// process's).
	Environ []string
}

// NotEmptyError refuses to write over a folder's files.
type NotEmptyError struct {
	Dir   string
	Files []string
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("%s is not empty (%s): a new stack repository goes into an empty folder", e.Dir, strings.Join(e.Files, ", "))
}

// Files returns what Create writes, path → content, without go.sum (go
// writes it).
func Files(dir string, o Options) (map[string]string, error) {
	files := map[string]string{}
	starter := selfhosted.Starter
	err := fs.WalkDir(starter, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if o.Skeleton && strings.HasPrefix(p, "services/") && !strings.HasPrefix(p, "services/backup/") {
			return nil
		}
		// A rendered template's output may sit in a working tree: never copy it.
		if _, err := fs.Stat(starter, p+".j2"); err == nil {
			return nil
		}
		data, err := fs.ReadFile(starter, p)
		if err != nil {
			return err
		}
		files[p] = string(data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.Skeleton {
		files[".env.example"] = skeletonEnv
	}
	modulePath := o.ModulePath
	if modulePath == "" {
		modulePath = "example.com/" + sanitize(filepath.Base(dir))
	}
	version := o.Version
	if version == "" || version == "latest" {
		version = "v0.0.0" // go get resolves it below
	}
	goMod := "module " + modulePath + "\n\ngo 1.26.0\n\nrequire " + Module + " " + version + "\n"
	if o.Replace != "" {
		goMod += "\nreplace " + Module + " => " + o.Replace + "\n"
	}
	goMod += "\ntool (\n\t" + Module + "/cmd/mage\n\tgithub.com/zricethezav/gitleaks/v8\n)\n"
	files["go.mod"] = goMod
	files["magefile.go"] = Magefile
	files[".gitignore"] = gitignore
	files["README.md"] = "# " + filepath.Base(dir) + "\n\n" + readme
	return files, nil
}

func sanitize(name string) string {
	name = strings.ToLower(name)
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return "stack"
	}
	return b.String()
}

// Create writes a new stack repository into dir and readies it: `go mod
// tidy` resolves selfhosted and records it in go.sum, and git starts a
// repository with the hooks installed. It refuses a folder that is not
// empty unless o.Force.
func Create(ctx context.Context, dir string, o Options) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(entries) > 0 && !o.Force {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		return &NotEmptyError{Dir: dir, Files: names}
	}
	files, err := Files(dir, o)
	if err != nil {
		return err
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Dir(name) == ".githooks" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(files[name]), mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "wrote %d files into %s\n", len(names), dir)
	r := run.Local{Dir: dir}
	env := o.Environ
	if env == nil {
		env = os.Environ()
	}
	steps := []run.Command{}
	if o.Replace == "" {
		version := o.Version
		if version == "" {
			version = "latest"
		}
		steps = append(steps, run.Command{Args: []string{"go", "get", Module + "@" + version}})
	}
	steps = append(steps,
		run.Command{Args: []string{"go", "mod", "tidy"}},
		run.Command{Args: []string{"git", "init", "-q"}},
		run.Command{Args: []string{"git", "config", "core.hooksPath", ".githooks"}},
	)
	for _, c := range steps {
		c.Env = goEnv(env)
		if out, err := run.Output(ctx, r, c); err != nil {
			return fmt.Errorf("%s in %s: %w: %s", c, dir, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// goEnv keeps go from asking for a VCS stamp of a repository with no commit.
func goEnv(env []string) []string {
	return append(append([]string{}, env...), "GOFLAGS=-buildvcs=false")
}

// Magefile is the stack repository's magefile: the targets, imported.
const Magefile = `//go:build mage

// The stack's targets, from selfhosted: go tool mage -l lists them.
package main

import (
	//mage:import
	"github.com/selfhosted-go/selfhosted/targets"
)

// Aliases keep the old Makefile's hyphenated names.
var Aliases = map[string]interface{}{
	"list-snapshots":   targets.ListSnapshots,
	"restart-hard":     targets.RestartHard,
	"down-everything":  targets.DownEverything,
	"rm-hard":          targets.RmHard,
	"check-config":     targets.CheckConfig,
	"git-check":        targets.GitCheck,
	"git-pull":         targets.GitPull,
	"git-push":         targets.GitPush,
	"push-files":       targets.PushFiles,
	"ssh-command":      targets.SSHCommand,
	"test-unit":        targets.TestUnit,
	"test-integration": targets.TestIntegration,
	"restore-drill":    targets.RestoreDrill,
	"backup-prune":     targets.BackupPrune,
	"lint-baseline":    targets.LintBaseline,
	"env-example":      targets.EnvExample,
}
`

const gitignore = `# Secrets: never commit them.
.env

# The backup program built for the server by deploy (uploaded, not committed).
/services/backup/bin/
`

const skeletonEnv = `# Every variable the stack reads, one comment each. ` + "`go tool mage secrets`" + `
# (and the first ` + "`go tool mage up`" + `) creates .env from this file: values
# marked "# secret: N" are generated, the others copied as they are here.

# Docker prefixes every network and volume with it.
COMPOSE_PROJECT_NAME=stack

# restic: where snapshots go (empty: a folder on the server, NOT off-site),
# the image the backup container runs, and the repository's password.
RESTIC_REPOSITORY=
RESTIC_IMAGE=restic/restic:0.17.3
# secret: 32
RESTIC_PASSWORD=
`

const readme = `A self-hosted stack, run with [selfhosted](https://github.com/selfhosted-go/selfhosted):
` + "`services/<role>/docker-compose.<container>.yml`" + ` files, secrets in a gitignored ` + "`.env`" + `.

    go tool mage -l                      # every target
    go tool mage up                      # run the stack on this machine
    SERVER=vps go tool mage deploy       # deploy it to the Host vps of ~/.ssh/config

Upgrade selfhosted with ` + "`go get -u github.com/selfhosted-go/selfhosted@latest && go mod tidy`" + `,
then deploy: the version this stack uses is the one in go.mod.
`
