package compose

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The SSO rule judges a router by what its middlewares are, not by their
// names: a router is behind the stack's SSO when, on each of its
// entrypoints, the entrypoint's middlewares (static configuration) followed
// by the router's own include a forwardAuth middleware whose address is a
// service of the stack, directly or inside a chain. Middlewares come from
// the docker provider (any service's labels) and the file provider (the
// dynamic configuration the Traefik service mounts); a name without
// @provider belongs to the provider of whatever names it, as in Traefik.
//
// A forwardAuth to an address outside the stack (a hosted SSO) protects the
// router as far as Traefik is concerned, but the linter can't check that
// service: it is a warning, not an error. The routers of the service a
// stack forwardAuth points at are its login portal: they are not checked.

// middleware is one HTTP middleware definition.
type middleware struct {
	name, provider string
	file, service  string // where it is defined
	forwardAuth    bool
	address        string // forwardAuth's address
	isChain        bool
	chain          []string // a chain's members, as written
}

func (m middleware) ref() string { return m.name + "@" + m.provider }

// middlewares is every middleware definition the stack's Traefik sees.
type middlewares struct {
	defs map[string]middleware // by name@provider
	// ignored are label definitions on services the docker provider
	// ignores (exposedByDefault=false without traefik.enable=true).
	ignored map[string]string // name@docker → service
	// visible providers are those whose every definition the linter read.
	visible map[string]bool
	traefik *traefik // nil when the stack runs no Traefik
}

// dockerSees reports whether Traefik's docker provider reads svc's labels.
func dockerSees(svc types.ServiceConfig, t *traefik) bool {
	enable, set := svc.Labels["traefik.enable"]
	if set {
		return strings.EqualFold(enable, "true")
	}
	return t == nil || !strings.EqualFold(t.static["providers.docker.exposedbydefault"], "false")
}

func (s *Stack) middlewares() *middlewares {
	m := &middlewares{defs: map[string]middleware{}, ignored: map[string]string{}, visible: map[string]bool{"docker": true, "internal": true}}
	if ts := s.traefiks(); len(ts) > 0 {
		m.traefik = ts[0]
	}
	for _, svc := range s.services() {
		for name, props := range traefikObjects(svc.Labels, "middlewares") {
			def := middleware{name: name, provider: "docker", file: s.Sources[svc.Name], service: svc.Name}
			if addr, ok := props["forwardauth.address"]; ok {
				def.forwardAuth, def.address = true, addr
			}
			if members, ok := props["chain.middlewares"]; ok {
				def.isChain, def.chain = true, splitList(members)
			}
			if !dockerSees(svc, m.traefik) {
				m.ignored[def.ref()] = svc.Name
				continue
			}
			if _, dup := m.defs[def.ref()]; !dup {
				m.defs[def.ref()] = def
			}
		}
	}
	if t := m.traefik; t != nil && !t.unreadable {
		// Without a file provider, Traefik has no middleware @file at all.
		m.visible["file"] = t.dynamic == nil || !t.dynamic.unreadable
		if t.dynamic != nil {
			for _, def := range t.dynamic.middlewares {
				m.defs[def.ref()] = def
			}
		}
	}
	return m
}

// qualify returns ref as name@provider, provider being the one of whatever
// names it when ref has none.
func qualify(ref, provider string) (name, prov string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, provider
}

// resolution is what a middleware reference resolves to.
type resolution int

const (
	defined resolution = iota
	undefined
	unknown // defined by a provider the linter can't read
)

func (m *middlewares) lookup(ref, provider string) (middleware, resolution) {
	name, prov := qualify(ref, provider)
	if def, ok := m.defs[name+"@"+prov]; ok {
		return def, defined
	}
	if prov == "internal" || !m.visible[prov] {
		return middleware{}, unknown
	}
	return middleware{}, undefined
}

// verdict is what a list of middlewares does for SSO.
type verdict struct {
	sso      []middleware // forwardAuth to a service of the stack
	external []middleware // forwardAuth elsewhere
	unsure   bool         // an undefined or unreadable middleware: it could have been the SSO
}

// judge walks refs (chains included) for forwardAuth middlewares.
func (s *Stack) judge(m *middlewares, refs []string, provider string, seen map[string]bool, v *verdict) {
	for _, ref := range refs {
		def, state := m.lookup(ref, provider)
		if state != defined {
			// Traefik's own (@internal) middlewares are no SSO; any other
			// unknown one could be.
			if _, prov := qualify(ref, provider); prov != "internal" {
				v.unsure = true
			}
			continue
		}
		if seen[def.ref()] {
			continue // a chain that includes itself: Traefik refuses it anyway
		}
		seen[def.ref()] = true
		if def.forwardAuth {
			if _, ok := s.stackHost(def.address); ok {
				v.sso = append(v.sso, def)
			} else {
				v.external = append(v.external, def)
			}
		}
		if def.isChain {
			s.judge(m, def.chain, def.provider, seen, v)
		}
	}
}

