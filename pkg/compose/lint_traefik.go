package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	toml "github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// Traefik reads its static configuration from one source only, the first
// of: a configuration file (--configFile, else the default locations), its
// command-line flags, its TRAEFIK_* environment variables; the others are
// ignored (traefik/traefik pkg/cli, traefik/paerser). The linter follows the
// same order inside the Traefik container, where a file exists only when
// one of the service's mounts provides it: a bind mount of the rendered
// tree it reads, or a volume it can't read.

// traefikDefaultConfigs are Traefik's default configuration file locations,
// in its order; $XDG_CONFIG_HOME and $HOME come from the container's
// environment, "./" is its working directory.
var traefikDefaultConfigs = func() []string {
	var out []string
	for _, base := range []string{"/etc/traefik/traefik", "$XDG_CONFIG_HOME/traefik", "$HOME/.config/traefik", "./traefik"} {
		for _, ext := range []string{"toml", "yaml", "yml"} {
			out = append(out, base+"."+ext)
		}
	}
	return out
}()

// traefikStaticRoots are the top-level keys of Traefik's static
// configuration: a TRAEFIK_ variable under another root is not Traefik's
// (e.g. one a dynamic file's template reads).
var traefikStaticRoots = map[string]bool{
	"accesslog": true, "api": true, "certificatesresolvers": true, "core": true, "entrypoints": true,
	"experimental": true, "global": true, "hostresolver": true, "log": true, "metrics": true, "ocsp": true,
	"ping": true, "providers": true, "serverstransport": true, "spiffe": true, "tcpserverstransport": true, "tracing": true,
}

// traefik is what the linter knows of one Traefik service.
type traefik struct {
	svc types.ServiceConfig
	// static is the static configuration flattened: lower-case dotted keys
	// (entrypoints.websecure.http.middlewares), lists joined by commas,
	// sections present with an empty value.
	static map[string]string
	// source says where static comes from, for messages; from is its kind.
	source string
	from   staticSource
	// file is what findings about the static configuration name: the
	// configuration file, else the service's compose file.
	file string
	root string // the stack's
	// unreadable: the static configuration exists (in a volume) but the
	// linter can't read it.
	unreadable bool
	// dynamic is what the file provider loads; nil without a file provider.
	dynamic  *dynamicConfig
	problems []Finding
}

type staticSource int

const (
	fromNothing staticSource = iota
	fromFile
	fromFlags
	fromEnv
)

// howToSet says how to set a static configuration key (dotted, as in a
// file) to value in the source Traefik reads.
func (t *traefik) howToSet(key, value string) string {
	flag := "--" + key + "=" + value
	env := "TRAEFIK_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_")) + "=" + value
	switch t.from {
	case fromFile:
		if _, err := os.Stat(filepath.Join(t.root, t.file+".j2")); err == nil {
			return "set " + key + ": " + value + " in " + t.file + ".j2, which renders " + t.file
		}
		return "set " + key + ": " + value + " in " + t.file
	case fromFlags:
		return "add `" + flag + "` to its command"
	case fromEnv:
		return "add " + env + " to its environment"
	}
	return "set " + key + ": " + value + " in its static configuration file (or `" + flag + "` in its command)"
}

// dynamicConfig is what Traefik's file provider loads.
type dynamicConfig struct {
	// where says what the provider reads, for messages.
	where string
	// files were read (paths relative to the stack root).
	files []string
	// unreadable: some of it couldn't be read, so a middleware missing
	// from middlewares may still exist.
	unreadable  bool
	middlewares map[string]middleware
}

func (t *traefik) finding(sev Severity, rule, subject, msg, fix string) Finding {
	return Finding{Severity: sev, Rule: rule, File: t.file, Service: t.svc.Name, Subject: subject, Message: msg, Fix: fix}
}

// traefiks returns the stack's Traefik services with their configuration,
// read once per Stack.
func (s *Stack) traefiks() []*traefik {
	if s.traefikCache == nil {
		s.traefikCache = []*traefik{}
		for _, svc := range s.services() {
			if isTraefik(svc) {
				s.traefikCache = append(s.traefikCache, s.loadTraefik(svc))
			}
		}
	}
	return s.traefikCache
}

