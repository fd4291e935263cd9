package remote

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Client is one SSH connection to a server, reused for every command and
// file of a run.
//
// A Client from [Start] is usable at once: the handshake runs in the
// background (so a deploy does its local checks meanwhile) and every
// method waits for it; [Client.Wait] returns its failure.
type Client struct {
	Host Host
	ssh  *ssh.Client
	jump *Client
	conn *turnConn
	term string // TERM for interactive sessions

	ready   chan struct{} // closed once the connection is up or failed
	dialErr error
	cancel  context.CancelFunc
	dialCtx context.Context
	tracer  *tracer

	shellMu sync.Mutex
	sh      *shell // the long-lived shell commands run in

	machineOnce sync.Once
	machine     string
	machineErr  error
}

// Machine is the server's hardware name (`uname -m`: x86_64, aarch64),
// asked once per connection.
func (c *Client) Machine() (string, error) {
	c.machineOnce.Do(func() {
		sh, err := c.shell()
		if err != nil {
			c.machineErr = err
			return
		}
		out, err := sh.script("uname -m")
		c.machine, c.machineErr = strings.TrimSpace(string(out)), err
	})
	return c.machine, c.machineErr
}

// Wait waits for the connection and returns why it failed.
func (c *Client) Wait() error {
	<-c.ready
	return c.dialErr
}

// Close closes the connection (and the jump host's), abandoning a
// handshake still under way. It does not wait for the server's shell to
// exit (a round trip): the deploy lock is released when it does, moments
// later, and a deploy started meanwhile waits for it (LockOptions.Wait).
func (c *Client) Close() error {
	c.cancel()
	if c.Wait() != nil {
		return nil
	}
	c.shellMu.Lock()
	if c.sh != nil {
		c.sh.close()
		c.sh = nil
	}
	c.shellMu.Unlock()
	err := c.ssh.Close()
	if c.jump != nil {
		c.jump.Close()
	}
	return err
}

// SSH returns the underlying connection (nil when it failed).
func (c *Client) SSH() *ssh.Client {
	_ = c.Wait()
	return c.ssh
}

// ConnectOptions say how to reach a server, as OpenSSH's environment would.
type ConnectOptions struct {
	// Config is the ssh config file (UserConfig when empty).
	Config string
	// AgentSocket is ssh-agent's socket (SSH_AUTH_SOCK; none when empty).
	AgentSocket string
	// Term names the terminal of interactive sessions (TERM; xterm when empty).
	Term string
	// Trace, when set, receives each phase's time and round trips
	// ([Client.Trace]).
	Trace io.Writer
}

