// Package provision installs what the integration tests and benchmarks need
// on this machine, doing only what is missing: Debian's packages, the Docker
// Compose v2 plugin built from the Go module proxy, and the test image
// built with debootstrap (no image registry is needed). `go tool mage
// testenv` runs it; package testenv's Require helpers point to it.
package provision

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Packages are the Debian packages the integration tests use on this machine.
var Packages = []string{
	"git", "ca-certificates", "python3-jinja2", "debootstrap", "openssh-server",
	"openssh-client", "restic", "rsync", "hyperfine",
}

// ImagePackages are installed into DebianImage.
var ImagePackages = []string{
	"mariadb-server", "mariadb-client", "postgresql", "redis-server", "restic",
	"curl", "ca-certificates", "procps", "tini", "netcat-openbsd",
}

// DebianImage is a Debian bookworm rootfs with mariadb-server, postgresql,
// redis-server, restic, curl and a shell: one image for every database the
// tests run (each container runs one of them).
const DebianImage = "selfhosted-test/debian:bookworm"

// Command is the command that provisions everything.
const Command = "go tool mage testenv"

// ComposeVersion is the Docker Compose v2 release built from the Go module
// proxy when the plugin is missing. It works with Docker Engine 20.10 (API 1.41).
const ComposeVersion = "v2.29.7"

//go:embed image
var imageFiles embed.FS

// Ensure provisions every component the integration tests need, doing only
// what is missing, and reports each step to log.
func Ensure(ctx context.Context, log io.Writer) error {
	r := run.Local{}
	if err := ensurePackages(ctx, r, log); err != nil {
		return err
	}
	if err := ensureCompose(ctx, r, log); err != nil {
		return err
	}
	if err := ensureBenchUser(ctx, r, log); err != nil {
		return err
	}
	return ensureImage(ctx, r, log)
}

// BenchUser is the account the upload benchmark logs in as over its
// loopback sshd: a fresh account whose login shell reads nothing heavy,
// as on a typical server. (This machine's root reads a .bashrc that
// initialises pyenv, which costs a second per SSH session and would
// measure that, not the tools.) It is in the docker group for deploy.
const BenchUser = "selfhosted-bench"