// stackHost returns the service that address points at, when its host is
// a service name, container name or network alias of the stack.
func (s *Stack) stackHost(address string) (string, bool) {
	if !strings.Contains(address, "://") {
		address = "http://" + address
	}
	u, err := url.Parse(address)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	host := u.Hostname()
	for _, svc := range s.services() {
		if strings.EqualFold(host, svc.Name) || (svc.ContainerName != "" && strings.EqualFold(host, svc.ContainerName)) {
			return svc.Name, true
		}
		for _, n := range svc.Networks {
			if n == nil {
				continue
			}
			for _, a := range n.Aliases {
				if strings.EqualFold(host, a) {
					return svc.Name, true
				}
			}
		}
	}
	return "", false
}

// entrypointMiddlewares returns the middlewares Traefik's static
// configuration puts on entrypoint ep.
func (t *traefik) entrypointMiddlewares(ep string) []string {
	return splitList(t.static["entrypoints."+strings.ToLower(ep)+".http.middlewares"])
}

// entrypoints returns the entrypoints the static configuration defines.
func (t *traefik) entrypoints() []string {
	seen := map[string]bool{}
	for k := range t.static {
		if rest, ok := strings.CutPrefix(k, "entrypoints."); ok {
			name, _, _ := strings.Cut(rest, ".")
			seen[name] = true
		}
	}
	return sortedKeys(seen)
}

// defaultEntrypoints returns the entrypoints of a router that names none:
// those marked asDefault (Traefik v3), else all of them.
func (t *traefik) defaultEntrypoints() []string {
	var marked []string
	for _, ep := range t.entrypoints() {
		if strings.EqualFold(t.static["entrypoints."+ep+".asdefault"], "true") {
			marked = append(marked, ep)
		}
	}
	if len(marked) > 0 {
		return marked
	}
	return t.entrypoints()
}

// stackSSO returns the forwardAuth middlewares to a service of the stack,
// docker ones first, for the fix of an unprotected router.
func (s *Stack) stackSSO(m *middlewares) []middleware {
	var out []middleware
	for _, def := range m.defs {
		if _, ok := s.stackHost(def.address); def.forwardAuth && ok {
			out = append(out, def)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].provider != out[j].provider {
			return out[i].provider == "docker"
		}
		return out[i].name < out[j].name
	})
	return out
}

func (s *Stack) describeSSO(def middleware) string {
	target, _ := s.stackHost(def.address)
	return def.ref() + " (a forwardAuth to " + target + ")"
}

func lintSSO(s *Stack) []Finding {
	m := s.middlewares()
	out := s.undefinedMiddlewares(m)
	known := s.stackSSO(m)
	// The SSO service's own routers serve its login portal, which must be
	// reachable without SSO.
	portal := map[string]bool{}
	for _, def := range known {
		target, _ := s.stackHost(def.address)
		portal[target] = true
	}
	for _, svc := range s.services() {
		if !labelTrue(svc, "traefik.enable") || labelTrue(svc, NoAuthLabel) || portal[svc.Name] {
			continue
		}
		routers := traefikObjects(svc.Labels, "routers")
		for _, r := range sortedKeys(routers) {
			if f, bad := s.routerSSO(m, known, svc, r, routers[r]); bad {
				out = append(out, f)
			}
		}
	}
	return out
}

