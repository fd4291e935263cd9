// Package renderbench holds what `go tool mage bench-render` and the
// render benchmarks share: a generated tree of realistic templates, the
// plain Python Jinja2 renderer used as the baseline, and a whole-process
// timer.
package renderbench

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/selfhosted-go/selfhosted/internal/procbench"
)

// Template is a realistic compose template: loops, filters, tests,
// whitespace control and Cloudflare's ranges. {{N}} is the service number.
const Template = `{# service {{N}} #}
services:
  app{{N}}:
    image: "registry.example.com/app{{N}}:{{ env.APP_VERSION | default('1.0.0') }}"
    restart: unless-stopped
    environment:
      DOMAIN: {{ env.DOMAIN | tojson }}
      REPLICAS: {{ env.REPLICAS | int * 2 }}
      {% if env.DEBUG is defined and env.DEBUG == 'true' %}
      LOG_LEVEL: debug
      {% else %}
      LOG_LEVEL: info
      {% endif %}
    labels:
      - "traefik.enable=true"
      - "traefik.http.routers.app{{N}}.rule=Host(` + "`app{{N}}.{{ env.DOMAIN }}`" + `)"
      - "traefik.http.routers.app{{N}}.middlewares=authelia@docker"
      {% for ip in cloudflare_ips %}
      - "allow.{{ loop.index }}={{ ip }}"
      {% endfor %}
    networks:
    {% for net in env.NETWORKS.split(',') %}
      - {{ net.strip() | lower }}
    {% endfor %}
    healthcheck:
      test: ["CMD", "wget", "-q", "--spider", "http://localhost:{{ 8000 + {{N}} }}/health"]
`

// Source is Template for service n.
func Source(n int) string { return strings.ReplaceAll(Template, "{{N}}", fmt.Sprint(n)) }

// Env is the .env of the generated tree.
const Env = "COMPOSE_PROJECT_NAME=bench\nDOMAIN=example.com\nREPLICAS=2\nNETWORKS=Public, Private\nDEBUG=false\n"

// WriteTree writes n templates (services/appN/docker-compose.appN.yml.j2)
// and a .env into dir.
func WriteTree(dir string, n int) error {
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(Env), 0o600); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		folder := filepath.Join(dir, "services", fmt.Sprintf("app%d", i))
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("docker-compose.app%d.yml.j2", i)), []byte(Source(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

//go:embed bench_render.py
var python string

// PythonScript writes the plain Jinja2 renderer used as the baseline into
// dir and returns its path.
func PythonScript(dir string) (string, error) {
	path := filepath.Join(dir, "bench_render.py")
	return path, os.WriteFile(path, []byte(python), 0o644)
}

// Options tune Run.
type Options struct {
	Module    string // this module's folder, where `go tool mage` runs
	Templates int    // default 180
	Runs      int    // default 10
}

// Run compares the whole `go tool mage render` process with a plain Python
// Jinja2 process rendering the same tree, and prints the medians.
func Run(ctx context.Context, out io.Writer, o Options) error {
	if o.Templates == 0 {
		o.Templates = 180
	}
	if o.Runs == 0 {
		o.Runs = 10
	}
	dir, err := os.MkdirTemp("", "selfhosted-bench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := WriteTree(dir, o.Templates); err != nil {
		return err
	}
	script, err := PythonScript(dir)
	if err != nil {
		return err
	}
	// Both read Cloudflare's ranges from CLOUDFLARE_IPS: no network in a benchmark.
	env := []string{"CLOUDFLARE_IPS=173.245.48.0/20,103.21.244.0/22,2400:cb00::/32"}
	results, err := procbench.Alternating(ctx, o.Runs, []procbench.Case{
		{Name: "go tool mage render", Args: []string{"go", "tool", "mage", "-w", dir, "render"}, Dir: o.Module, Env: env},
		{Name: "python3 jinja2", Args: []string{"/usr/bin/python3", script}, Dir: dir, Env: env},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d templates, median of %d alternating warm runs each:\n", o.Templates, o.Runs)
	for _, r := range results {
		fmt.Fprintf(out, "  %-22s %8.1f ms  %6.1f MiB\n", r.Name, procbench.MS(r.Median), procbench.MiB(r.MaxRSS))
	}
	fmt.Fprintf(out, "go tool mage render is %.1fx faster than the Python process (goal: at least 2x)\n", float64(results[1].Median)/float64(results[0].Median))
	return nil
}