// Connect resolves alias through the ssh config and dials it, returning
// once connected.
func Connect(ctx context.Context, alias string, opts ConnectOptions) (*Client, error) {
	c, err := Start(ctx, alias, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Wait(); err != nil {
		return nil, err
	}
	return c, nil
}

// Start resolves alias through the ssh config (its errors come at once)
// and connects in the background, then opens the shell commands run in.
// The Client's methods wait for the connection; Close abandons it.
func Start(ctx context.Context, alias string, opts ConnectOptions) (*Client, error) {
	h, err := Resolve(alias, opts.Config)
	if err != nil {
		return nil, err
	}
	c := newClient(ctx, h, opts)
	go func() {
		c.finish(c.dial(opts))
		if c.dialErr == nil {
			_, _ = c.shell() // the first command finds it ready
		}
	}()
	return c, nil
}

// Dial connects to h, through its ProxyJump host when it has one. Host keys
// are always verified against h's known_hosts files.
func Dial(ctx context.Context, h Host, opts ConnectOptions) (*Client, error) {
	c := newClient(ctx, h, opts)
	c.finish(c.dial(opts))
	if c.dialErr != nil {
		return nil, c.dialErr
	}
	return c, nil
}

func newClient(ctx context.Context, h Host, opts ConnectOptions) *Client {
	ctx, cancel := context.WithCancel(ctx)
	c := &Client{Host: h, term: opts.Term, ready: make(chan struct{}), cancel: cancel}
	c.dialCtx = ctx
	if opts.Trace != nil {
		now := time.Now()
		c.tracer = &tracer{w: opts.Trace, start: now, last: now}
	}
	return c
}

func (c *Client) finish(err error) {
	c.dialErr = err
	close(c.ready)
	c.Trace("connect")
}

func (c *Client) dial(opts ConnectOptions) error {
	ctx, h := c.dialCtx, c.Host
	if h.ProxyJump != "" {
		hop, err := jumpHost(h.ProxyJump, opts.Config)
		if err != nil {
			return err
		}
		jc, err := Dial(ctx, hop, ConnectOptions{Config: opts.Config, AgentSocket: opts.AgentSocket})
		if err != nil {
			return fmt.Errorf("ProxyJump %s: %w", h.ProxyJump, err)
		}
		c.jump = jc
	}
	cfg, err := clientConfig(h, opts.AgentSocket)
	if err != nil {
		return err
	}
	var conn net.Conn
	if c.jump != nil {
		conn, err = c.jump.ssh.Dial("tcp", h.Address())
	} else {
		d := net.Dialer{Timeout: 15 * time.Second}
		conn, err = d.DialContext(ctx, "tcp", h.Address())
	}
	if err != nil {
		return fmt.Errorf("connect to %s (SERVER=%s): %w", h, h.Alias, err)
	}
	// The handshake takes no context: an abandoned one ends with its
	// connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c.conn = &turnConn{Conn: conn}
	sc, chans, reqs, err := ssh.NewClientConn(c.conn, h.Address(), cfg)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ssh %s (SERVER=%s): %w", h, h.Alias, err)
	}
	c.ssh = ssh.NewClient(sc, chans, reqs)
	return nil
}

// jumpHost resolves the first hop of a ProxyJump value ([user@]host[:port]).
func jumpHost(spec, configFile string) (Host, error) {
	first, _, _ := strings.Cut(spec, ",")
	userPart, hostPart := "", first
	if at := strings.LastIndex(first, "@"); at >= 0 {
		userPart, hostPart = first[:at], first[at+1:]
	}
	port := ""
	if h, p, err := net.SplitHostPort(hostPart); err == nil {
		hostPart, port = h, p
	}
	hop, err := Resolve(hostPart, configFile)
	if err != nil {
		return Host{}, err
	}
	if userPart != "" {
		hop.User = userPart
	}
	if port != "" {
		if hop.Port, err = strconv.Atoi(port); err != nil {
			return Host{}, fmt.Errorf("ProxyJump %s: bad port %q", spec, port)
		}
	}
	return hop, nil
}

func clientConfig(h Host, agentSocket string) (*ssh.ClientConfig, error) {
	auth, err := authMethods(h, agentSocket)
	if err != nil {
		return nil, err
	}
	callback, algorithms, err := hostKeyCheck(h)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{
		User:              h.User,
		Auth:              auth,
		HostKeyCallback:   callback,
		HostKeyAlgorithms: algorithms,
		Timeout:           15 * time.Second,
	}, nil
}

// authMethods offers the agent's keys and the identity files; a key that
// needs a passphrase and is not in the agent is an error naming the fix.
func authMethods(h Host, agentSocket string) ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	var agentSigners []ssh.Signer
	if agentSocket != "" {
		if conn, err := net.Dial("unix", agentSocket); err == nil {
			agentSigners, _ = agent.NewClient(conn).Signers()
		}
	}
	var locked []string
	for _, path := range h.Identities() {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // OpenSSH skips identity files that don't exist
		}
		signer, err := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			if !inAgent(agentSigners, missing.PublicKey) {
				locked = append(locked, path)
			}
		case err != nil:
			return nil, fmt.Errorf("identity file %s for %s: %w", path, h.Alias, err)
		default:
			signers = append(signers, signer)
		}
	}
	if h.IdentitiesOnly {
		agentSigners = onlyIdentities(agentSigners, h.Identities())
	}
	signers = append(agentSigners, signers...)
	if len(signers) == 0 {
		if len(locked) > 0 {
			return nil, fmt.Errorf("the key %s for %s is protected by a passphrase and no ssh-agent holds it: run `ssh-add %s` (with SSH_AUTH_SOCK set), then try again", strings.Join(locked, ", "), h, locked[0])
		}
		return nil, fmt.Errorf("no SSH key for %s: none of the identity files exist (%s) and no ssh-agent key is available: set IdentityFile for Host %s in your ssh config or start ssh-agent", h, strings.Join(h.Identities(), ", "), h.Alias)
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, nil
}

