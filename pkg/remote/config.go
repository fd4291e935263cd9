// Package remote runs the stack on a server over SSH: it resolves SERVER
// the way OpenSSH does, connects with verified host keys, runs commands
// through a run.Runner over one reused connection, and uploads the tree
// incrementally and atomically with go-scp.
//
// # Resolving SERVER
//
// SERVER names a Host of ~/.ssh/config. [Resolve] reads it with
// kevinburke/ssh_config (Include, wildcard and negated patterns, first value
// wins) and fills in OpenSSH's defaults, so [Host.Format] prints what
// `ssh -G` prints for the keys that matter here. Match blocks are not
// supported.
package remote

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// Host is a resolved SERVER.
type Host struct {
	Alias    string
	HostName string
	Port     int
	User     string
	// IdentityFiles are as written in the config (with ~ and %-tokens);
	// Identities() expands them.
	IdentityFiles  []string
	IdentitiesOnly bool
	ProxyJump      string
	// KnownHostsFiles are expanded paths.
	KnownHostsFiles []string
}

// defaultIdentityFiles are the keys OpenSSH tries when none is configured.
var defaultIdentityFiles = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
}

// UserConfig is the default ssh config: ~/.ssh/config.
func UserConfig() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".ssh", "config")
}

// UnknownHostError reports an alias that no Host block of the ssh config
// names.
type UnknownHostError struct {
	Alias  string
	Config string
	Hosts  []string // the Host patterns the config does have
}

func (e *UnknownHostError) Error() string {
	if len(e.Hosts) == 0 {
		return fmt.Sprintf("%s is not a Host of %s (it has none)", e.Alias, e.Config)
	}
	return fmt.Sprintf("%s is not a Host of %s (its hosts: %s)", e.Alias, e.Config, strings.Join(e.Hosts, ", "))
}

// MissingConfigError reports an ssh config file that was asked for by
// name and does not exist.
type MissingConfigError struct{ Path string }

func (e *MissingConfigError) Error() string {
	return fmt.Sprintf("the ssh config %s does not exist", e.Path)
}

