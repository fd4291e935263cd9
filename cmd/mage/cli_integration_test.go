package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/catalog"
	"github.com/selfhosted-go/selfhosted/internal/magecache"
	"github.com/selfhosted-go/selfhosted/internal/testenv"
)

// The command line as a person meets it: this module's front, compiling
// this module's magefile, run in a stack repository of its own.

var (
	frontOnce sync.Once
	frontExe  string
	frontErr  error
)

// front builds cmd/mage once per test binary.
func front(t *testing.T) string {
	t.Helper()
	frontOnce.Do(func() {
		dir, err := os.MkdirTemp("", "selfhosted-front-")
		if err != nil {
			frontErr = err
			return
		}
		frontExe = filepath.Join(dir, "mage")
		cmd := exec.Command("go", "build", "-o", frontExe, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			frontErr = fmt.Errorf("go build cmd/mage: %v: %s", err, out)
		}
	})
	require.NoError(t, frontErr)
	return frontExe
}

type result struct {
	stdout, stderr string
	code           int
}

// runMage runs `go tool mage args...` as a user would in stack, the targets
// compiled from this module's magefile.
func runMage(t *testing.T, stack string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(front(t), append([]string{"-d", testenv.ModuleDir(t), "-w", stack}, args...)...)
	cmd.Env = append(append(os.Environ(), testenv.GitEnv...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// spyDocker puts a docker first in PATH that records each call and fails:
// a target that runs nothing never calls it.
func spyDocker(t *testing.T) (env []string, calls func() string) {
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\necho \"docker $*\" >> '"+log+"'\nexit 97\n"), 0o755))
	for _, name := range []string{"ssh", "restic", "git"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho \""+name+" $*\" >> '"+log+"'\nexit 97\n"), 0o755))
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, func() string {
		data, _ := os.ReadFile(log)
		return string(data)
	}
}

const appCompose = `services:
  app:
    image: ` + testenv.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    labels: {selfhosted.backup.skip: "true"}
