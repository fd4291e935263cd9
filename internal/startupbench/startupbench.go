// Package startupbench measures what `go tool mage <target>` costs before
// the target's own work, as whole processes: the same target run through
// `go tool mage`, through the front binary alone (without `go tool`), as
// the compiled targets binary (the target's own work and nothing else),
// and through upstream mage (a `go build` check at every call) with and
// without MAGEFILE_HASHFAST. The differences say where the time goes.
package startupbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/magecache"
	"github.com/selfhosted-go/selfhosted/internal/procbench"
)

// Goals of issue 11 for a warm call, before the target's own work.
const (
	GoalTime   = 150 * time.Millisecond
	GoalMemory = 100 << 20
)

// Options tune Run.
type Options struct {
	Module string // this module's folder
	Runs   int    // default 10
}

// Run prints the comparison.
func Run(ctx context.Context, out io.Writer, o Options) error {
	if o.Runs == 0 {
		o.Runs = 10
	}
	tmp, err := os.MkdirTemp("", "selfhosted-bench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	front := filepath.Join(tmp, "mage")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", front, "./cmd/mage").CombinedOutput(); err != nil {
		return fmt.Errorf("build the front: %v: %s", err, b)
	}
	// `server` resolves SERVER through an ssh config and prints it: a
	// target whose own work is a few milliseconds, with no connection.
	config := filepath.Join(tmp, "ssh_config")
	if err := os.WriteFile(config, []byte("Host bench\n  HostName 127.0.0.1\n  User deploy\n"), 0o600); err != nil {
		return err
	}
	env := []string{"SERVER=bench", "SSH_CONFIG=" + config}
	// The go command's own floor: `go run` of a hello world in a module of
	// its own costs what any `go tool` costs before its tool starts.
	hello := filepath.Join(tmp, "hello")
	if err := os.MkdirAll(hello, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "main.go"), []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"), 0o644); err != nil {
		return err
	}
	// Compile the targets (and check they run) before timing.
	if b, err := exec.CommandContext(ctx, front, "-l").CombinedOutput(); err != nil {
		return fmt.Errorf("compile the targets: %v: %s", err, b)
	}
	dir, err := magecache.Dir(o.Module)
	if err != nil {
		return err
	}
	targets, ok := magecache.Fresh(filepath.Join(dir, "record.json"))
	if !ok {
		return fmt.Errorf("the compiled targets in %s are not fresh after a build", dir)
	}

	cases := []procbench.Case{
		{Name: "go tool mage server", Args: []string{"go", "tool", "mage", "server"}},
		{Name: "go tool mage -l", Args: []string{"go", "tool", "mage", "-l"}},
		{Name: "front binary: mage server", Args: []string{front, "server"}},
		{Name: "targets binary: server", Args: []string{targets.Exe, "server"}},
		// -gocmd is upstream mage's flag: the front hands the call over.
		{Name: "upstream mage server", Args: []string{"go", "tool", "mage", "-gocmd", "go", "server"}},
		{Name: "upstream, HASHFAST=1", Args: []string{"go", "tool", "mage", "-gocmd", "go", "server"}, Env: []string{"MAGEFILE_HASHFAST=1"}},
		{Name: "go run hello (go's floor)", Args: []string{"go", "run", "."}, Dir: hello},
	}
	for i := range cases {
		if cases[i].Dir == "" {
			cases[i].Dir = o.Module
		}
		cases[i].Env = append(cases[i].Env, env...)
	}
	results, err := procbench.Alternating(ctx, o.Runs, cases)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "whole processes, median of %d alternating warm runs each:\n", o.Runs)
	for _, r := range results {
		fmt.Fprintf(out, "  %-28s %8.1f ms  %6.1f MiB peak\n", r.Name, procbench.MS(r.Median), procbench.MiB(r.MaxRSS))
	}
	byName := map[string]procbench.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	own := byName["targets binary: server"].Median
	whole := byName["go tool mage server"]
	overhead := whole.Median - own
	fmt.Fprintf(out, "\nbefore the target's own work, `go tool mage server` spends %.1f ms (goal ≤ %.0f ms) and peaks at %.1f MiB (goal ≤ %.0f MiB):\n",
		procbench.MS(overhead), procbench.MS(GoalTime), procbench.MiB(whole.MaxRSS), procbench.MiB(GoalMemory))
	goTool := whole.Median - byName["front binary: mage server"].Median
	fmt.Fprintf(out, "  `go tool` finding and starting the front: %6.1f ms (a hello world's `go run` alone: %.1f ms)\n", procbench.MS(goTool), procbench.MS(byName["go run hello (go's floor)"].Median))
	fmt.Fprintf(out, "  the front (freshness check, exec):        %6.1f ms\n", procbench.MS(byName["front binary: mage server"].Median-own))
	fmt.Fprintf(out, "upstream mage spends %.1f ms before the same work (%.1f ms with MAGEFILE_HASHFAST=1, which misses changes in pkg/)\n",
		procbench.MS(byName["upstream mage server"].Median-own), procbench.MS(byName["upstream, HASHFAST=1"].Median-own))

	// In process: the freshness check alone.
	start := time.Now()
	const checks = 100
	for i := 0; i < checks; i++ {
		if _, ok := magecache.Fresh(filepath.Join(dir, "record.json")); !ok {
			return fmt.Errorf("the compiled targets went stale during the benchmark")
		}
	}
	fmt.Fprintf(out, "in process, the freshness check of %d files takes %.2f ms\n", len(targets.Deps), procbench.MS(time.Since(start)/checks))
	return nil
}
