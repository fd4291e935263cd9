package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// The stack linter enforces the old README's checklists. Each rule is a
// function over the loaded stack returning findings; to add one, write a
// func(*Stack) []Finding in a lint_<topic>.go file and append it to rules.

// Labels that opt a service out of a rule, each for a documented reason.
const (
	// NoAuthLabel: a web-facing service that must be reachable without SSO
	// (the SSO portal itself, a public status page, webhooks).
	NoAuthLabel = "selfhosted.lint.no-auth"
	// NoHealthcheckLabel: an image that can't have a healthcheck (no shell
	// or probe tool inside, e.g. a FROM scratch image).
	NoHealthcheckLabel = "selfhosted.lint.no-healthcheck"
	// OneShotLabel: a service that runs a task and exits (migrations,
	// one-off jobs); it needs no restart policy nor healthcheck.
	OneShotLabel = "selfhosted.lint.one-shot"
)

// Backup labels (see package backup): the linter checks that every volume
// is either backed up as files or excluded by a service that dumps it.
const (
	BackupDumpLabel    = "selfhosted.backup.dump"
	BackupRestoreLabel = "selfhosted.backup.restore"
	BackupExcludeLabel = "selfhosted.backup.exclude"
	BackupStopLabel    = "selfhosted.backup.stop"
)

// PublicNetwork is the network Traefik reaches web-facing services on.
const PublicNetwork = "public"

type rule func(*Stack) []Finding

var rules = []rule{
	lintRestart,
	lintNetworks,
	lintWebFacing,
	lintHealthchecks,
	lintDependsOn,
	lintTraefikNetwork,
	lintExternalNetworks,
	lintEnvExample,
	lintBackupVolumes,
}

// Lint runs every rule and returns the findings sorted by file and service.
func Lint(s *Stack) []Finding {
	var all []Finding
	for _, r := range rules {
		all = append(all, r(s)...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].File != all[j].File {
			return all[i].File < all[j].File
		}
		return all[i].Service < all[j].Service
	})
	return all
}

// HasErrors reports whether any finding is an error.
func HasErrors(findings []Finding) bool {
	for _, f := range findings {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// services returns the stack's services sorted by name.
func (s *Stack) services() []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, svc := range s.Model.Services {
		out = append(out, svc)
	}
	for _, svc := range s.Model.DisabledServices {
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Stack) finding(sev Severity, svc, msg, fix string) Finding {
	file := s.Sources[svc]
	if file == "" && len(s.Project.Files) > 0 {
		file = s.Project.Files[0]
	}
	return Finding{Severity: sev, File: file, Service: svc, Message: msg, Fix: fix}
}

func labelTrue(svc types.ServiceConfig, label string) bool {
	return strings.EqualFold(svc.Labels[label], "true")
}

func oneShot(svc types.ServiceConfig) bool {
	return labelTrue(svc, OneShotLabel)
}

func lintRestart(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		if oneShot(svc) {
			continue
		}
		policy := svc.Restart
		if policy == "" && svc.Deploy != nil && svc.Deploy.RestartPolicy != nil {
			policy = svc.Deploy.RestartPolicy.Condition
		}
		if policy == "" || policy == "no" {
			out = append(out, s.finding(Error, svc.Name, "no restart policy: it stays down after a crash or a reboot",
				"add `restart: unless-stopped` (or label "+OneShotLabel+"=true for a task that exits)"))
		}
	}
	return out
}

func lintNetworks(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		if svc.NetworkMode != "" {
			continue
		}
		if _, ok := s.Raw[svc.Name]["networks"]; !ok {
			out = append(out, s.finding(Error, svc.Name, "no explicit networks: it lands on the implicit default network",
				"add `networks: [private]` (and `public` if Traefik must reach it)"))
		}
	}
	return out
}