`

func newStack(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "stack")
	all := map[string]string{
		".gitignore":                          ".env\n",
		".env":                                "COMPOSE_PROJECT_NAME=cli" + fmt.Sprint(time.Now().UnixNano()%1e9) + "\n",
		"services/app/docker-compose.app.yml": appCompose,
	}
	for k, v := range files {
		if v == "" {
			delete(all, k)
			continue
		}
		all[k] = v
	}
	testenv.StackRepo(t, dir, all)
	return dir
}

// Help never runs the target: not for `<target> --help`, `-h <target>`,
// `help <target>`, nor the binary Mage compiled run by hand. Every target
// is asked, the destructive ones first; a spy docker (and ssh, restic,
// git) proves nothing was called.
func TestIntegrationHelpRunsNothing(t *testing.T) {
	testenv.RequireCommand(t, "go")
	stack := newStack(t, nil)
	spy, calls := spyDocker(t)
	env := append(spy, "SERVER=", "CONFIRM=yes", "FORCE=1")

	var names []string
	for _, target := range catalog.Targets {
		if target.Dangerous {
			names = append([]string{target.Name}, names...)
		} else {
			names = append(names, target.Name)
		}
	}
	for _, name := range names {
		target, _ := catalog.Find(name)
		for _, args := range [][]string{
			{name, "--help"}, {name, "-h"}, {"-h", name}, {"help", name},
			{target.Func, "--help"}, {strings.ToLower(target.Func), "-h"},
		} {
			r := runMage(t, stack, env, args...)
			require.Equal(t, 0, r.code, "mage %v: %s%s", args, r.stdout, r.stderr)
			assert.Contains(t, r.stdout, "go tool mage "+name+": ", "mage %v", args)
			for _, v := range target.Vars {
				assert.Contains(t, r.stdout, "  "+v+" ", "mage %v names the variable %s", args, v)
			}
			assert.Contains(t, r.stdout, "Example:\n  "+target.Example)
			require.Empty(t, calls(), "mage %v ran something", args)
		}
	}

	// The compiled targets, run without the front (by upstream mage or by
	// hand), print the same help and run nothing either.
	require.Equal(t, 0, runMage(t, stack, env, "-l").code, "compiles the targets")
	b, ok := magecache.Fresh(recordOf(t))
	require.True(t, ok, "the front recorded the compiled targets")
	for _, name := range names {
		cmd := exec.Command(b.Exe, name, "--help")
		cmd.Dir = stack
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s --help: %s", name, out)
		assert.Contains(t, string(out), "go tool mage "+name+": ")
		require.Empty(t, calls(), "%s --help ran something", name)
	}
}

func recordOf(t *testing.T) string {
	dir, err := magecache.Dir(testenv.ModuleDir(t))
	require.NoError(t, err)
	return filepath.Join(dir, "record.json")
}

// The listing shows the Makefile's names and every variable; an unknown
// name gets the nearest ones and runs nothing.
func TestIntegrationListingAndDidYouMean(t *testing.T) {
	testenv.RequireCommand(t, "go")
	stack := newStack(t, nil)
	spy, calls := spyDocker(t)

	r := runMage(t, stack, spy, "-l")
	require.Equal(t, 0, r.code, r.stderr)
	for _, target := range catalog.Targets {
		assert.Contains(t, r.stdout, "  "+target.Name+" ")
	}
	for _, v := range catalog.Variables {
		assert.Contains(t, r.stdout, "  "+v.Name+" ")
	}
	assert.NotContains(t, r.stdout, "listSnapshots")

	for _, c := range []struct{ typed, suggested string }{
		{"lgos", "logs"}, {"list-snapshot", "list-snapshots"}, {"restartHrad", "restart-hard"}, {"depoly", "deploy"},
	} {
		r := runMage(t, stack, spy, c.typed)
		assert.Equal(t, 2, r.code)
		assert.Equal(t, fmt.Sprintf("Unknown target %q. Did you mean %s? (`go tool mage -l` lists them)\n", c.typed, c.suggested), r.stderr)
	}
	assert.Empty(t, calls())
}

// Each failure a new user meets is one line: the cause, then the fix.
func TestIntegrationFailuresSayTheCauseAndTheFix(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	testenv.RequireCommand(t, "git")

	t.Run("no Compose v2", func(t *testing.T) {
		stack := newStack(t, nil)
		// The docker CLI finds its plugins in DOCKER_CONFIG/cli-plugins: an
		// empty one is a machine without the plugin.
		r := runMage(t, stack, []string{"DOCKER_CONFIG=" + t.TempDir()}, "up")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "", r.stdout)
		assert.Regexp(t, "^Error: Docker Compose v2 \\(the `docker compose` plugin\\) is not installed on this machine \\(docker compose version: .*\\): install it there .*docker-compose-plugin.*\n$", r.stderr)
		r = runMage(t, stack, []string{"DOCKER_CONFIG=" + t.TempDir()}, "ports")
		assert.Contains(t, r.stderr, "Error: Docker Compose v2 (the `docker compose` plugin) is not installed on this machine")
	})

	t.Run("unknown service", func(t *testing.T) {
		stack := newStack(t, map[string]string{"services/db/docker-compose.db.yml": strings.ReplaceAll(appCompose, "app:", "db:")})
		for _, target := range []string{"logs", "restart", "volumes", "exec"} {
			r := runMage(t, stack, []string{"SERVICE=nosuch", "COMMAND=true"}, target)
			assert.Equal(t, 2, r.code, target)
			assert.Equal(t, "Error: SERVICE=nosuch: the stack has no such service; its services: app, db\n", r.stderr, target)
		}
	})

	t.Run("a service without containers", func(t *testing.T) {
		stack := newStack(t, map[string]string{"services/db/docker-compose.db.yml": strings.ReplaceAll(appCompose, "app:", "db:")})
		t.Cleanup(func() { runMage(t, stack, []string{"CONFIRM=yes"}, "down-everything") })
		require.Equal(t, 0, runMage(t, stack, []string{"SERVICE=db"}, "up").code)
		r := runMage(t, stack, []string{"SERVICE=app"}, "volumes")
		assert.Equal(t, 1, r.code)
		assert.Regexp(t, `^Error: no containers for service app in project cli\d+ on this machine \(services with containers: db\): start it with `+"`SERVICE=app go tool mage up`\n$", r.stderr)
	})

	t.Run("no COMPOSE_PROJECT_NAME", func(t *testing.T) {
		stack := newStack(t, map[string]string{
			".env":                       "DOMAIN=example.com\n",
			"services/app/config.yml.j2": "project: {{ env.COMPOSE_PROJECT_NAME }}\n",
		})
		for _, target := range []string{"render", "lint", "check-config", "up", "logs"} {
			r := runMage(t, stack, nil, target)
			assert.Equal(t, 1, r.code, target)
			assert.Regexp(t, "^Error: COMPOSE_PROJECT_NAME is not set in .*\\.env: .*: add it to .env, e.g. COMPOSE_PROJECT_NAME=selfhosted", r.stderr, target)
			assert.NotContains(t, r.stderr, "undefined", target)
		}
		require.NoError(t, os.Remove(filepath.Join(stack, ".env")))
		r := runMage(t, stack, nil, "render")
		assert.Regexp(t, "^Error: .*\\.env does not exist, so COMPOSE_PROJECT_NAME is not set: .*: `go tool mage secrets` creates it from .env.example", r.stderr)
	})

	t.Run("a tracked .env", func(t *testing.T) {
		stack := newStack(t, nil)
		testenv.Git(t, stack, "add", "-f", ".env")
		testenv.Git(t, stack, "commit", "-q", "-m", "oops")
		for _, target := range []string{"check-config", "deploy"} {
			r := runMage(t, stack, []string{"SERVER=", "SSH_CONFIG="}, target)
			if target == "deploy" {
				sshd := testenv.StartSSHD(t)
				r = runMage(t, stack, []string{"SERVER=" + sshd.Alias, "SSH_CONFIG=" + sshd.Config, "DIR=" + t.TempDir() + "/stack"}, target)
			}
			assert.Equal(t, 1, r.code, target)
			assert.Equal(t, "Error: .env is tracked by git, so its secrets would be committed: run `git rm --cached .env`, make sure .gitignore lists it, and commit\n", lastLine(r.stderr), target)
		}
	})

	t.Run("no stack on the server", func(t *testing.T) {
		stack := newStack(t, nil)
		sshd := testenv.StartSSHD(t)
		missing := filepath.Join(t.TempDir(), "never-deployed")
		r := runMage(t, stack, []string{"SERVER=" + sshd.Alias, "SSH_CONFIG=" + sshd.Config, "DIR=" + missing}, "ports")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, missing)
		assert.Contains(t, r.stderr, ": deploy it first with `SERVER="+sshd.Alias+" go tool mage deploy`\n")
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	})

	t.Run("an image no registry gives", func(t *testing.T) {
		stack := newStack(t, map[string]string{"services/app/docker-compose.app.yml": strings.Replace(appCompose, "image: "+testenv.DebianImage+"\n    pull_policy: never", "image: registry.invalid/nope:1", 1)})
		t.Cleanup(func() { runMage(t, stack, []string{"CONFIRM=yes"}, "down-everything") })
		r := runMage(t, stack, nil, "up")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "Error: docker compose up could not get image(s) registry.invalid/nope:1: not on this machine and not pulled: is a registry reachable from this machine")
		assert.NotContains(t, r.stderr, "--project-directory", "the whole command only in verbose mode")
		r = runMage(t, stack, []string{"SELFHOSTED_VERBOSE=1"}, "up")
		assert.Contains(t, r.stderr, "\n  command: docker compose --project-directory . --project-name cli")
		r = runMage(t, stack, nil, "-v", "up")
		assert.Contains(t, r.stderr, "\n  command: docker compose --project-directory . --project-name cli")
	})
}

// Quiet on success, and quiet when the reader goes away.
func TestIntegrationQuietOutput(t *testing.T) {
	testenv.RequireCompose(t)
	testenv.RequireImage(t, testenv.DebianImage)
	stack := newStack(t, map[string]string{
		"services/app/config.yml.j2": "domain: {{ env.DOMAIN }}\n",
		".env":                       "COMPOSE_PROJECT_NAME=quiet" + fmt.Sprint(time.Now().UnixNano()%1e9) + "\nDOMAIN=example.com\n",
		"services/app/docker-compose.app.yml": appCompose + `    environment:
      GREETING: ${GREETING}
