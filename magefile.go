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
	"github.com/selfhosted-go/selfhosted/internal/renderbench"
	"github.com/selfhosted-go/selfhosted/internal/startupbench"
	"github.com/selfhosted-go/selfhosted/internal/uploadbench"

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
	"bench-startup":    BenchStartup,
}

// The integration tests need their components: test and test-integration provision them first.
func init() {
	targets.PrepareTests(func(ctx context.Context) error { return provision.Ensure(ctx, os.Stdout) })
}

// Testenv provisions what integration tests need (Compose v2, test images, sshd, restic, Jinja2); fast when present.
func Testenv(ctx context.Context) error {
	return provision.Ensure(ctx, os.Stdout)
}

// BenchUpload compares push-files and deploy with rsync and ssh over the loopback sshd (LATENCY=40ms: each way, RUNS=5, BENCH_USER: the login).
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
	return uploadbench.Run(ctx, os.Stdout, uploadbench.Options{Module: module, Runs: runs, Latency: latency, User: os.Getenv("BENCH_USER")})
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

// BenchRender compares the whole `go tool mage render` process with a plain Python Jinja2 render of the same tree (RUNS=10).
func BenchRender(ctx context.Context) error {
	runs, _ := strconv.Atoi(os.Getenv("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return renderbench.Run(ctx, os.Stdout, renderbench.Options{Module: module, Runs: runs})
}

// BenchStartup times `go tool mage` from start to the target's own work, against the compiled targets and upstream mage (RUNS=10).
func BenchStartup(ctx context.Context) error {
	runs, _ := strconv.Atoi(os.Getenv("RUNS"))
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	return startupbench.Run(ctx, os.Stdout, startupbench.Options{Module: module, Runs: runs})
}