func ensureBenchUser(ctx context.Context, r run.Runner, log io.Writer) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(BenchUser)
	if err != nil {
		fmt.Fprintf(log, "testenv: creating the user %s (the upload benchmark's login)\n", BenchUser)
		// No password, but not locked ("*", not useradd's "!"): sshd
		// without PAM refuses a locked account even a key.
		c := run.Command{Args: []string{"useradd", "--create-home", "--shell", "/bin/bash", "--groups", "docker", "--password", "*", BenchUser}}
		if out, err := run.Output(ctx, r, c); err != nil {
			return fmt.Errorf("%s: %w: %s", c, err, out)
		}
		if u, err = user.Lookup(BenchUser); err != nil {
			return err
		}
	}
	// Its own Compose v2 plugin, when this machine's is a user's.
	plugin := filepath.Join(u.HomeDir, ".docker", "cli-plugins", "docker-compose")
	mine, err := ComposePluginPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(plugin); err == nil {
		return nil
	} else if _, err := os.Stat(mine); err != nil {
		return nil // compose is the system's: every user has it
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{filepath.Join(u.HomeDir, ".docker"), filepath.Dir(plugin)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(mine)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(plugin, data, 0o755); err != nil {
		return err
	}
	return os.Chown(plugin, uid, gid)
}

// --- Debian packages ---

// InstalledQuery asks dpkg which of pkgs are installed.
func InstalledQuery(pkgs []string) run.Command {
	return run.Command{Args: append([]string{"dpkg-query", "-W", "-f", "${Package} ${Status}\\n"}, pkgs...)}
}

// MissingPackages reads InstalledQuery's output and returns the packages of
// pkgs that are not installed.
func MissingPackages(pkgs []string, dpkgOutput string) []string {
	installed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(dpkgOutput))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[len(f)-1] == "installed" && f[len(f)-3] == "install" {
			installed[strings.Split(f[0], ":")[0]] = true
		}
	}
	var missing []string
	for _, p := range pkgs {
		if !installed[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

// InstallCommands installs pkgs with apt-get.
func InstallCommands(pkgs []string) []run.Command {
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	return []run.Command{
		{Args: []string{"apt-get", "update", "-q"}, Env: env},
		{Args: append([]string{"apt-get", "install", "-y", "-q", "--no-install-recommends"}, pkgs...), Env: env},
	}
}

func ensurePackages(ctx context.Context, r run.Runner, log io.Writer) error {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		fmt.Fprintln(log, "testenv: not a Debian system; install by hand:", strings.Join(Packages, " "))
		return nil
	}
	out, _ := run.Output(ctx, r, InstalledQuery(Packages)) // exits 1 when some are unknown
	missing := MissingPackages(Packages, string(out))
	if len(missing) == 0 {
		fmt.Fprintln(log, "testenv: Debian packages present")
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("testenv: missing Debian packages %s: run `sudo apt-get install %s`", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	fmt.Fprintln(log, "testenv: installing", strings.Join(missing, " "))
	for _, c := range InstallCommands(missing) {
		if err := r.Run(ctx, c, run.Streams{Stdout: log, Stderr: log}); err != nil {
			return fmt.Errorf("testenv: install Debian packages: %w", err)
		}
	}
	return nil
}

// --- Docker Compose v2 ---

// IsComposeV2 reads `docker compose version --short` output.
func IsComposeV2(versionOutput string) bool {
	v := strings.TrimPrefix(strings.TrimSpace(versionOutput), "v")
	return strings.HasPrefix(v, "2.")
}

// ComposePluginPath is where the docker CLI finds the plugin for this user.
func ComposePluginPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "cli-plugins", "docker-compose"), nil
}

func ensureCompose(ctx context.Context, r run.Runner, log io.Writer) error {
	out, err := run.Output(ctx, r, run.Command{Args: []string{"docker", "compose", "version", "--short"}})
	if err == nil && IsComposeV2(string(out)) {
		fmt.Fprintln(log, "testenv: Docker Compose", strings.TrimSpace(string(out)), "present")
		return nil
	}
	dest, err := ComposePluginPath()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "testenv: building Docker Compose %s from the Go module proxy into %s (a few minutes)\n", ComposeVersion, dest)
	return BuildCompose(ctx, r, ComposeVersion, dest, log)
}