`,
	})
	t.Cleanup(func() { runMage(t, stack, []string{"CONFIRM=yes"}, "down-everything") })

	r := runMage(t, stack, nil, "render")
	assert.Equal(t, "wrote services/app/config.yml\n", r.stdout)
	r = runMage(t, stack, nil, "render")
	assert.Equal(t, "render: 1 template(s), every output already up to date\n", r.stdout)
	assert.Empty(t, r.stderr)

	// compose-go's warnings are this command line's, once each.
	r = runMage(t, stack, nil, "lint")
	assert.Equal(t, 1, strings.Count(r.stderr, `warning: The "GREETING" variable is not set. Defaulting to a blank string.`), r.stderr)
	assert.NotContains(t, r.stderr, "level=")

	// A closed pipe ends the command quietly, with a shell's status for it.
	require.Equal(t, 0, runMage(t, stack, []string{"GREETING=hi"}, "up").code)
	// Many lines, so the pipe fills and breaks.
	for i := 0; i < 2000; i++ {
		testenv.WriteFiles(t, stack, map[string]string{fmt.Sprintf("many/file-%04d-%s", i, strings.Repeat("x", 60)): "x"})
	}
	testenv.Git(t, stack, "add", "many")
	testenv.Git(t, stack, "commit", "-q", "-m", "many")
	sh := exec.Command("bash", "-c", `"$0" -d "$1" -w "$2" tracked | head -1 >/dev/null; echo "${PIPESTATUS[0]}"`, front(t), testenv.ModuleDir(t), stack)
	out, err := sh.CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, "141\n", string(out), "exit 141 (as SIGPIPE) and nothing on stderr")

	sh = exec.Command("bash", "-c", `GREETING=hi SERVICE=app COMMAND='seq 1 1000000' "$0" -d "$1" -w "$2" exec | head -1 >/dev/null; echo "${PIPESTATUS[0]}"`, front(t), testenv.ModuleDir(t), stack)
	out, err = sh.CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, "141\n", string(out), "a command whose reader left ends quietly too")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}

// A warm call reuses the compiled targets, and the next call after any
// change to a package they link (an edit, a file added), or to go.mod,
// runs the new code; two calls at once after a change both do.
func TestIntegrationTargetsFollowTheirSources(t *testing.T) {
	testenv.RequireCommand(t, "go")
	module := testenv.ModuleDir(t)
	sum, err := os.ReadFile(filepath.Join(module, "go.sum"))
	require.NoError(t, err)
	dir := t.TempDir()
	testenv.WriteFiles(t, dir, map[string]string{
		"go.mod":      "module example.com/m\n\ngo 1.26.0\n\nrequire github.com/magefile/mage v1.15.0\n",
		"go.sum":      string(sum),
		"lib/word.go": "package lib\n\nvar Word = \"one\"\n",
		"magefile.go": "//go:build mage\n\npackage main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/m/lib\"\n)\n\n// Say prints the word.\nfunc Say() { fmt.Println(lib.Word) }\n",
	})
	say := func() string {
		t.Helper()
		cmd := exec.Command(front(t), "say")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, ".cache"), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Equal(t, "one\n", say())
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, ".cache"))
	t.Setenv("GOFLAGS", "-mod=mod")
	record, err := magecache.Dir(dir)
	require.NoError(t, err)
	built, ok := magecache.Fresh(filepath.Join(record, "record.json"))
	require.True(t, ok)
	assert.Equal(t, "one\n", say())
	again, ok := magecache.Fresh(filepath.Join(record, "record.json"))
	require.True(t, ok)
	assert.Equal(t, built.Deps, again.Deps, "a warm call builds nothing")

	testenv.WriteFiles(t, dir, map[string]string{"lib/word.go": "package lib\n\nvar Word = \"two\"\n"})
	assert.Equal(t, "two\n", say(), "an edited package")
	testenv.WriteFiles(t, dir, map[string]string{"lib/init.go": "package lib\n\nfunc init() { Word = \"three\" }\n"})
	assert.Equal(t, "three\n", say(), "a file added to a package")
	testenv.WriteFiles(t, dir, map[string]string{"notes.txt": "not Go"})
	_, ok = magecache.Fresh(filepath.Join(record, "record.json"))
	assert.True(t, ok, "a file that is no source changes nothing")

	require.NoError(t, os.Remove(filepath.Join(dir, "lib/init.go")))
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	testenv.WriteFiles(t, dir, map[string]string{"go.mod": string(gomod) + "\n// edited\n"})
	_, ok = magecache.Fresh(filepath.Join(record, "record.json"))
	assert.False(t, ok, "go.mod changed")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = say()
		}()
	}
	wg.Wait()
	assert.Equal(t, []string{"two\n", "two\n"}, outs, "two calls at once after a change")
}
