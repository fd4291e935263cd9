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
//     built from changed (see internal/magecache): a warm call stats about
//     a hundred files and execs the binary, where upstream mage runs `go
//     build` of the whole link graph at every call.
//
// Every other flag (-init, -clean, -compile, -version, -f, -gocmd, ...) is
// upstream mage's, unchanged.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/magefile/mage/mage"

	"github.com/selfhosted-go/selfhosted/internal/catalog"
	"github.com/selfhosted-go/selfhosted/internal/magecache"
	"github.com/selfhosted-go/selfhosted/internal/quietpipe"
)

func main() {
	quietpipe.Install()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

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
	b, err := magecache.Ensure(inv.dir, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	if inv.list {
		catalog.List(stdout, extra(b))
		return 0
	}
	names := make([]string, len(inv.targets))
	for i, t := range inv.targets {
		name, ok := resolve(b, t)
		if !ok {
			fmt.Fprintf(stderr, "Unknown target %q.%s\n", t, didYouMean(t, b))
			return 2
		}
		names[i] = name
	}
	return execTargets(b, inv, names, stderr)
}

func hasMagefiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if data, err := os.ReadFile(m); err == nil && magecache.HasMageTag(data) {
			return true
		}
	}
	return false
}

func didYouMean(name string, b *magecache.Targets) string {
	known := catalog.Names()
	for _, n := range b.Names {
		if _, ok := catalog.Find(n); !ok {
			known = append(known, n) // the stack's own targets
		}
	}
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
		b, err := magecache.Ensure(inv.dir, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		real, ok := resolve(b, name)
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

func resolve(b *magecache.Targets, name string) (string, bool) {
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
func extra(b *magecache.Targets) map[string]string {
	out := map[string]string{}
	for name, doc := range b.Docs {
		if _, ok := catalog.Find(name); !ok {
			out[name] = doc
		}
	}
	return out
}

func execTargets(b *magecache.Targets, inv invocation, names []string, stderr io.Writer) int {
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
