package testenv

import (
	"os/exec"
	"testing"
)

// RequireJinja2 returns a python3 interpreter that can import jinja2, the
// reference for pkg/render's differential tests (Debian's python3-jinja2).
func RequireJinja2(t testing.TB) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import jinja2").Run() == nil {
			return path
		}
	}
	Missing(t, "python3 with jinja2", "no python3 can `import jinja2` (Debian: python3-jinja2)")
	return ""
}