func lintTraefikConfig(s *Stack) []Finding {
	var out []Finding
	for _, t := range s.traefiks() {
		out = append(out, t.problems...)
	}
	return out
}

// traefikArgs returns the arguments Traefik itself receives: the command
// (after the entrypoint when it is Traefik or the image's entrypoint
// script), less a leading "traefik", which the image's script adds anyway.
func traefikArgs(svc types.ServiceConfig) []string {
	words := []string(svc.Command)
	if len(svc.Entrypoint) > 0 {
		switch path.Base(svc.Entrypoint[0]) {
		case "traefik", "entrypoint.sh":
			words = append(append([]string{}, svc.Entrypoint[1:]...), words...)
		default:
			return nil // a shell or a wrapper: its arguments are not Traefik's
		}
	}
	if len(words) > 0 && path.Base(words[0]) == "traefik" {
		words = words[1:]
	}
	return words
}

// flagValue is one --key=value (or --key value) of Traefik's command line.
type flagValue struct {
	key   string // lower case, without dashes
	value string
	raw   string // as written, for messages
}

// parseTraefikFlags reads arguments as Traefik's flag parser does: -x or
// --x, a value after = or in the next argument, a bare flag is true; "--"
// or an argument that is no flag ends the flags. Traefik knows which flags
// are booleans; the linter takes the next argument as the value unless it
// is a flag, which only differs for a boolean followed by a stray word.
func parseTraefikFlags(args []string) []flagValue {
	var out []flagValue
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		name := strings.TrimLeft(a, "-")
		raw := a
		key, value, hasValue := strings.Cut(name, "=")
		if !hasValue {
			value = "true"
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				value = args[i]
				raw += " " + value
			}
		}
		out = append(out, flagValue{key: strings.ToLower(key), value: value, raw: raw})
	}
	return out
}

// containerEnv returns the service's environment as the container sees
// it, for $XDG_CONFIG_HOME and $HOME in Traefik's default locations.
func containerEnv(svc types.ServiceConfig) map[string]string {
	env := map[string]string{"HOME": "/root"} // Traefik's image runs as root
	for k, v := range svc.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// containerPath makes p absolute in the container: relative paths are
// relative to its working directory ("/" in Traefik's image).
func containerPath(svc types.ServiceConfig, p string) string {
	if !path.IsAbs(p) {
		wd := svc.WorkingDir
		if wd == "" {
			wd = "/"
		}
		p = path.Join(wd, p)
	}
	return path.Clean(p)
}

// provided is how a container path comes to exist.
type provided struct {
	mount *types.ServiceVolumeConfig // nil: no mount provides it
	host  string                     // for a bind mount: the host path it maps to
	whole bool                       // the mount's target is the path itself (a file mount)
}

// provide returns the mount of svc that provides container path p: the
// one with the longest target at or above p.
func provide(svc types.ServiceConfig, p string) provided {
	var best *types.ServiceVolumeConfig
	for i, v := range svc.Volumes {
		t := path.Clean(v.Target)
		if p != t && !strings.HasPrefix(p, strings.TrimSuffix(t, "/")+"/") {
			continue
		}
		if best == nil || len(t) > len(path.Clean(best.Target)) {
			best = &svc.Volumes[i]
		}
	}
	if best == nil {
		return provided{}
	}
	out := provided{mount: best, whole: path.Clean(best.Target) == p}
	if best.Type == types.VolumeTypeBind {
		rest := strings.TrimPrefix(p, path.Clean(best.Target))
		out.host = filepath.Join(best.Source, filepath.FromSlash(rest))
	}
	return out
}

// rel names a host path for findings: relative to the stack root when it
// is inside it.
func (s *Stack) rel(host string) string {
	root, err := filepath.Abs(s.Root)
	if err != nil {
		return host
	}
	if r, err := filepath.Rel(root, host); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(r)
	}
	return host
}

// renderHint tells how a missing bind-mounted file comes to be.
func renderHint(host string) string {
	if _, err := os.Stat(host + ".j2"); err == nil {
		return " (it is rendered from " + filepath.Base(host) + ".j2: render the templates first)"
	}
	return ""
}

