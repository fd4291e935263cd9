// Package sshd starts OpenSSH's sshd on 127.0.0.1 with throwaway host and
// user keys, an ssh config and a known_hosts of its own: never the user's
// files. Tests start it through package testenv; benchmarks directly.
package sshd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// SSHD is OpenSSH's sshd started for one test on 127.0.0.1, with throwaway
// host and user keys, a temporary ssh config and known_hosts: never the
// user's own files.
type SSHD struct {
	Dir        string // temporary folder holding everything below
	Port       int
	User       string
	Alias      string // the Host of Config that points at this sshd
	Config     string // ssh_config path
	KnownHosts string // known_hosts holding this sshd's host key
	UserKey    string // private key that may log in
	HostKeyPub string // the host key, as a known_hosts key field ("ssh-ed25519 AAAA…")
	cmd        *exec.Cmd
}

// Path is Debian's openssh-server binary; sshd must be started by absolute path.
const Path = "/usr/sbin/sshd"

// Options vary the sshd.
type Options struct {
	// User is the account clients log in as (default: the current one).
	User string
	// HostKeys are the types of host key sshd offers (default ed25519).
	HostKeys []string
	// Known are the types of those keys known_hosts records (default all).
	Known []string
}

// Start starts sshd with everything it needs in dir, logging to logPath;
// the caller stops it.
func Start(dir, logPath string, opts ...Options) (*SSHD, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if len(o.HostKeys) == 0 {
		o.HostKeys = []string{"ed25519"}
	}
	if len(o.Known) == 0 {
		o.Known = o.HostKeys
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &SSHD{Dir: dir, User: u.Username, Alias: "testserver", Port: port}
	if o.User != "" && o.User != u.Username {
		// sshd reads the keys as that user: it must reach them.
		s.User = o.User
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
	}
	keys := map[string]string{"id_ed25519": "ed25519"}
	for _, kind := range o.HostKeys {
		keys["host_"+kind] = kind
	}
	for name, kind := range keys {
		out, err := exec.Command("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	s.UserKey = filepath.Join(dir, "id_ed25519")
	pub, _ := os.ReadFile(s.UserKey + ".pub")
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o644); err != nil {
		return nil, err
	}
	var known strings.Builder
	for i, kind := range o.Known {
		hostPub, _ := os.ReadFile(filepath.Join(dir, "host_"+kind+".pub"))
		fields := strings.Fields(string(hostPub))
		if i == 0 {
			s.HostKeyPub = fields[0] + " " + fields[1]
		}
		fmt.Fprintf(&known, "[127.0.0.1]:%d %s %s\n", s.Port, fields[0], fields[1])
	}
	var hostKeys strings.Builder
	for _, kind := range o.HostKeys {
		fmt.Fprintf(&hostKeys, "HostKey %s\n", filepath.Join(dir, "host_"+kind))
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	config := filepath.Join(dir, "sshd_config")
	s.Config = filepath.Join(dir, "ssh_config")
	files := map[string]string{
		s.KnownHosts: known.String(),
		config: fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
%sPidFile none
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
MaxSessions 64
MaxStartups 64
Subsystem sftp internal-sftp
LogLevel ERROR
`, s.Port, hostKeys.String(), filepath.Join(dir, "authorized_keys")),
		s.Config: fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, s.Alias, s.Port, s.User, s.UserKey, s.KnownHosts),
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation folder sshd insists on
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(Path, "-D", "-e", "-f", config)
	s.cmd.Stderr = logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	logFile.Close() // sshd holds its own descriptor
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("sshd did not listen on port %d (log: %s)", s.Port, logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills sshd (and with it every connection).
func (s *SSHD) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		s.cmd = nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Via writes an ssh config (and known_hosts) whose Host alias reaches this
// sshd through port on 127.0.0.1: a proxy in front of it. It returns the
// config's path.
func (s *SSHD) Via(alias string, port int) (string, error) {
	known := filepath.Join(s.Dir, "known_hosts_"+alias)
	if err := os.WriteFile(known, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", port, s.HostKeyPub)), 0o600); err != nil {
		return "", err
	}
	config := filepath.Join(s.Dir, "ssh_config_"+alias)
	return config, os.WriteFile(config, []byte(fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, alias, port, s.User, s.UserKey, known)), 0o600)
}