// routers returns the Traefik HTTP routers and services named in labels.
func traefikNames(labels types.Labels, kind string) []string {
	seen := map[string]bool{}
	prefix := "traefik.http." + kind + "."
	for k := range labels {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if name, _, ok := strings.Cut(rest, "."); ok {
				seen[name] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lintWebFacing(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		if !labelTrue(svc, "traefik.enable") {
			continue
		}
		add := func(msg, fix string) { out = append(out, s.finding(Error, svc.Name, msg, fix)) }
		routers := traefikNames(svc.Labels, "routers")
		if len(routers) == 0 {
			add("web-facing (traefik.enable=true) but no Traefik router",
				fmt.Sprintf("add label traefik.http.routers.%s.rule=Host(`%s.example.com`)", svc.Name, svc.Name))
		}
		for _, r := range routers {
			key := "traefik.http.routers." + r + "."
			if svc.Labels[key+"rule"] == "" {
				add("router "+r+" has no rule", "add label "+key+"rule=Host(`…`)")
			}
			if svc.Labels[key+"entrypoints"] == "" {
				add("router "+r+" has no entrypoint", "add label "+key+"entrypoints=websecure")
			}
			if svc.Labels[key+"tls.certresolver"] == "" {
				add("router "+r+" has no TLS certificate resolver", "add label "+key+"tls.certresolver=letsencrypt")
			}
			if !labelTrue(svc, NoAuthLabel) && !strings.Contains(svc.Labels[key+"middlewares"], "authelia") {
				add("router "+r+" is not behind the Authelia middleware",
					"add label "+key+"middlewares=authelia@docker (or label "+NoAuthLabel+"=true for a service that must be public, with a comment saying why)")
			}
		}
		ports := false
		for _, name := range traefikNames(svc.Labels, "services") {
			if svc.Labels["traefik.http.services."+name+".loadbalancer.server.port"] != "" {
				ports = true
			}
		}
		if !ports {
			add("no load-balancer port: Traefik would guess the container port",
				fmt.Sprintf("add label traefik.http.services.%s.loadbalancer.server.port=<port>", svc.Name))
		}
		if _, ok := svc.Networks[PublicNetwork]; !ok {
			add("web-facing but not on the "+PublicNetwork+" network: Traefik can't reach it", "add `"+PublicNetwork+"` to its networks")
		}
	}
	return out
}

func lintHealthchecks(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		if oneShot(svc) || labelTrue(svc, NoHealthcheckLabel) {
			continue
		}
		if svc.HealthCheck == nil || svc.HealthCheck.Disable || len(svc.HealthCheck.Test) == 0 {
			out = append(out, s.finding(Error, svc.Name, "no healthcheck: dependents can't wait for it and failures go unnoticed",
				"add a `healthcheck:` (or label "+NoHealthcheckLabel+"=true when the image has no way to probe itself)"))
		}
	}
	return out
}

func hasHealthcheck(svc types.ServiceConfig) bool {
	return svc.HealthCheck != nil && !svc.HealthCheck.Disable && len(svc.HealthCheck.Test) > 0
}

func lintDependsOn(s *Stack) []Finding {
	var out []Finding
	byName := map[string]types.ServiceConfig{}
	for _, svc := range s.services() {
		byName[svc.Name] = svc
	}
	for _, svc := range s.services() {
		deps := make([]string, 0, len(svc.DependsOn))
		for d := range svc.DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			target, ok := byName[d]
			if !ok {
				out = append(out, s.finding(Error, svc.Name, "depends_on names "+d+", which is not a service of the stack",
					"fix the name or remove it from depends_on"))
				continue
			}
			if hasHealthcheck(target) && svc.DependsOn[d].Condition != types.ServiceConditionHealthy {
				out = append(out, s.finding(Error, svc.Name, "depends_on "+d+" does not wait for it to be healthy",
					"write `depends_on: {"+d+": {condition: service_healthy}}`"))
			}
		}
	}
	if cycle := dependencyCycle(byName); cycle != nil {
		out = append(out, s.finding(Error, cycle[0], "depends_on cycle: "+strings.Join(cycle, " → "),
			"remove one of these dependencies"))
	}
	return out
}

