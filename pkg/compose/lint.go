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

// PublicNetwork is the network Traefik reaches web-facing services on.
const PublicNetwork = "public"

type rule func(*Stack) []Finding

var rules = []rule{
	lintRestart,
	lintNetworks,
	lintWebFacing,
	lintSSO,
	lintHealthchecks,
	lintDependsOn,
	lintTraefikConfig,
	lintTraefikNetwork,
	lintExternalNetworks,
	lintEnvExample,
	lintBackupVolumes,
}

// Lint runs every rule and returns the findings sorted by file and service.
// The stack's LintConfigFile decides the severity of the newer rules
// (StrictRules); an unreadable one is a finding of its own.
func Lint(s *Stack) []Finding {
	var all []Finding
	for _, r := range rules {
		all = append(all, r(s)...)
	}
	cfg, err := ReadLintConfig(s.Root)
	if err != nil {
		all = append(all, Finding{Severity: Error, Rule: RuleLintConfig, File: LintConfigFile, Message: err.Error(),
			Fix: "write `strict: true` (or false), the only setting"})
	}
	for i, f := range all {
		if cfg.Strict && f.Severity == Warning && strictRules[f.Rule] {
			all[i].Severity = Error
		}
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

func (s *Stack) finding(sev Severity, rule, svc, subject, msg, fix string) Finding {
	file := s.Sources[svc]
	if file == "" && len(s.Project.Files) > 0 {
		file = s.Project.Files[0]
	}
	return Finding{Severity: sev, Rule: rule, File: file, Service: svc, Subject: subject, Message: msg, Fix: fix}
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
			out = append(out, s.finding(Error, RuleRestart, svc.Name, "", "no restart policy: it stays down after a crash or a reboot",
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
			out = append(out, s.finding(Error, RuleNetworks, svc.Name, "", "no explicit networks: it lands on the implicit default network",
				"add `networks: [private]` (and `public` if Traefik must reach it)"))
		}
	}
	return out
}

// traefikObjects returns the Traefik HTTP objects of one kind (routers,
// middlewares, services) that labels define: name → property → value. Like
// Traefik, it reads label keys case-insensitively (forwardAuth is
// forwardauth) and keeps the names as written; properties are lower case.
func traefikObjects(labels types.Labels, kind string) map[string]map[string]string {
	prefix := "traefik.http." + kind + "."
	out := map[string]map[string]string{}
	for k, v := range labels {
		if len(k) <= len(prefix) || !strings.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		name, prop, ok := strings.Cut(k[len(prefix):], ".")
		if !ok {
			continue
		}
		if out[name] == nil {
			out[name] = map[string]string{}
		}
		out[name][strings.ToLower(prop)] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lintWebFacing(s *Stack) []Finding {
	var out []Finding
	for _, svc := range s.services() {
		if !labelTrue(svc, "traefik.enable") {
			continue
		}
		add := func(rule, subject, msg, fix string) {
			out = append(out, s.finding(Error, rule, svc.Name, subject, msg, fix))
		}
		routers := traefikObjects(svc.Labels, "routers")
		if len(routers) == 0 {
			add(RuleTraefikRouter, "", "web-facing (traefik.enable=true) but no Traefik router",
				fmt.Sprintf("add label traefik.http.routers.%s.rule=Host(`%s.example.com`)", svc.Name, svc.Name))
		}
		for _, r := range sortedKeys(routers) {
			key := "traefik.http.routers." + r + "."
			if routers[r]["rule"] == "" {
				add(RuleRouterRule, r, "router "+r+" has no rule", "add label "+key+"rule=Host(`…`)")
			}
			if routers[r]["entrypoints"] == "" {
				add(RuleRouterEntrypoint, r, "router "+r+" has no entrypoint", "add label "+key+"entrypoints=websecure")
			}
			if routers[r]["tls.certresolver"] == "" {
				add(RuleRouterTLS, r, "router "+r+" has no TLS certificate resolver", "add label "+key+"tls.certresolver=letsencrypt")
			}
		}
		ports := false
		for _, props := range traefikObjects(svc.Labels, "services") {
			if props["loadbalancer.server.port"] != "" {
				ports = true
			}
		}
		if !ports {
			add(RuleLoadBalancerPort, "", "no load-balancer port: Traefik would guess the container port",
				fmt.Sprintf("add label traefik.http.services.%s.loadbalancer.server.port=<port>", svc.Name))
		}
		if _, ok := svc.Networks[PublicNetwork]; !ok {
			add(RulePublicNetwork, "", "web-facing but not on the "+PublicNetwork+" network: Traefik can't reach it", "add `"+PublicNetwork+"` to its networks")
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
		if !hasHealthcheck(svc) {
			out = append(out, s.finding(Warning, RuleHealthcheck, svc.Name, "", "no healthcheck: dependents can't wait for it and failures go unnoticed",
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
		for _, d := range sortedKeys(svc.DependsOn) {
			target, ok := byName[d]
			if !ok {
				out = append(out, s.finding(Error, RuleDependsOnMissing, svc.Name, d, "depends_on names "+d+", which is not a service of the stack",
					"fix the name or remove it from depends_on"))
				continue
			}
			if hasHealthcheck(target) && svc.DependsOn[d].Condition != types.ServiceConditionHealthy {
				out = append(out, s.finding(Warning, RuleDependsOnHealthy, svc.Name, d, "depends_on "+d+" does not wait for it to be healthy",
					"write `depends_on: {"+d+": {condition: service_healthy}}`"))
			}
		}
	}
	if cycle := dependencyCycle(byName); cycle != nil {
		out = append(out, s.finding(Error, RuleDependsOnCycle, cycle[0], strings.Join(cycle, ","), "depends_on cycle: "+strings.Join(cycle, " → "),
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
		for _, d := range sortedKeys(services[n].DependsOn) {
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
	for _, n := range sortedKeys(services) {
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
	want, hint := s.Project.Name+"_"+PublicNetwork, " (${COMPOSE_PROJECT_NAME}_"+PublicNetwork+")"
	// Compose doesn't prefix a network given its own name, nor an external one.
	if n, ok := s.Model.Networks[PublicNetwork]; ok && n.Name != "" {
		want, hint = n.Name, ""
	} else if ok && bool(n.External) {
		want, hint = PublicNetwork, ""
	}
	for _, t := range s.traefiks() {
		if t.unreadable {
			continue // lintTraefikConfig says why
		}
		got := t.static["providers.docker.network"]
		switch {
		case got == "":
			out = append(out, t.finding(Error, RuleTraefikNetwork, "providers.docker.network",
				"Traefik's docker provider network is not set (static configuration: "+t.source+"): it may pick a network it can't reach",
				t.howToSet("providers.docker.network", want)+hint))
		case got != want:
			out = append(out, t.finding(Error, RuleTraefikNetwork, "providers.docker.network",
				"Traefik watches network "+got+" (static configuration: "+t.source+"), but Compose names the public network "+want,
				t.howToSet("providers.docker.network", want)+hint))
		}
	}
	return out
}

func lintExternalNetworks(s *Stack) []Finding {
	var out []Finding
	for _, n := range sortedKeys(s.Model.Networks) {
		if bool(s.Model.Networks[n].External) {
			out = append(out, Finding{Severity: Warning, Rule: RuleExternalNetwork, File: s.networkSource(n), Subject: n,
				Message: "network " + n + " is external: `down` won't remove it",
				Fix:     "remove `external: true` and let Compose create it"})
		}
	}
	return out
}

// networkSource names the file that declares network n: the one that
// makes it external when one does, else the first.
func (s *Stack) networkSource(n string) string {
	first := ""
	for _, f := range s.Project.Files {
		data, err := os.ReadFile(filepath.Join(s.Root, f))
		if err != nil {
			continue
		}
		var doc struct {
			Networks map[string]struct {
				External any `yaml:"external"`
			} `yaml:"networks"`
		}
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		if decl, ok := doc.Networks[n]; ok {
			if decl.External != nil {
				return f
			}
			if first == "" {
				first = f
			}
		}
	}
	if first == "" && len(s.Project.Files) > 0 {
		first = s.Project.Files[0]
	}
	return first
}