// Resolve reads alias from the ssh config file at path (UserConfig() when
// empty). An alias that no Host block names is an *UnknownHostError: a
// typo would otherwise surface as a DNS error or a missing key. A path
// given that does not exist is a *MissingConfigError.
func Resolve(alias, path string) (Host, error) {
	explicit := path != ""
	if path == "" {
		path = UserConfig()
	}
	cfg := &ssh_config.Config{}
	if f, err := os.Open(path); err == nil {
		cfg, err = ssh_config.Decode(f)
		f.Close()
		if err != nil {
			return Host{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if !os.IsNotExist(err) {
		return Host{}, err
	} else if explicit {
		return Host{}, &MissingConfigError{Path: path}
	}
	if !named(cfg, alias) {
		return Host{}, &UnknownHostError{Alias: alias, Config: path, Hosts: hostPatterns(cfg)}
	}
	get := func(key string) (string, error) {
		v, err := cfg.Get(alias, key)
		if err != nil {
			return "", fmt.Errorf("%s: %s for host %s: %w", path, key, alias, err)
		}
		return v, nil
	}
	h := Host{Alias: alias, Port: 22}
	local, err := user.Current()
	if err != nil {
		return Host{}, err
	}
	if h.User, err = get("User"); err != nil {
		return h, err
	}
	if h.User == "" {
		h.User = local.Username
	}
	port, err := get("Port")
	if err != nil {
		return h, err
	}
	if port != "" {
		if h.Port, err = strconv.Atoi(port); err != nil {
			return h, fmt.Errorf("%s: Port %q for host %s is not a number", path, port, alias)
		}
	}
	hostname, err := get("HostName")
	if err != nil {
		return h, err
	}
	if hostname == "" {
		hostname = alias
	}
	h.HostName = h.expand(hostname, alias)
	files, err := cfg.GetAll(alias, "IdentityFile")
	if err != nil {
		return h, fmt.Errorf("%s: IdentityFile for host %s: %w", path, alias, err)
	}
	h.IdentityFiles = files
	if len(h.IdentityFiles) == 0 {
		h.IdentityFiles = defaultIdentityFiles
	}
	only, err := get("IdentitiesOnly")
	if err != nil {
		return h, err
	}
	h.IdentitiesOnly = strings.EqualFold(only, "yes")
	if h.ProxyJump, err = get("ProxyJump"); err != nil {
		return h, err
	}
	if strings.EqualFold(h.ProxyJump, "none") {
		h.ProxyJump = ""
	}
	known, err := get("UserKnownHostsFile")
	if err != nil {
		return h, err
	}
	if known == "" {
		known = "~/.ssh/known_hosts ~/.ssh/known_hosts2"
	}
	for _, f := range strings.Fields(known) {
		h.KnownHostsFiles = append(h.KnownHostsFiles, h.expand(f, h.HostName))
	}
	return h, nil
}

// named reports whether a Host block other than a catch-all applies to
// alias: a pattern of the top-level file names it, or (for blocks in
// included files, which the parser keeps to itself) some setting differs
// from what an alias nobody would write gets.
func named(cfg *ssh_config.Config, alias string) bool {
	for _, h := range cfg.Hosts {
		for _, p := range h.Patterns {
			if s := p.String(); s != "*" && !strings.HasPrefix(s, "!") && h.Matches(alias) {
				return true
			}
		}
	}
	const nobody = "selfhosted-no-such-host.invalid"
	for _, key := range []string{"HostName", "User", "Port", "IdentityFile", "ProxyJump", "ProxyCommand", "IdentitiesOnly",
		"UserKnownHostsFile", "HostKeyAlias", "ForwardAgent", "IdentityAgent", "StrictHostKeyChecking", "ConnectTimeout", "ServerAliveInterval"} {
		a, _ := cfg.Get(alias, key)
		b, _ := cfg.Get(nobody, key)
		if a != b {
			return true
		}
	}
	return false
}

func hostPatterns(cfg *ssh_config.Config) []string {
	var out []string
	for _, h := range cfg.Hosts {
		for _, p := range h.Patterns {
			if s := p.String(); s != "*" && !strings.HasPrefix(s, "!") {
				out = append(out, s)
			}
		}
	}
	return out
}

// expand replaces ~ and OpenSSH's %-tokens (%% %d %u %l %h %r %p %n).
func (h Host) expand(s, host string) string {
	home, _ := os.UserHomeDir()
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = home + s[1:]
	}
	if !strings.Contains(s, "%") {
		return s
	}
	local := ""
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	hostname, _ := os.Hostname()
	hostname, _, _ = strings.Cut(hostname, ".")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(home)
		case 'u':
			b.WriteString(local)
		case 'l':
			b.WriteString(hostname)
		case 'h':
			b.WriteString(host)
		case 'r':
			b.WriteString(h.User)
		case 'p':
			b.WriteString(strconv.Itoa(h.Port))
		case 'n':
			b.WriteString(h.Alias)
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Identities returns the identity files with ~ and %-tokens expanded.
func (h Host) Identities() []string {
	out := make([]string, len(h.IdentityFiles))
	for i, f := range h.IdentityFiles {
		out[i] = h.expand(f, h.HostName)
	}
	return out
}

// Address is host:port for dialing.
func (h Host) Address() string {
	return netJoin(h.HostName, h.Port)
}

func netJoin(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// String names the host for messages: user@hostname:port.
func (h Host) String() string {
	return h.User + "@" + h.Address()
}

// Format prints the resolved values as `ssh -G` does, in its order.
func (h Host) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "user %s\nhostname %s\nport %d\n", h.User, h.HostName, h.Port)
	only := "no"
	if h.IdentitiesOnly {
		only = "yes"
	}
	fmt.Fprintf(&b, "identitiesonly %s\n", only)
	for _, f := range h.IdentityFiles {
		fmt.Fprintf(&b, "identityfile %s\n", f)
	}
	fmt.Fprintf(&b, "userknownhostsfile %s\n", strings.Join(h.KnownHostsFiles, " "))
	if h.ProxyJump != "" {
		fmt.Fprintf(&b, "proxyjump %s\n", h.ProxyJump)
	}
	return b.String()
}
