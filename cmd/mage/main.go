// Command mage is Mage, as `go tool mage` runs it in a stack repository: the
// upstream mage (github.com/magefile/mage) compiles and runs the magefiles,
// and this front adds what a command line needs.
//
//   - `go tool mage <target> --help`, `go tool mage -h <target>` and `go tool
//     mage help <target>` print the target's help (what it does, the
//     variables it reads and their defaults, an example) and run nothing;
//     `go tool mage -l` lists the targets with the Makefile's names and
//     every variable.
//   - The Makefile's names work everywhere (`list-snapshots`), and an
//     unknown target gets a "did you mean" instead of running anything.
//   - The compiled targets are reused for as long as nothing they were
//     built from changed: the magefiles, go.mod and go.sum, and every file
//     of every package of the main module or of a local `replace` that the
//     targets link (recorded with `go list -deps` when they were built).
//     Upstream mage runs `go build` at every call, which costs the link
//     graph's whole check; here a warm call stats those files and execs the
//     binary. One build at a time per folder (a lock), so two calls at once
//     never race on mage's generated file.
//
// Every other flag (-init, -clean, -compile, -version, -f, -gocmd, ...) is
// upstream mage's, unchanged.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/magefile/mage/mage"

	"github.com/selfhosted-go/selfhosted/internal/catalog"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// invocation is what the front understood of the command line.
type invocation struct {
	dir, workDir string
	verbose      bool
	list, help   bool
	timeout      string
	targets      []string
}

// parse reads the flags the front handles; ok is false for anything else,
// which upstream mage handles.
func parse(args []string) (invocation, bool) {
	inv := invocation{dir: "."}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		flag, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		next := func() (string, bool) {
			if hasValue {
				return value, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		var ok bool
		switch flag {
		case "v":
			inv.verbose = true
			ok = true
		case "l":
			inv.list, ok = true, true
		case "h", "help":
			inv.help, ok = true, true
		case "d":
			inv.dir, ok = next()
		case "w":
			inv.workDir, ok = next()
		case "t":
			inv.timeout, ok = next()
		}
		if !ok {
			return inv, false
		}
	}
	for _, a := range args[i:] {
		switch a {
		case "--help", "-h", "-help":
			inv.help = true
		default:
			inv.targets = append(inv.targets, a)
		}
	}
	if len(inv.targets) > 0 && inv.targets[0] == "help" {
		inv.help, inv.targets = true, inv.targets[1:]
	}
	if inv.workDir == "" {
		inv.workDir = inv.dir
	}
	return inv, true
}

func run(args []string, stdout, stderr io.Writer) int {
	inv, ok := parse(args)
	if !ok {
		return mage.ParseAndRun(stdout, stderr, os.Stdin, args)
	}
	if st, err := os.Stat(filepath.Join(inv.dir, mage.MagefilesDirName)); err == nil && st.IsDir() && !hasMagefiles(inv.dir) {
		inv.dir = filepath.Join(inv.dir, mage.MagefilesDirName)
	}
	if inv.help && len(inv.targets) == 0 && !inv.list {
		inv.list = true
	}
	if inv.help && !inv.list {
		return help(inv, stdout, stderr)
	}
	b, err := ensure(inv.dir, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	if inv.list {
		catalog.List(stdout, b.extra())
		return 0
	}
	names := make([]string, len(inv.targets))
	for i, t := range inv.targets {
		name, ok := b.resolve(t)
		if !ok {
			fmt.Fprintf(stderr, "Unknown target %q.%s\n", t, didYouMean(t, b))
			return 2
		}
		names[i] = name
	}
	return b.exec(inv, names, stderr)
}

func hasMagefiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if data, err := os.ReadFile(m); err == nil && hasMageTag(data) {
			return true
		}
	}
	return false
}

func hasMageTag(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if strings.HasPrefix(line, "//go:build") && strings.Contains(line, "mage") && !strings.Contains(line, "!mage") {
			return true
		}
		if strings.HasPrefix(line, "// +build") && strings.Contains(line, "mage") && !strings.Contains(line, "!mage") {
			return true
		}
	}
	return false
}