// decodeConfigFile reads a Traefik configuration file as Traefik does: by
// its extension, TOML or YAML (JSON is YAML).
func decodeConfigFile(name string) (map[string]any, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	tree := map[string]any{}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".toml":
		err = toml.Unmarshal(data, &tree)
	case ".yml", ".yaml", ".json":
		err = yaml.Unmarshal(data, &tree)
	default:
		return nil, fmt.Errorf("Traefik reads .toml, .yml, .yaml or .json files, not %q", filepath.Ext(name))
	}
	if err != nil {
		return nil, err
	}
	return tree, nil
}

// flatten turns a configuration tree into the static map's form.
func flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return strings.ToLower(k)
		}
		return prefix + "." + strings.ToLower(k)
	}
	switch v := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[prefix] = ""
		}
		for k, x := range v {
			flatten(join(k), x, out)
		}
	case []any:
		var items []string
		for i, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				flatten(join(fmt.Sprint(i)), x, out)
			default:
				items = append(items, fmt.Sprint(x))
			}
		}
		out[prefix] = strings.Join(items, ",")
	case nil:
		out[prefix] = ""
	default:
		out[prefix] = fmt.Sprint(v)
	}
}

// loadTraefik finds svc's static configuration and its file provider's
// dynamic configuration.
func (s *Stack) loadTraefik(svc types.ServiceConfig) *traefik {
	t := &traefik{svc: svc, static: map[string]string{}, file: s.Sources[svc.Name], root: s.Root}
	args := traefikArgs(svc)
	flags := parseTraefikFlags(args)
	configFile, configFlag := "", ""
	for _, f := range flags {
		if f.key == "configfile" {
			configFile, configFlag = f.value, f.raw
		}
	}
	var envStatic []string
	for _, k := range sortedKeys(svc.Environment) {
		key := strings.ToLower(k)
		if !strings.HasPrefix(key, "traefik_") {
			continue
		}
		key = strings.ReplaceAll(strings.TrimPrefix(key, "traefik_"), "_", ".")
		root, _, _ := strings.Cut(key, ".")
		if traefikStaticRoots[root] {
			envStatic = append(envStatic, k)
		}
	}

	found := s.loadStaticFile(t, configFile, configFlag)
	var ignored []string
	switch {
	case found:
		for _, f := range flags {
			if f.key != "configfile" {
				ignored = append(ignored, f.raw)
			}
		}
		ignored = append(ignored, envStatic...)
	case len(args) > 0:
		t.source, t.from = "its command's flags", fromFlags
		for _, f := range flags {
			if strings.HasSuffix(f.key, ".middlewares") && t.static[f.key] != "" {
				t.static[f.key] += "," + f.value // Traefik appends repeated list flags
			} else {
				t.static[f.key] = f.value
			}
			for k := f.key; strings.Contains(k, "."); {
				k = k[:strings.LastIndex(k, ".")]
				if _, ok := t.static[k]; !ok {
					t.static[k] = ""
				}
			}
		}
		ignored = envStatic
	case len(envStatic) > 0:
		t.source, t.from = "its TRAEFIK_* environment variables", fromEnv
		for _, k := range envStatic {
			key := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(k), "traefik_"), "_", ".")
			if v := svc.Environment[k]; v != nil {
				t.static[key] = *v
			}
			for p := key; strings.Contains(p, "."); {
				p = p[:strings.LastIndex(p, ".")]
				if _, ok := t.static[p]; !ok {
					t.static[p] = ""
				}
			}
		}
	default:
		t.source = "none: no configuration file, flag or TRAEFIK_* variable"
	}
	if len(ignored) > 0 {
		t.problems = append(t.problems, Finding{Severity: Warning, Rule: RuleTraefikConfigIgnored, File: s.Sources[svc.Name], Service: svc.Name,
			Message: "Traefik reads its static configuration from " + t.source + " only, so it ignores " + strings.Join(ignored, ", "),
			Fix:     "move these settings into that one source (Traefik's static configuration sources are exclusive)"})
	}
	if !t.unreadable {
		s.loadDynamic(t)
	}
	return t
}

