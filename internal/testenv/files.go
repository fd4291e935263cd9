package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (path relative to dir → content) below dir,
// creating folders, with mode 0644 (0600 for .env, which holds secrets).
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Base(name) == ".env" {
			mode = 0o600
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// ModuleDir is the selfhosted module's folder: the nearest folder above
// the test's working directory that holds go.mod.
func ModuleDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// GitEnv names the author of test commits.
var GitEnv = []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}

// StackRepo makes dir a stack repository of its own, as a team keeps one:
// a Go module requiring selfhosted (replaced by this checkout, with its
// go.sum, so nothing is downloaded), a git repository with files committed
// and an origin to push to.
func StackRepo(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	module := ModuleDir(t)
	sum, err := os.ReadFile(filepath.Join(module, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"go.mod": "module example.com/stack\n\ngo 1.26.0\n\nrequire github.com/selfhosted-go/selfhosted v0.0.0\n\nreplace github.com/selfhosted-go/selfhosted => " + module + "\n",
		"go.sum": string(sum),
	}
	for k, v := range files {
		all[k] = v
	}
	WriteFiles(t, dir, all)
	origin := t.TempDir()
	Git(t, origin, "init", "-q", "--bare")
	Git(t, dir, "init", "-q", "-b", "main")
	Git(t, dir, "add", ".")
	Git(t, dir, "commit", "-q", "-m", "stack")
	Git(t, dir, "remote", "add", "origin", origin)
	Git(t, dir, "push", "-q", "-u", "origin", "main")
}

// Git runs git in dir as the test author and returns its output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), GitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Docker runs the docker CLI and returns its output.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return string(out)
}
