package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/selfhosted-go/selfhosted/internal/sshd"
)

// SSHD is the test's sshd.
type SSHD = sshd.SSHD

// SSHDOptions vary the test sshd.
type SSHDOptions = sshd.Options

// StartSSHD starts sshd for t and stops it when t ends.
func StartSSHD(t testing.TB, opts ...SSHDOptions) *SSHD {
	t.Helper()
	if _, err := os.Stat(sshd.Path); err != nil {
		Missing(t, "sshd", sshd.Path+" not found (Debian: openssh-server)")
	}
	RequireCommand(t, "ssh-keygen")
	dir := t.TempDir()
	logPath := filepath.Join(dir, "sshd.log")
	s, err := sshd.Start(dir, logPath, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("sshd log:\n%s", data)
		}
	})
	return s
}