// loadStaticFile looks for Traefik's configuration file where Traefik
// does, and reads it into t.static. It reports whether Traefik would use a
// file (so its flags and variables are ignored).
func (s *Stack) loadStaticFile(t *traefik, configFile, configFlag string) bool {
	svc := t.svc
	candidates := traefikDefaultConfigs
	if configFile != "" {
		candidates = []string{configFile}
	}
	env := containerEnv(svc)
	missing := "no mount of the service provides " + containerPath(svc, configFile)
	for _, c := range candidates {
		p := containerPath(svc, os.Expand(c, func(k string) string { return env[k] }))
		how := p + " (a default location of Traefik's configuration)"
		if configFile != "" {
			how = p + " (" + configFlag + ")"
		}
		at := provide(svc, p)
		if at.mount == nil {
			continue
		}
		if at.mount.Type != types.VolumeTypeBind {
			// Whether the volume holds that file, and which of the
			// default names, only the running container knows.
			t.unreadable = true
			what := "may come from"
			if configFile != "" {
				what = "(" + configFlag + ") comes from"
			}
			t.source = at.mount.Type + " " + at.mount.Source + ", mounted at " + path.Clean(at.mount.Target)
			t.problems = append(t.problems, t.finding(Warning, RuleTraefikConfig, path.Clean(at.mount.Target),
				"Traefik's static configuration "+what+" "+t.source+", which the linter can't read: the rules that need it are skipped",
				"bind-mount the configuration file from the stack's files instead (e.g. ./services/reverse-proxy/traefik.yml:/etc/traefik/traefik.yml:ro)"))
			return true
		}
		info, err := os.Stat(at.host)
		if errors.Is(err, fs.ErrNotExist) && !at.whole {
			missing = s.rel(at.mount.Source) + ", mounted at " + path.Clean(at.mount.Target) + ", has no " + strings.TrimPrefix(p, path.Clean(at.mount.Target)+"/")
			continue // Traefik looks further
		}
		t.source = s.rel(at.host) + ", mounted at " + how
		switch {
		case err != nil:
			t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, p,
				"Traefik's static configuration "+p+" is bind-mounted from "+s.rel(at.host)+", which does not exist"+renderHint(at.host)+": Docker mounts an empty folder there and Traefik exits",
				"create "+s.rel(at.host)+" or fix the mount's source"))
			t.unreadable = true
			return true
		case info.IsDir():
			t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, p,
				"Traefik's static configuration "+p+" is bind-mounted from "+s.rel(at.host)+", a folder: Traefik exits",
				"mount the configuration file itself"))
			t.unreadable = true
			return true
		}
		t.file, t.from = s.rel(at.host), fromFile
		tree, err := decodeConfigFile(at.host)
		if err != nil {
			t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, p,
				"Traefik can't read its static configuration "+t.file+": "+err.Error(),
				"fix "+t.file))
			t.unreadable = true
			return true
		}
		flatten("", tree, t.static)
		return true
	}
	if configFile != "" {
		p := containerPath(svc, configFile)
		t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, p,
			"Traefik's command names its configuration "+configFlag+", but "+missing+": Traefik exits (configuration file not found)",
			"add a bind mount, e.g. `- ./services/"+path.Base(path.Dir(s.Sources[svc.Name]))+"/"+path.Base(p)+":"+p+":ro`"))
		t.unreadable = true // what Traefik would do instead depends on its version
		t.source = configFlag
	}
	return false
}

