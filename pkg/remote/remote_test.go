package remote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func TestScript(t *testing.T) {
	c := run.Command{Args: []string{"docker", "compose", "up", "-d"}, Env: []string{"A=b c"}}
	cd := func(dir string) string {
		return `{ cd -- ` + dir + ` 2>/dev/null || { printf '\036selfhosted-nodir\n' >&2; exit 127; }; } && exec `
	}
	assert.Equal(t, cd(`"$HOME"/selfhosted`)+`env 'A=b c' docker compose up -d`, script("", c))
	assert.Equal(t, cd(`/srv/stack`)+`ls`, script("/srv/stack", run.Command{Args: []string{"ls"}}))
	assert.Equal(t, cd(`/other`)+`ls`, script("/srv/stack", run.Command{Args: []string{"ls"}, Dir: "/other"}))
	assert.Equal(t, cd(`"$HOME"/'$(touch x) `+"`id`"+`'`)+`ls`, script("~/$(touch x) `id`", run.Command{Args: []string{"ls"}}))
	assert.Contains(t, Script("", c), `printf '\036selfhosted-pid:%d\n' $$ >&2; { cd`)
}

func TestShellPath(t *testing.T) {
	assert.Equal(t, `"$HOME"`, ShellPath("~"))
	assert.Equal(t, `"$HOME"/'my stack'`, ShellPath("~/my stack"))
	assert.Equal(t, "/srv/x", ShellPath("/srv/x"))
}

func TestPidCatcherStripsThePidLine(t *testing.T) {
	var out bytes.Buffer
	p := &pidCatcher{next: &out, found: make(chan int, 1)}
	for _, chunk := range []string{"\x1eselfhosted-", "pid:4242\nerr", "or text\n"} {
		_, err := p.Write([]byte(chunk))
		require.NoError(t, err)
	}
	assert.Equal(t, 4242, <-p.found)
	assert.Equal(t, "error text\n", out.String())

	out.Reset()
	p = &pidCatcher{next: &out, found: make(chan int, 1)}
	p.Write([]byte("plain stderr\n"))
	assert.Equal(t, "plain stderr\n", out.String(), "output without a pid line passes through")

	// The missing-folder line after the pid line is caught however it is split.
	for _, chunks := range [][]string{
		{"\x1eselfhosted-pid:7\n\x1eselfhosted-nodir\n"},
		{"\x1eselfhosted-pid:7\n", "\x1eselfhosted-nodir\n"},
		{"\x1eselfhosted-pid:7\n\x1eselfhosted-no", "dir\n"},
	} {
		out.Reset()
		p = &pidCatcher{next: &out, found: make(chan int, 1)}
		for _, c := range chunks {
			p.Write([]byte(c))
		}
		assert.True(t, p.noDir.Load(), "%q", chunks)
		assert.Empty(t, out.String())
	}
	out.Reset()
	p = &pidCatcher{next: &out, found: make(chan int, 1)}
	p.Write([]byte("\x1eselfhosted-pid:7\n\x1eselfhosted-nope\nrest\n"))
	assert.False(t, p.noDir.Load())
	assert.Equal(t, "\x1eselfhosted-nope\nrest\n", out.String())
}

func TestResolveDefaultsAndTokens(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(config, []byte("Host vps\n  HostName %h.example.com\n  User deploy\n  Port 2222\n  IdentityFile ~/.ssh/k_%r_%p\n  ProxyJump none\n"), 0o600))
	h, err := Resolve("vps", config)
	require.NoError(t, err)
	home, _ := os.UserHomeDir()
	assert.Equal(t, "vps.example.com", h.HostName)
	assert.Equal(t, 2222, h.Port)
	assert.Equal(t, "deploy", h.User)
	assert.Equal(t, []string{"~/.ssh/k_%r_%p"}, h.IdentityFiles)
	assert.Equal(t, []string{home + "/.ssh/k_deploy_2222"}, h.Identities())
	assert.Empty(t, h.ProxyJump)
	assert.Equal(t, []string{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"}, h.KnownHostsFiles)
	assert.Equal(t, "deploy@vps.example.com:2222", h.String())

	bare := filepath.Join(dir, "bare")
	require.NoError(t, os.WriteFile(bare, []byte("Host bare\n"), 0o600))
	h, err = Resolve("bare", bare)
	require.NoError(t, err)
	assert.Equal(t, "bare", h.HostName)
	assert.Equal(t, 22, h.Port)
	assert.Len(t, h.IdentityFiles, 7, "OpenSSH's default identities")
}

func TestResolveRefusesWhatOpenSSHWouldGuess(t *testing.T) {
	dir := t.TempDir()
	included := filepath.Join(dir, "included")
	require.NoError(t, os.WriteFile(included, []byte("Host inc\n  HostName 10.0.0.9\n"), 0o600))
	config := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(config, []byte("Include "+included+"\nHost vps web-*\n  User deploy\nHost *\n  ServerAliveInterval 30\n"), 0o600))

	tests := []struct {
		alias, config string
		err           any
		hostName      string
	}{
		{"vps", config, nil, "vps"},
		{"web-1", config, nil, "web-1"},
		{"inc", config, nil, "10.0.0.9"},
		{"vsp", config, &UnknownHostError{Alias: "vsp", Config: config, Hosts: []string{"vps", "web-*"}}, ""},
		{"vps", filepath.Join(dir, "missing"), &MissingConfigError{Path: filepath.Join(dir, "missing")}, ""},
	}
	for _, tt := range tests {
		h, err := Resolve(tt.alias, tt.config)
		if tt.err != nil {
			assert.Equal(t, tt.err, err, tt.alias)
			continue
		}
		require.NoError(t, err, tt.alias)
		assert.Equal(t, tt.hostName, h.HostName)
	}
	assert.EqualError(t, &UnknownHostError{Alias: "vsp", Config: "~/.ssh/config", Hosts: []string{"vps"}}, "vsp is not a Host of ~/.ssh/config (its hosts: vps)")
}

func TestWhoAmIWithoutUSER(t *testing.T) {
	t.Setenv("USER", "")
	who := WhoAmI()
	assert.NotRegexp(t, `^@`, who, "the user is named even when $USER is unset")
	u, err := user.Current()
	require.NoError(t, err)
	assert.Regexp(t, "^"+u.Username+"@", who)
}

func TestPassphraseKeyWithoutAgentNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte("secret"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(block), 0o600))
	_, err = authMethods(Host{Alias: "vps", HostName: "h", Port: 22, User: "u", IdentityFiles: []string{key}}, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "protected by a passphrase")
	assert.Contains(t, err.Error(), "ssh-add "+key)
}
