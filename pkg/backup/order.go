package backup

import (
	"sort"
	"strings"
)

// DependsOnLabel is set by Docker Compose on each container: its service's
// depends_on, as "service:condition:restart" items separated by commas.
const DependsOnLabel = "com.docker.compose.depends_on"

// stopOrder sorts containers so that each is stopped before the services
// it depends on (the reverse of start order), as `compose down` does.
func stopOrder(containers map[string]Container) []Container {
	deps := map[string][]string{}
	for svc, c := range containers {
		for _, item := range strings.Split(c.Labels[DependsOnLabel], ",") {
			if name, _, _ := strings.Cut(strings.TrimSpace(item), ":"); name != "" {
				if _, ok := containers[name]; ok {
					deps[svc] = append(deps[svc], name)
				}
			}
		}
	}
	// Depth: how many services depend on it, transitively; dependents go first.
	names := make([]string, 0, len(containers))
	for n := range containers {
		names = append(names, n)
	}
	sort.Strings(names)
	depth := map[string]int{}
	var visit func(n string, d int, seen map[string]bool)
	visit = func(n string, d int, seen map[string]bool) {
		if seen[n] {
			return // a cycle: the linter reports it
		}
		if d > depth[n] {
			depth[n] = d
		}
		seen[n] = true
		for _, dep := range deps[n] {
			visit(dep, d+1, seen)
		}
		delete(seen, n)
	}
	for _, n := range names {
		visit(n, 0, map[string]bool{})
	}
	sort.SliceStable(names, func(i, j int) bool { return depth[names[i]] < depth[names[j]] })
	out := make([]Container, len(names))
	for i, n := range names {
		out[i] = containers[n]
	}
	return out
}
