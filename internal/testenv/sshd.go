package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
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

// SSHDPath is Debian's openssh-server binary; sshd must be started by absolute path.
const SSHDPath = "/usr/sbin/sshd"

// StartSSHD starts sshd for t and stops it when t ends.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		Missing(t, "sshd", SSHDPath+" not found (Debian: openssh-server)")
	}
	RequireCommand(t, "ssh-keygen")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &SSHD{Dir: dir, User: u.Username, Alias: "testserver", Port: freePort(t)}
	keygen := func(name string) {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	keygen("host_ed25519")
	keygen("id_ed25519")
	s.UserKey = filepath.Join(dir, "id_ed25519")
	pub, _ := os.ReadFile(s.UserKey + ".pub")
	write(t, filepath.Join(dir, "authorized_keys"), string(pub))
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host_ed25519.pub"))
	fields := strings.Fields(string(hostPub))
	s.HostKeyPub = fields[0] + " " + fields[1]
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	write(t, s.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", s.Port, s.HostKeyPub))
	config := filepath.Join(dir, "sshd_config")
	write(t, config, fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
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
`, s.Port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "authorized_keys")))
	s.Config = filepath.Join(dir, "ssh_config")
	write(t, s.Config, fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, s.Alias, s.Port, s.User, s.UserKey, s.KnownHosts))
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation folder sshd insists on
	s.cmd = exec.Command(SSHDPath, "-D", "-e", "-f", config)
	// sshd's log goes to a file, shown only when the test fails.
	logPath := filepath.Join(dir, "sshd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = logFile
	t.Cleanup(func() {
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("sshd log:\n%s", data)
		}
	})
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on port %d", s.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Stop kills sshd (and with it every connection).
func (s *SSHD) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		s.cmd = nil
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