func didYouMean(name string, b *built) string {
	known := append(catalog.Names(), b.Names...)
	if s := catalog.Suggest(name, known); len(s) > 0 {
		return " Did you mean " + strings.Join(s, " or ") + "? (`go tool mage -l` lists them)"
	}
	return " `go tool mage -l` lists the targets."
}

func help(inv invocation, stdout, stderr io.Writer) int {
	code := 0
	for _, name := range inv.targets {
		if t, ok := catalog.Find(name); ok {
			catalog.Help(stdout, t)
			continue
		}
		// The stack's own target: upstream mage prints its doc comment.
		b, err := ensure(inv.dir, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		real, ok := b.resolve(name)
		if !ok {
			fmt.Fprintf(stderr, "Unknown target %q.%s\n", name, didYouMean(name, b))
			code = 2
			continue
		}
		cmd := exec.Command(b.Exe, real)
		cmd.Env = append(os.Environ(), "MAGEFILE_HELP=1")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		_ = cmd.Run()
	}
	return code
}

// built is a compiled targets binary and what it was built from.
type built struct {
	Exe   string
	Names []string          // the targets it knows (lower case), aliases included
	Docs  map[string]string // target → summary, for the listing
	Deps  []fileStamp
	Env   string
}

type fileStamp struct {
	Path  string
	Size  int64
	MTime int64
	Dir   bool
}

func (b *built) resolve(name string) (string, bool) {
	if t, ok := catalog.Find(name); ok {
		name = t.Func
	}
	lower := strings.ToLower(name)
	for _, n := range b.Names {
		if n == lower {
			return n, true
		}
	}
	return "", false
}

// extra lists the binary's targets the catalog does not describe.
func (b *built) extra() map[string]string {
	out := map[string]string{}
	for name, doc := range b.Docs {
		if _, ok := catalog.Find(name); !ok {
			out[name] = doc
		}
	}
	return out
}

func (b *built) exec(inv invocation, names []string, stderr io.Writer) int {
	env := os.Environ()
	if inv.verbose {
		env = append(env, "MAGEFILE_VERBOSE=1", "SELFHOSTED_VERBOSE=1")
	}
	if inv.timeout != "" {
		env = append(env, "MAGEFILE_TIMEOUT="+inv.timeout)
	}
	if err := os.Chdir(inv.workDir); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	// The targets take this process's place: signals and the exit status
	// are theirs, and a closed pipe ends them quietly.
	err := syscall.Exec(b.Exe, append([]string{b.Exe}, names...), env)
	fmt.Fprintln(stderr, "Error: run the targets:", err)
	return 1
}

// cacheDir is where the targets of the magefiles in dir are kept.
func cacheDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "selfhosted", "mage", hex.EncodeToString(sum[:8])), nil
}

// buildEnv is what else decides the binary: the toolchain and the build
// environment.
func buildEnv() string {
	parts := []string{runtime.Version()}
	for _, k := range []string{"GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOWORK", "GOTOOLCHAIN", "GOAMD64", "GOARM64"} {
		parts = append(parts, k+"="+os.Getenv(k))
	}
	return strings.Join(parts, "\n")
}