// loadDynamic reads what Traefik's file provider loads: a directory (its
// .toml, .yml and .yaml files, subfolders included) when set, else a file.
func (s *Stack) loadDynamic(t *traefik) {
	dir, name := t.static["providers.file.directory"], t.static["providers.file.filename"]
	if _, ok := t.static["providers.file"]; !ok {
		return
	}
	t.dynamic = &dynamicConfig{middlewares: map[string]middleware{}}
	d := t.dynamic
	setting, value := "providers.file.filename", name
	if dir != "" {
		setting, value = "providers.file.directory", dir
	}
	if value == "" {
		t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, "providers.file",
			"Traefik's file provider has neither a filename nor a directory ("+t.source+"): Traefik exits",
			"set providers.file.filename (or providers.file.directory) to a file the service mounts"))
		return
	}
	p := containerPath(t.svc, value)
	d.where = p + " (" + setting + ")"
	at := provide(t.svc, p)
	switch {
	case at.mount == nil:
		t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, setting,
			"Traefik's file provider reads "+d.where+", but no mount of the service provides it: its middlewares don't exist",
			"bind-mount the dynamic configuration at "+p))
		return
	case at.mount.Type != types.VolumeTypeBind:
		d.unreadable = true
		d.where += " in " + at.mount.Type + " " + at.mount.Source
		t.problems = append(t.problems, t.finding(Warning, RuleTraefikConfig, setting,
			"Traefik's file provider reads "+d.where+", which the linter can't read: middlewares @file are taken on trust",
			"bind-mount it from a file of the stack"))
		return
	}
	d.where = s.rel(at.host) + ", mounted at " + d.where
	info, err := os.Stat(at.host)
	if err != nil || (dir == "" && info.IsDir()) {
		t.problems = append(t.problems, t.finding(Error, RuleTraefikConfig, setting,
			"Traefik's file provider reads "+d.where+", which does not exist as a "+map[bool]string{true: "folder", false: "file"}[dir != ""]+renderHint(at.host)+": its middlewares don't exist",
			"create "+s.rel(at.host)+" or fix the mount's source"))
		return
	}
	var files []string
	if dir != "" && info.IsDir() {
		filepath.WalkDir(at.host, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				switch strings.ToLower(filepath.Ext(p)) {
				case ".toml", ".yml", ".yaml":
					files = append(files, p)
				}
			}
			return nil
		})
		sort.Strings(files)
	} else {
		files = []string{at.host}
	}
	for _, f := range files {
		rel := s.rel(f)
		tree, err := decodeConfigFile(f)
		if err != nil {
			d.unreadable = true
			data, _ := os.ReadFile(f)
			msg := "Traefik's dynamic configuration " + rel + " can't be parsed: " + err.Error()
			if strings.Contains(string(data), "{{") {
				msg += " (Traefik runs it as a Go template first, which the linter does not)"
			}
			t.problems = append(t.problems, Finding{Severity: Warning, Rule: RuleTraefikConfig, File: rel, Service: t.svc.Name,
				Message: msg + ": middlewares @file are taken on trust", Fix: "fix " + rel})
			continue
		}
		d.files = append(d.files, rel)
		for _, m := range fileMiddlewares(tree, rel, t.svc.Name) {
			if _, dup := d.middlewares[m.name]; !dup {
				d.middlewares[m.name] = m
			}
		}
	}
}

// child returns key of a configuration section, matched like Traefik does
// (case-insensitively), or nil.
func child(v any, key string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if x, ok := m[key]; ok {
		return x
	}
	for k, x := range m {
		if strings.EqualFold(k, key) {
			return x
		}
	}
	return nil
}

// stringList reads a list of names written as a YAML/TOML list or as one
// comma-separated string.
func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			if s := strings.TrimSpace(fmt.Sprint(x)); s != "" {
				out = append(out, s)
			}
		}
	case string:
		out = splitList(v)
	}
	return out
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// fileMiddlewares returns the HTTP middlewares a dynamic configuration
// file defines.
func fileMiddlewares(tree map[string]any, file, service string) []middleware {
	defs, _ := child(child(tree, "http"), "middlewares").(map[string]any)
	var out []middleware
	for _, name := range sortedKeys(defs) {
		m := middleware{name: name, provider: "file", file: file, service: service}
		if fa, ok := child(defs[name], "forwardAuth").(map[string]any); ok {
			m.forwardAuth = true
			m.address, _ = child(fa, "address").(string)
		}
		if ch, ok := child(defs[name], "chain").(map[string]any); ok {
			m.chain = stringList(child(ch, "middlewares"))
			m.isChain = true
		}
		out = append(out, m)
	}
	return out
}