// routerSSO judges one router; bad is false when it is behind the stack's
// SSO or the linter can't tell.
func (s *Stack) routerSSO(m *middlewares, known []middleware, svc types.ServiceConfig, r string, props map[string]string) (Finding, bool) {
	own := splitList(props["middlewares"])
	eps := splitList(props["entrypoints"])
	t := m.traefik
	if len(eps) == 0 && t != nil {
		eps = t.defaultEntrypoints()
	}
	if len(eps) == 0 {
		eps = []string{""}
	}
	var missing []string // entrypoints it is not protected on
	var external []middleware
	externalOnAll := true
	for _, ep := range eps {
		var refs []string
		if t != nil && ep != "" {
			refs = t.entrypointMiddlewares(ep)
		}
		v := verdict{}
		s.judge(m, append(append([]string{}, refs...), own...), "docker", map[string]bool{}, &v)
		switch {
		case len(v.sso) > 0:
		case v.unsure || (t != nil && t.unreadable):
			return Finding{}, false // the undefined-middleware finding, or Traefik's configuration, says more
		default:
			missing = append(missing, ep)
			external = append(external, v.external...)
			externalOnAll = externalOnAll && len(v.external) > 0
		}
	}
	if len(missing) == 0 {
		return Finding{}, false
	}
	key := "traefik.http.routers." + r + ".middlewares"
	optOut := " (or label " + NoAuthLabel + "=true for a service that must be public, with a comment saying why)"
	if externalOnAll {
		return s.finding(Warning, RuleSSOExternal, svc.Name, r,
			fmt.Sprintf("router %s is behind forwardAuth %s to %s, which is no service of the stack: the linter can't check that SSO", r, external[0].ref(), external[0].address),
			"point the forwardAuth at the stack's SSO service by its service name"+optOut), true
	}
	where := "its middlewares"
	if len(own) > 0 {
		where += " (" + strings.Join(own, ", ") + ")"
	}
	for _, ep := range missing {
		if ep == "" {
			continue
		}
		epRefs := "none"
		if t != nil && len(t.entrypointMiddlewares(ep)) > 0 {
			epRefs = strings.Join(t.entrypointMiddlewares(ep), ", ")
		}
		where += " or entrypoint " + ep + "'s (" + epRefs + ")"
	}
	msg := "router " + r + " is not behind SSO: none of " + where + " is a forwardAuth to a service of the stack"
	var fix string
	switch {
	case len(known) > 0:
		sso := known[0]
		msg += "; the stack's SSO is " + s.describeSSO(sso)
		value := sso.ref()
		if len(own) > 0 {
			value = strings.Join(append([]string{value}, own...), ",")
		}
		fix = "set label " + key + "=" + value + optOut
	default:
		fix = "define a forwardAuth middleware to the SSO service (e.g. label traefik.http.middlewares.authelia.forwardauth.address=http://authelia:9091/api/authz/forward-auth on Authelia) and add it to label " + key + optOut
	}
	return s.finding(Error, RuleRouterSSO, svc.Name, r, msg, fix), true
}

// undefinedMiddlewares reports every middleware reference (routers,
// entrypoints, chains) that no provider defines.
func (s *Stack) undefinedMiddlewares(m *middlewares) []Finding {
	var out []Finding
	check := func(ref, provider string, report func(msg, fix string)) {
		if _, state := m.lookup(ref, provider); state != undefined {
			return
		}
		name, prov := qualify(ref, provider)
		msg := "middleware " + name + "@" + prov + ", which is defined nowhere"
		switch {
		case prov == "docker" && m.ignored[name+"@docker"] != "":
			msg += ": service " + m.ignored[name+"@docker"] + " defines it by labels, but Traefik's docker provider ignores that service (exposedByDefault is false and it has no traefik.enable=true)"
		case prov == "docker":
			msg += " (no service's labels define traefik.http.middlewares." + name + ".*)"
		case prov == "file" && (m.traefik == nil || m.traefik.dynamic == nil):
			msg += " (Traefik has no file provider)"
		case prov == "file":
			msg += " (Traefik's file provider reads " + m.traefik.dynamic.where + ")"
		default:
			msg += " (no such provider: Traefik's are docker and file here)"
		}
		fix := "define it, or fix the name"
		for _, other := range []string{"docker", "file"} {
			if _, ok := m.defs[name+"@"+other]; ok && other != prov {
				fix = "write " + name + "@" + other + ", where it is defined"
			}
		}
		report(msg, fix)
	}
	for _, svc := range s.services() {
		if !dockerSees(svc, m.traefik) {
			continue
		}
		routers := traefikObjects(svc.Labels, "routers")
		for _, r := range sortedKeys(routers) {
			for _, ref := range splitList(routers[r]["middlewares"]) {
				check(ref, "docker", func(msg, fix string) {
					out = append(out, s.finding(Error, RuleMiddleware, svc.Name, r+"/"+ref, "router "+r+" uses "+msg, fix))
				})
			}
		}
	}
	for _, key := range sortedKeys(m.defs) {
		def := m.defs[key]
		for _, ref := range def.chain {
			check(ref, def.provider, func(msg, fix string) {
				out = append(out, Finding{Severity: Error, Rule: RuleMiddleware, File: def.file, Service: def.service, Subject: def.name + "/" + ref,
					Message: "chain " + def.ref() + " includes " + msg, Fix: fix})
			})
		}
	}
	if t := m.traefik; t != nil && !t.unreadable {
		for _, ep := range t.entrypoints() {
			for _, ref := range t.entrypointMiddlewares(ep) {
				// An entrypoint's middlewares join each router's list, so a
				// name without @provider resolves in the router's provider:
				// the docker provider for every router the linter sees.
				check(ref, "docker", func(msg, fix string) {
					out = append(out, t.finding(Error, RuleMiddleware, "entrypoint "+ep+"/"+ref, "entrypoint "+ep+" ("+t.source+") uses "+msg, fix))
				})
			}
		}
	}
	return out
}
