// Package testenv is how integration tests meet the real components they need
// (Docker Engine, the Compose v2 plugin, locally built images, sshd, restic,
// Jinja2) and how `go tool mage testenv` provisions them.
//
// A test calls a Require function first. When the component is missing, the
// test is skipped with the reason and the command that provisions it; with
// CI=true it fails instead, because CI must never pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"github.com/selfhosted-go/selfhosted/internal/provision"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// DebianImage is the test image provision builds (this machine has no
// image registry).
const DebianImage = provision.DebianImage

// MariaDBService is the service mariadb of a services: map (indented so):
// MariaDB on the test image with the backup labels a stack gives it (live
// files excluded, dumped, restored and counted), its data in volume mysql
// on network private, which the stack declares.
const MariaDBService = `  mariadb:
    image: ` + DebianImage + `
    pull_policy: never
    command: ["run-mariadb"]
    restart: unless-stopped
    networks: [private]
    volumes: ["mysql:/var/lib/mysql"]
    healthcheck: {test: ["CMD", "mariadb-admin", "ping", "-uroot"], interval: 1s, retries: 60}
    labels:
      selfhosted.backup.dump: mariadb-dump -uroot --all-databases --single-transaction
      selfhosted.backup.restore: mariadb -uroot
      selfhosted.backup.exclude: mysql
      selfhosted.backup.count: mariadb
`

// InCI reports whether the tests run in CI (CI=true), where a missing
// component is a failure, not a skip.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Missing skips t (locally) or fails it (in CI) because component is missing.
func Missing(t testing.TB, component, why string) {
	t.Helper()
	msg := fmt.Sprintf("%s is missing: %s (provision it with `%s`)", component, why, provision.Command)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireCommand requires programs in PATH.
func RequireCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			Missing(t, n, "not found in PATH")
		}
	}
}

// RequireDocker requires a reachable Docker Engine.
func RequireDocker(t testing.TB) {
	t.Helper()
	RequireCommand(t, "docker")
	if out, err := quiet("docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		Missing(t, "Docker Engine", strings.TrimSpace(out))
	}
}

// RequireCompose requires the Docker Compose v2 CLI plugin (`docker compose`).
func RequireCompose(t testing.TB) {
	t.Helper()
	RequireDocker(t)
	out, err := quiet("docker", "compose", "version", "--short")
	if err != nil || !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(out), "v"), "2") {
		Missing(t, "Docker Compose v2 plugin", "`docker compose version` failed: "+strings.TrimSpace(out))
	}
}

// RequireImage requires locally built images.
func RequireImage(t testing.TB, images ...string) {
	t.Helper()
	RequireDocker(t)
	for _, img := range images {
		if _, err := quiet("docker", "image", "inspect", img); err != nil {
			Missing(t, "image "+img, "not built on this machine")
		}
	}
}

func quiet(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
