// Package magecache keeps the targets Mage compiles from a stack's
// magefiles, and knows when they are stale.
//
// Upstream mage runs `go build` of the magefiles at every call, and the
// targets link some 350 packages (Docker's SDK, compose-go, ...), so even a
// warm call spends 0.3-0.9 s on a small machine deciding there is nothing
// to build; MAGEFILE_HASHFAST skips that but then misses a change in a
// package the magefiles import. Here the compiled targets are kept with a
// record of every file they were built from that can change without a new
// module version: the magefiles, go.mod and go.sum, and every file of every
// package of the main module or of a local `replace` they link, with those
// packages' folders (a file added there changes the package), found with
// `go list -deps` at build time. Versions in the module cache are pinned by
// go.sum, and the toolchain and build environment are part of the record.
// A warm call stats those files (about a hundred) and reuses the binary.
//
// One build at a time per folder (a lock), so two calls at once never race
// on mage's generated main file.
package magecache

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

// Targets is a compiled targets binary and what it was built from.
type Targets struct {
	Exe   string
	Names []string          // the targets it knows (lower case), aliases included
	Docs  map[string]string // target → summary, for the listing
	Deps  []Stamp
	Env   string
}

// Stamp is one file the binary was built from, as it was then. MTime -1
// is a file that must stay missing. A package's folder is stamped with the
// list of its Go files and of the files its embed patterns match (List),
// not its mtime: other files come and go there (an editor's, a build's)
// without changing the package.
type Stamp struct {
	Path     string
	Size     int64
	MTime    int64
	Dir      bool
	Patterns []string `json:",omitempty"` // the package's //go:embed patterns
	List     string   `json:",omitempty"`
}

// listing fingerprints what in dir makes up its package: the Go files
// (tests aside) and what the embed patterns match.
func listing(dir string, patterns []string) string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	for _, p := range patterns {
		matches, _ := filepath.Glob(filepath.Join(dir, p))
		for _, m := range matches {
			names = append(names, "embed:"+m)
		}
	}
	sort.Strings(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:12])
}

// HasMageTag reports whether a Go source file is a magefile (a mage build
// tag before its package clause).
func HasMageTag(src []byte) bool {
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

// Dir is where the targets of the magefiles in dir are kept.
func Dir(dir string) (string, error) {
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

// Ensure returns the compiled targets, building them when anything they
// were built from changed.
func Ensure(dir string, stderr io.Writer) (*Targets, error) {
	cache, err := Dir(dir)
	if err != nil {
		return nil, err
	}
	record := filepath.Join(cache, "record.json")
	if b, ok := Fresh(record); ok {
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
	if b, ok := Fresh(record); ok {
		return b, nil // another call built them while this one waited
	}
	return build(dir, cache, record, stderr)
}

// Fresh reads the record and checks every file it names.
func Fresh(record string) (*Targets, bool) {
	data, err := os.ReadFile(record)
	if err != nil {
		return nil, false
	}
	var b Targets
	if json.Unmarshal(data, &b) != nil || b.Env != buildEnv() {
		return nil, false
	}
	if _, err := os.Stat(b.Exe); err != nil {
		return nil, false
	}
	for _, f := range b.Deps {
		if f.Dir {
			if listing(f.Path, f.Patterns) != f.List {
				return nil, false // a file was added to or removed from a package
			}
			continue
		}
		st, err := os.Stat(f.Path)
		if f.MTime == -1 {
			if !errors.Is(err, os.ErrNotExist) {
				return nil, false // a file that was missing appeared
			}
			continue
		}
		if err != nil || st.ModTime().UnixNano() != f.MTime || st.Size() != f.Size {
			return nil, false
		}
	}
	return &b, true
}

func build(dir, cache, record string, stderr io.Writer) (*Targets, error) {
	exe := filepath.Join(cache, "targets")
	tmp := exe + ".new"
	code := mage.Invoke(mage.Invocation{Dir: dir, CompileOut: tmp, Stdout: stderr, Stderr: stderr})
	if code != 0 {
		return nil, fmt.Errorf("compiling the magefiles in %s failed", dir)
	}
	if err := os.Rename(tmp, exe); err != nil {
		return nil, err
	}
	b := &Targets{Exe: exe, Env: buildEnv(), Docs: map[string]string{}}
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
func dependencies(dir string) ([]Stamp, error) {
	magefiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []string
	for _, m := range magefiles {
		if data, err := os.ReadFile(m); err == nil && HasMageTag(data) {
			files = append(files, filepath.Base(m))
		}
	}
	args := append([]string{"list", "-deps", "-tags", "mage", "-e", "-json=Dir,GoFiles,CgoFiles,EmbedFiles,EmbedPatterns,Module,Standard"}, files...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list the magefiles' packages: %w", err)
	}
	paths := map[string]bool{}
	dirs := map[string][]string{} // package folder → its embed patterns
	for _, m := range magefiles {
		paths[absPath(m)] = true
	}
	dirs[absPath(dir)] = nil
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			Dir                           string
			GoFiles, CgoFiles, EmbedFiles []string
			EmbedPatterns                 []string
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
		dirs[p.Dir] = append(dirs[p.Dir], p.EmbedPatterns...)
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
	var stamps []Stamp
	for p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			stamps = append(stamps, Stamp{Path: p, MTime: -1}) // must stay missing
			continue
		}
		stamps = append(stamps, Stamp{Path: p, Size: st.Size(), MTime: st.ModTime().UnixNano()})
	}
	for d, patterns := range dirs {
		stamps = append(stamps, Stamp{Path: d, Dir: true, Patterns: patterns, List: listing(d, patterns)})
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
