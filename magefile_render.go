//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/renderbench"
	"github.com/selfhosted-go/selfhosted/pkg/render"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Render renders every *.j2 template under services/ to the same path minus .j2, and prints each file written.
func Render(ctx context.Context) error {
	opts := render.Options{Environ: os.Environ(), Warnings: os.Stderr}
	if v := variable("CLOUDFLARE_IPS"); v != "" {
		ips, err := render.ParseCloudflareIPs(v)
		if err != nil {
			return fmt.Errorf("CLOUDFLARE_IPS: %w", err)
		}
		opts.CloudflareIPs = ips
	}
	written, err := render.Tree(ctx, opts)
	for _, f := range written {
		fmt.Println(f)
	}
	return err
}

// BenchRender compares the whole `go tool mage render` process with a plain Python Jinja2 render of the same tree.
func BenchRender(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "selfhosted-bench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	const templates, runs = 180, 10
	if err := renderbench.WriteTree(dir, templates); err != nil {
		return err
	}
	script, err := renderbench.PythonScript(dir)
	if err != nil {
		return err
	}
	self, err := os.Getwd()
	if err != nil {
		return err
	}
	// All read Cloudflare's ranges from CLOUDFLARE_IPS: no network in a benchmark.
	os.Setenv("CLOUDFLARE_IPS", "173.245.48.0/20,103.21.244.0/22,2400:cb00::/32")
	mage := []string{"go", "tool", "mage", "-w", dir, "render"}
	timings, err := renderbench.CompareProcesses(ctx, dir, runs, map[string]run.Command{
		"go tool mage render": {Args: mage, Dir: self},
		// mage runs `go build` on the magefile at every run unless told to
		// trust its cached binary: that check is most of the time above.
		"(MAGEFILE_HASHFAST=1)": {Args: mage, Dir: self, Env: []string{"MAGEFILE_HASHFAST=1"}},
		"python3 jinja2":        {Args: []string{"/usr/bin/python3", script}},
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
	if fast, ok := byName["(MAGEFILE_HASHFAST=1)"]; ok {
		fmt.Printf("with MAGEFILE_HASHFAST=1 (mage reuses its compiled magefile): %.1fx faster than the Python process\n", float64(byName["python3 jinja2"])/float64(fast))
	}
	goTime, pyTime := byName["go tool mage render"], byName["python3 jinja2"]
	fmt.Printf("go tool mage render is %.1fx faster than the Python process (target: at least 2x)\n", float64(pyTime)/float64(goTime))
	return nil
}