func inAgent(agentSigners []ssh.Signer, pub ssh.PublicKey) bool {
	if pub == nil {
		return false
	}
	for _, s := range agentSigners {
		if string(s.PublicKey().Marshal()) == string(pub.Marshal()) {
			return true
		}
	}
	return false
}

// onlyIdentities keeps the agent keys whose public half sits next to one of
// the identity files (IdentitiesOnly yes).
func onlyIdentities(agentSigners []ssh.Signer, identities []string) []ssh.Signer {
	var keep []ssh.Signer
	for _, path := range identities {
		data, err := os.ReadFile(path + ".pub")
		if err != nil {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			continue
		}
		for _, s := range agentSigners {
			if string(s.PublicKey().Marshal()) == string(pub.Marshal()) {
				keep = append(keep, s)
			}
		}
	}
	return keep
}

// HostKeyError explains a refused host key and the fix.
type HostKeyError struct {
	Host    Host
	Changed bool
	Files   []string
	Err     error
}

func (e *HostKeyError) Error() string {
	file := "~/.ssh/known_hosts"
	if len(e.Files) > 0 {
		file = e.Files[0]
	}
	if e.Changed {
		return fmt.Sprintf("REFUSED: the host key of %s HAS CHANGED since it was recorded in %s. Someone may be intercepting the connection, or the server was reinstalled. Verify the new key with the server's provider; if it is legitimate, remove the old line with `ssh-keygen -R %s -f %s` and add the new one with `ssh-keyscan -p %d %s >> %s` (%v)",
			e.Host, file, knownhosts.Normalize(e.Host.Address()), file, e.Host.Port, e.Host.HostName, file, e.Err)
	}
	return fmt.Sprintf("refused: %s is not a known host (no key for it in %s). Check its fingerprint, then add it with `ssh-keyscan -p %d %s >> %s`",
		e.Host, strings.Join(e.Files, ", "), e.Host.Port, e.Host.HostName, file)
}

// hostKeyCheck verifies against the known_hosts files (those that exist)
// and returns the key algorithms known for the host, so the server is asked
// for a key type the files can vouch for.
func hostKeyCheck(h Host) (ssh.HostKeyCallback, []string, error) {
	var files []string
	for _, f := range h.KnownHostsFiles {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	var base ssh.HostKeyCallback
	if len(files) > 0 {
		cb, err := knownhosts.New(files...)
		if err != nil {
			return nil, nil, fmt.Errorf("read known hosts %s: %w", strings.Join(files, ", "), err)
		}
		base = cb
	}
	callback := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if base == nil {
			return &HostKeyError{Host: h, Files: h.KnownHostsFiles, Err: errors.New("no known_hosts file")}
		}
		err := base(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			return &HostKeyError{Host: h, Changed: len(ke.Want) > 0, Files: h.KnownHostsFiles, Err: err}
		}
		return err
	}
	var algorithms []string
	if base != nil {
		// Asking with an all-zero key (never a real host's) lists the keys
		// known for this host.
		probe, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
		err := base(h.Address(), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: h.Port}, probe)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			for _, k := range ke.Want {
				algorithms = append(algorithms, algorithmsFor(k.Key.Type())...)
			}
		}
	}
	return callback, algorithms, nil
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