// ensure returns the compiled targets, building them when anything they
// were built from changed.
func ensure(dir string, stderr io.Writer) (*built, error) {
	cache, err := cacheDir(dir)
	if err != nil {
		return nil, err
	}
	record := filepath.Join(cache, "record.json")
	if b, ok := fresh(record); ok {
		return b, nil
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if b, ok := fresh(record); ok {
		return b, nil // another call built them while this one waited
	}
	return build(dir, cache, record, stderr)
}

// fresh reads the record and checks every file it names.
func fresh(record string) (*built, bool) {
	data, err := os.ReadFile(record)
	if err != nil {
		return nil, false
	}
	var b built
	if json.Unmarshal(data, &b) != nil || b.Env != buildEnv() {
		return nil, false
	}
	if _, err := os.Stat(b.Exe); err != nil {
		return nil, false
	}
	for _, f := range b.Deps {
		st, err := os.Stat(f.Path)
		if f.MTime == -1 {
			if !errors.Is(err, os.ErrNotExist) {
				return nil, false // a file that was missing appeared
			}
			continue
		}
		if err != nil || st.ModTime().UnixNano() != f.MTime || (!f.Dir && st.Size() != f.Size) {
			return nil, false
		}
	}
	return &b, true
}

func build(dir, cache, record string, stderr io.Writer) (*built, error) {
	exe := filepath.Join(cache, "targets")
	tmp := exe + ".new"
	code := mage.Invoke(mage.Invocation{Dir: dir, CompileOut: tmp, Stdout: stderr, Stderr: stderr})
	if code != 0 {
		return nil, fmt.Errorf("compiling the magefiles in %s failed", dir)
	}
	if err := os.Rename(tmp, exe); err != nil {
		return nil, err
	}
	b := &built{Exe: exe, Env: buildEnv(), Docs: map[string]string{}}
	var err error
	if b.Names, b.Docs, err = targetsOf(exe); err != nil {
		return nil, err
	}
	if b.Deps, err = dependencies(dir); err != nil {
		return nil, err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(record+".new", data, 0o600); err != nil {
		return nil, err
	}
	return b, os.Rename(record+".new", record)
}

// targetsOf asks the binary for its targets (mage -l's format).
func targetsOf(exe string) ([]string, map[string]string, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "MAGEFILE_LIST=1")
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("list the targets: %w", err)
	}
	names := []string{}
	docs := map[string]string{}
	inTargets := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "Targets:" {
			inTargets = true
			continue
		}
		if !inTargets || !strings.HasPrefix(line, "  ") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		name := strings.TrimSuffix(fields[0], "*")
		names = append(names, strings.ToLower(name))
		docs[name] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), fields[0]))
	}
	// Aliases are targets too; mage lists them with their target.
	for _, t := range catalog.Targets {
		for _, n := range names {
			if n == strings.ToLower(t.Func) {
				names = append(names, strings.ToLower(t.Name))
			}
		}
	}
	sort.Strings(names)
	return names, docs, nil
}

// dependencies records the files the binary was built from that may change
// without a new version: the magefiles, go.mod and go.sum, and every file
// of every package of the main module or of a local replace the magefiles
// link, with their folders (a file added there changes the package).
func dependencies(dir string) ([]fileStamp, error) {
	magefiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []string
	for _, m := range magefiles {
		if data, err := os.ReadFile(m); err == nil && hasMageTag(data) {
			files = append(files, filepath.Base(m))
		}
	}
	args := append([]string{"list", "-deps", "-tags", "mage", "-e", "-json=Dir,GoFiles,CgoFiles,EmbedFiles,Module,Standard"}, files...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list the magefiles' packages: %w", err)
	}
	paths := map[string]bool{}
	dirs := map[string]bool{}
	for _, m := range magefiles {
		paths[absPath(m)] = true
	}
	dirs[absPath(dir)] = true
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			Dir                           string
			GoFiles, CgoFiles, EmbedFiles []string
			Standard                      bool
			Module                        *struct {
				Main    bool
				Dir     string
				GoMod   string
				Replace *struct{ Path, Dir string }
			}
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Standard || p.Module == nil {
			continue
		}
		local := p.Module.Main || p.Module.Replace != nil && (strings.HasPrefix(p.Module.Replace.Path, ".") || strings.HasPrefix(p.Module.Replace.Path, "/"))
		if !local {
			continue // a version in the module cache: go.sum pins it
		}
		dirs[p.Dir] = true
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.EmbedFiles} {
			for _, f := range list {
				paths[filepath.Join(p.Dir, f)] = true
			}
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			paths[filepath.Join(p.Module.Dir, f)] = true
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "go.work", "go.work.sum"} {
		if root := moduleRoot(dir); root != "" {
			paths[filepath.Join(root, f)] = true
		}
	}
	var stamps []fileStamp
	for p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			stamps = append(stamps, fileStamp{Path: p, MTime: -1}) // must stay missing
			continue
		}
		stamps = append(stamps, fileStamp{Path: p, Size: st.Size(), MTime: st.ModTime().UnixNano()})
	}
	for d := range dirs {
		if st, err := os.Stat(d); err == nil {
			stamps = append(stamps, fileStamp{Path: d, MTime: st.ModTime().UnixNano(), Dir: true})
		}
	}
	sort.Slice(stamps, func(i, j int) bool { return stamps[i].Path < stamps[j].Path })
	return stamps, nil
}

func absPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// moduleRoot is the folder of the go.mod governing dir.
func moduleRoot(dir string) string {
	d := absPath(dir)
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}