// BuildCompose builds the Compose v2 CLI plugin at version into dest. It
// builds from a copy of the module, from its own root: compose's go.mod has
// replace directives that `go install module@version` refuses.
func BuildCompose(ctx context.Context, r run.Runner, version, dest string, log io.Writer) error {
	out, err := run.Output(ctx, r, run.Command{Args: []string{"go", "mod", "download", "-json", "github.com/docker/compose/v2@" + version}, Env: []string{"GOFLAGS=-mod=mod"}})
	if err != nil {
		return fmt.Errorf("testenv: download compose %s: %w", version, err)
	}
	modDir := jsonField(string(out), "Dir")
	if modDir == "" {
		return fmt.Errorf("testenv: `go mod download` printed no Dir for compose %s", version)
	}
	src, err := os.MkdirTemp("", "compose-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := CopyTree(modDir, src); err != nil {
		return fmt.Errorf("testenv: copy compose sources: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp := dest + ".tmp"
	build := run.Command{
		Args: []string{"go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/docker/compose/v2/internal.Version=" + version, "-o", tmp, "./cmd"},
		Dir:  src,
		Env:  []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off"},
	}
	if err := r.Run(ctx, build, run.Streams{Stdout: log, Stderr: log}); err != nil {
		return fmt.Errorf("testenv: build compose %s: %w", version, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// jsonField extracts a top-level string field from `go mod download -json`
// output without a full decode (the value holds no escapes: it is a path).
func jsonField(out, name string) string {
	key := `"` + name + `": "`
	i := strings.Index(out, key)
	if i < 0 {
		return ""
	}
	rest := out[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// CopyTree copies the files and folders below from into to, keeping
// permission bits (plus the owner's write bit, so module cache copies can
// be built in) — for builds and tests that work on a copy.
func CopyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm()|0o200)
	})
}

// --- the test image ---

// ImageRecipe is a hash of everything DebianImage is built from; the image
// carries it as a label, so a changed recipe rebuilds the image.
func ImageRecipe() string {
	h := sha256.New()
	pkgs := append([]string(nil), ImagePackages...)
	sort.Strings(pkgs)
	fmt.Fprintln(h, strings.Join(pkgs, ","))
	_ = fs.WalkDir(imageFiles, "image", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := imageFiles.ReadFile(path)
			fmt.Fprintf(h, "%s\n%s\n", path, data)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

const recipeLabel = "io.selfhosted.test.recipe"

// DebianMirror returns the first Debian mirror apt uses here.
func DebianMirror() string {
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if u, ok := strings.CutPrefix(line, "URIs:"); ok && !strings.Contains(u, "security") {
				return strings.Fields(u)[0]
			}
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "deb" && !strings.Contains(f[1], "security") {
				return f[1]
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// DebootstrapCommand builds the image's root filesystem in dir.
func DebootstrapCommand(dir, mirror string) run.Command {
	return run.Command{Args: []string{"debootstrap", "--variant=minbase", "--include=" + strings.Join(ImagePackages, ","), "bookworm", dir, mirror}}
}

// ImportCommand imports a root filesystem tarball (on stdin) as DebianImage.
func ImportCommand(recipe string) run.Command {
	return run.Command{Args: []string{"docker", "import",
		"--change", `CMD ["/bin/bash"]`,
		"--change", "LABEL " + recipeLabel + "=" + recipe,
		"-", DebianImage}}
}

func ensureImage(ctx context.Context, r run.Runner, log io.Writer) error {
	recipe := ImageRecipe()
	out, err := run.Output(ctx, r, run.Command{Args: []string{"docker", "image", "inspect", "--format", "{{ index .Config.Labels \"" + recipeLabel + "\" }}", DebianImage}})
	if err == nil && strings.TrimSpace(string(out)) == recipe {
		fmt.Fprintln(log, "testenv: image", DebianImage, "present")
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("testenv: building %s needs root (debootstrap): run `sudo go tool mage testenv`", DebianImage)
	}
	fmt.Fprintln(log, "testenv: building", DebianImage, "with debootstrap (a minute or two)")
	dir, err := os.MkdirTemp("", "selfhosted-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := r.Run(ctx, DebootstrapCommand(dir, DebianMirror()), run.Streams{Stdout: io.Discard, Stderr: log}); err != nil {
		return fmt.Errorf("testenv: debootstrap: %w", err)
	}
	entries, _ := fs.ReadDir(imageFiles, "image")
	for _, e := range entries {
		data, _ := imageFiles.ReadFile("image/" + e.Name())
		if err := os.WriteFile(filepath.Join(dir, "usr/local/bin", e.Name()), data, 0o755); err != nil {
			return err
		}
	}
	// Keep the image small: package caches are not needed at run time.
	os.RemoveAll(filepath.Join(dir, "var/cache/apt/archives"))
	tarball, err := os.CreateTemp("", "selfhosted-rootfs-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tarball.Name())
	tarball.Close()
	if err := r.Run(ctx, run.Command{Args: []string{"tar", "-C", dir, "-cf", tarball.Name(), "."}}, run.Streams{Stderr: log}); err != nil {
		return fmt.Errorf("testenv: pack the root filesystem: %w", err)
	}
	f, err := os.Open(tarball.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.Run(ctx, ImportCommand(recipe), run.Streams{Stdin: f, Stdout: io.Discard, Stderr: log}); err != nil {
		return fmt.Errorf("testenv: docker import: %w", err)
	}
	fmt.Fprintln(log, "testenv: built", DebianImage)
	return nil
}