// dependencyCycle returns one cycle of the depends_on graph, or nil.
func dependencyCycle(services map[string]types.ServiceConfig) []string {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = visiting
		path = append(path, n)
		deps := make([]string, 0)
		for d := range services[n].DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			if _, ok := services[d]; !ok {
				continue
			}
			switch state[d] {
			case visiting:
				for i, p := range path {
					if p == d {
						return append(append([]string{}, path[i:]...), d)
					}
				}
			case unvisited:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if state[n] == unvisited {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// isTraefik reports whether the service runs Traefik itself (not an image
// from the traefik/ namespace such as traefik/whoami).
func isTraefik(svc types.ServiceConfig) bool {
	image := svc.Image
	if i := strings.LastIndex(image, "/"); i >= 0 && !strings.HasPrefix(image, "library/") && !strings.HasPrefix(image, "docker.io/library/") {
		return false
	} else if i >= 0 {
		image = image[i+1:]
	}
	name, _, _ := strings.Cut(image, ":")
	return name == "traefik"
}

func lintTraefikNetwork(s *Stack) []Finding {
	var out []Finding
	want := s.Project.Name + "_" + PublicNetwork
	for _, svc := range s.services() {
		if !isTraefik(svc) {
			continue
		}
		got := ""
		for _, arg := range svc.Command {
			if v, ok := strings.CutPrefix(arg, "--providers.docker.network="); ok {
				got = v
			}
		}
		if v, ok := svc.Environment["TRAEFIK_PROVIDERS_DOCKER_NETWORK"]; ok && v != nil {
			got = *v
		}
		if got == "" {
			got = s.traefikFileNetwork(svc)
		}
		switch {
		case got == "":
			out = append(out, s.finding(Error, svc.Name, "Traefik's docker provider network is not set: it may pick a network it can't reach",
				"set providers.docker.network to ${COMPOSE_PROJECT_NAME}_"+PublicNetwork+" in its static configuration (or --providers.docker.network=… in its command)"))
		case got != want:
			out = append(out, s.finding(Error, svc.Name, "Traefik watches network "+got+", but Compose names the public network "+want,
				"use `--providers.docker.network=${COMPOSE_PROJECT_NAME}_"+PublicNetwork+"`"))
		}
	}
	return out
}

func lintExternalNetworks(s *Stack) []Finding {
	var out []Finding
	names := make([]string, 0, len(s.Model.Networks))
	for n := range s.Model.Networks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if bool(s.Model.Networks[n].External) {
			out = append(out, Finding{Severity: Error, File: s.networkSource(n), Message: "network " + n + " is external: `down` won't remove it",
				Fix: "remove `external: true` and let Compose create it"})
		}
	}
	return out
}

// networkSource names the first file that declares network n.
func (s *Stack) networkSource(n string) string {
	if len(s.Project.Files) > 0 {
		return s.Project.Files[0]
	}
	return ""
}

// traefikFileNetwork reads providers.docker.network from the static
// configuration file bind-mounted at /etc/traefik/traefik.yml (rendered
// from its template before lint runs), or "".
func (s *Stack) traefikFileNetwork(svc types.ServiceConfig) string {
	for _, v := range svc.Volumes {
		if v.Type != types.VolumeTypeBind || (v.Target != "/etc/traefik/traefik.yml" && v.Target != "/etc/traefik/traefik.yaml") {
			continue
		}
		source := v.Source
		if !filepath.IsAbs(source) {
			source = filepath.Join(s.Root, source)
		}
		data, err := os.ReadFile(source)
		if err != nil {
			return ""
		}
		var static struct {
			Providers struct {
				Docker struct {
					Network string `yaml:"network"`
				} `yaml:"docker"`
			} `yaml:"providers"`
		}
		if yaml.Unmarshal(data, &static) == nil {
			return static.Providers.Docker.Network
		}
	}
	return ""
}
