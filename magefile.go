//go:build mage

// Targets that run a self-hosted Docker Compose stack from a laptop; variables: SERVER, DIR, SERVICE, COMMAND, SNAPSHOT, OPTIONS.
//
// The stack's targets come from package targets, as in any stack
// repository; this file adds the tool's own development targets (the test
// environment and the benchmarks) and the Makefile's hyphenated names.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/backupbench"
	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/internal/uploadbench"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"

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
	"bench-render":     BenchRender,
	"bench-upload":     BenchUpload,
	"bench-backup":     BenchBackup,
}

// The integration tests need their components: test and test-integration provision them first.
func init() {
	targets.PrepareTests(func(ctx context.Context) error { return provision.Ensure(ctx, os.Stdout) })
}

// Testenv provisions what integration tests need (Compose v2, test images, sshd, restic, Jinja2); fast when present.
func Testenv(ctx context.Context) error {
	return provision.Ensure(ctx, os.Stdout)
}

// BenchUpload compares push-files with `rsync -a --delete` on a generated tree over the loopback sshd (LATENCY=40ms: each way, RUNS=5).
func BenchUpload(ctx context.Context) error {
	var latency time.Duration
	if v := os.Getenv("LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("LATENCY=%q is not a duration (e.g. 40ms)", v)
		}
		latency = d
	}
	runs, _ := strconv.Atoi(os.Getenv("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return uploadbench.Run(ctx, os.Stdout, uploadbench.Options{Module: module, Runs: runs, Latency: latency})
}

// BenchBackup compares the project's backup and restore with doing the same by hand (BENCH_MB=300: the database's size, RUNS=3).
func BenchBackup(ctx context.Context) error {
	mb, _ := strconv.Atoi(os.Getenv("BENCH_MB"))
	runs, _ := strconv.Atoi(os.Getenv("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return backupbench.Run(ctx, os.Stdout, backupbench.Options{Module: module, MB: mb, Runs: runs})
}

// BenchRender compares the whole `go tool mage render` process with a plain Python Jinja2 render of the same tree.
func BenchRender(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "selfhosted-bench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	const templates, runs = 180, 10
	if err := render.WriteBenchTree(dir, templates); err != nil {
		return err
	}
	script, err := render.PythonBenchScript(dir)
	if err != nil {
		return err
	}
	self, err := os.Getwd()
	if err != nil {
		return err
	}
	os.Setenv("CLOUDFLARE_IPS", "173.245.48.0/20,103.21.244.0/22,2400:cb00::/32")
	timings, err := render.CompareProcesses(ctx, dir, runs, map[string]run.Command{
		"go tool mage render": {Args: []string{"go", "tool", "mage", "-w", dir, "render"}, Dir: self},
		"python3 jinja2":      {Args: []string{"/usr/bin/python3", script}},
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d templates, median of %d warm runs each:\n", templates, runs)
	byName := map[string]time.Duration{}
	for _, t := range timings {
		byName[t.Name] = t.Median
		fmt.Printf("  %-22s %8.1f ms\n", t.Name, float64(t.Median.Microseconds())/1000)
	}
	fmt.Printf("go tool mage render is %.1fx faster than the Python process\n", float64(byName["python3 jinja2"])/float64(byName["go tool mage render"]))
	return nil
}
