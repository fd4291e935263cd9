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
	"sort"
	"strings"
	"time"

	"github.com/selfhosted-go/selfhosted/pkg/run"
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
const Env = "DOMAIN=example.com\nREPLICAS=2\nNETWORKS=Public, Private\nDEBUG=false\n"

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

// Timing is the median wall time of one whole-process command.
type Timing struct {
	Name    string
	Command run.Command
	Median  time.Duration
	Runs    int
}

// CompareProcesses times each command runs times (after one warm-up run),
// in dir unless the command names its own, and returns the medians sorted
// by name.
func CompareProcesses(ctx context.Context, dir string, runs int, cmds map[string]run.Command) ([]Timing, error) {
	var out []Timing
	for name, cmd := range cmds {
		if cmd.Dir == "" {
			cmd.Dir = dir
		}
		var times []time.Duration
		for i := 0; i <= runs; i++ {
			start := time.Now()
			if err := (run.Local{}).Run(ctx, cmd, run.Streams{Stdout: io.Discard}); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if i > 0 { // the first run warms caches
				times = append(times, time.Since(start))
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		out = append(out, Timing{Name: name, Command: cmd, Median: times[len(times)/2], Runs: runs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
