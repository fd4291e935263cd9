package remote

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/internal/testenv"
	"github.com/selfhosted-go/selfhosted/pkg/run"
)

func connect(t *testing.T, s *testenv.SSHD) *Client {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	c, err := Connect(context.Background(), s.Alias, ConnectOptions{Config: s.Config})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestIntegrationRunnerRunsInDirWithExitCodes(t *testing.T) {
	s := testenv.StartSSHD(t)
	c := connect(t, s)
	ctx := context.Background()
	dir := t.TempDir()
	r := c.Runner(dir)

	out, err := run.Output(ctx, r, run.Command{Args: []string{"sh", "-c", "pwd; echo $GREETING; cat"}, Env: []string{"GREETING=hi there"}})
	require.NoError(t, err)
	assert.Equal(t, dir+"\nhi there\n", string(out))

	var stdout bytes.Buffer
	err = r.Run(ctx, run.Command{Args: []string{"sh", "-c", "cat; exit 3"}}, run.Streams{Stdin: strings.NewReader("piped\n"), Stdout: &stdout})
	assert.Equal(t, 3, run.ExitCode(err))
	assert.Equal(t, "piped\n", stdout.String())
	assert.Contains(t, err.Error(), s.User+"@127.0.0.1:")

	// The same connection serves many commands.
	for i := 0; i < 20; i++ {
		_, err := run.Output(ctx, r, run.Command{Args: []string{"true"}})
		require.NoError(t, err)
	}
}

func TestIntegrationCancellationStopsTheRemoteCommand(t *testing.T) {
	s := testenv.StartSSHD(t)
	c := connect(t, s)
	// A unique duration marks this test's sleep among the machine's processes.
	marker := "30." + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := c.Runner(t.TempDir()).Run(ctx, run.Command{Args: []string{"sleep", marker}}, run.Streams{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool {
		return exec.Command("pgrep", "-f", "sleep "+marker).Run() != nil
	}, 5*time.Second, 50*time.Millisecond, "the remote sleep is still running")
}

func TestIntegrationUnknownAndChangedHostKeysAreRefused(t *testing.T) {
	s := testenv.StartSSHD(t)
	t.Setenv("SSH_AUTH_SOCK", "")

	require.NoError(t, os.WriteFile(s.KnownHosts, nil, 0o600))
	_, err := Connect(context.Background(), s.Alias, ConnectOptions{Config: s.Config})
	var hke *HostKeyError
	require.ErrorAs(t, err, &hke)
	assert.False(t, hke.Changed)
	assert.Contains(t, err.Error(), "ssh-keyscan -p")
	assert.Contains(t, err.Error(), s.KnownHosts)

	other := testenv.StartSSHD(t) // a different host key
	require.NoError(t, os.WriteFile(s.KnownHosts, []byte(strings.Replace(
		"[127.0.0.1]:PORT "+other.HostKeyPub+"\n", "PORT", itoa(s.Port), 1)), 0o600))
	_, err = Connect(context.Background(), s.Alias, ConnectOptions{Config: s.Config})
	require.ErrorAs(t, err, &hke)
	assert.True(t, hke.Changed)
	assert.Contains(t, err.Error(), "HAS CHANGED")
}

func TestIntegrationResolveEqualsSSHG(t *testing.T) {
	testenv.RequireCommand(t, "ssh")
	dir := t.TempDir()
	include := dir + "/included"
	require.NoError(t, os.WriteFile(include, []byte("Host *.internal\n  User ops\n  IdentityFile ~/.ssh/internal_key\n"), 0o600))
	config := dir + "/config"
	require.NoError(t, os.WriteFile(config, []byte(`Include `+include+`
Host vps !bastion
  HostName 10.1.2.3
  Port 2200
  IdentityFile ~/.ssh/a_%h_%p
  IdentityFile %d/.ssh/b_%r
  IdentitiesOnly yes
  ProxyJump jump@bastion:2022
  UserKnownHostsFile `+dir+`/known_%h
Host db.internal
  HostName 10.0.0.9
Host bastion
  HostName 10.9.9.9
Host *
  User deploy
`), 0o600))
	// Unlike ssh -G, an alias no Host names is refused (a typo in SERVER
	// would otherwise reach DNS): see TestResolveRefusesWhatOpenSSHWouldGuess.
	for _, alias := range []string{"vps", "db.internal", "bastion"} {
		t.Run(alias, func(t *testing.T) {
			h, err := Resolve(alias, config)
			require.NoError(t, err)
			out, err := exec.Command("ssh", "-G", "-F", config, alias).Output()
			require.NoError(t, err)
			var want []string
			for _, line := range strings.Split(string(out), "\n") {
				key, _, _ := strings.Cut(line, " ")
				switch key {
				case "hostname", "port", "user", "identityfile", "proxyjump", "userknownhostsfile", "identitiesonly":
					want = append(want, line)
				}
			}
			assert.Equal(t, strings.Join(want, "\n")+"\n", h.Format())
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
