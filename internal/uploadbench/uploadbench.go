// Package uploadbench compares push-files with `rsync -a --delete -e ssh`
// over the same loopback sshd, on a generated stack of 2,000 files and
// 50 MB: a first upload, a no-op, one changed file and 100 deleted files
// (`go tool mage bench-upload`). Each step runs several times, the two
// tools alternating which goes first, and the medians are compared, as
// whole processes (`go tool mage push-files` against `rsync`) and in
// process (the library's PushFiles, connection included, against the same
// rsync). A delaying proxy in front of sshd can make loopback look like a
// server far away (Options.Latency, each way); it also counts bytes and
// round trips.
package uploadbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/selfhosted-go/selfhosted/internal/netdelay"
	"github.com/selfhosted-go/selfhosted/internal/provision"
	"github.com/selfhosted-go/selfhosted/internal/sshd"
	"github.com/selfhosted-go/selfhosted/pkg/remote"
	"github.com/selfhosted-go/selfhosted/pkg/stack"
)

const (
	files = 2000
	total = 50 << 20
	alias = "benchserver"
)

// Options tune the benchmark.
type Options struct {
	// Module is the selfhosted module's folder, where `go tool mage` runs.
	Module string
	// Runs per step and tool (default 5).
	Runs int
	// Latency delays each direction of every connection (0: loopback).
	Latency time.Duration
	// User is the account both tools log in as (default: provision's
	// BenchUser when it exists, else the current one).
	User string
}

// step is one measured scenario; prepare runs untimed before each run.
type step struct {
	name    string
	prepare func(b *bench, run int) error
}

var steps = []step{
	{"first upload", func(b *bench, _ int) error { return b.resetServers() }},
	{"no-op", nil},
	{"1 changed file", func(b *bench, run int) error {
		return b.both(func(tree string) error {
			return os.WriteFile(filepath.Join(tree, "services/app/data/d0/f0.bin"), []byte("changed "+strconv.Itoa(run)), 0o644)
		})
	}},
	{"100 deleted files", func(b *bench, _ int) error {
		// Put them back and upload that untimed, then delete them.
		if err := b.both(func(tree string) error { return writeFiles(tree, 1000, 1100) }); err != nil {
			return err
		}
		if err := b.syncUntimed(); err != nil {
			return err
		}
		return b.both(func(tree string) error {
			for i := 1000; i < 1100; i++ {
				if err := os.Remove(dataFile(tree, i)); err != nil {
					return err
				}
			}
			return nil
		})
	}},
}

type bench struct {
	ctx          context.Context
	opts         Options
	work         string
	ours, theirs string // the two trees
	serverOurs   string // DIR of push-files
	serverTheirs string // rsync's target
	config       string // ssh config reaching sshd through the proxy
	proxy        *netdelay.Proxy
	env          []string
	login        string // the account both tools log in as
	uid, gid     int    // its ids when it is not this process's (else -1)
}

func dataFile(tree string, i int) string {
	return filepath.Join(tree, "services", "app", "data", fmt.Sprintf("d%d", i%20), fmt.Sprintf("f%d.bin", i))
}

func writeFiles(tree string, from, to int) error {
	buf := make([]byte, total/files)
	for i := from; i < to; i++ {
		_, _ = rand.Read(buf)
		path := dataFile(tree, i)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) both(f func(tree string) error) error {
	if err := f(b.ours); err != nil {
		return err
	}
	return f(b.theirs)
}

func (b *bench) resetServers() error {
	for _, p := range []string{b.serverOurs, b.serverOurs + ".releases", b.serverOurs + ".lock", b.serverOurs + ".lock.info", b.serverTheirs} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(b.serverTheirs, 0o755); err != nil {
		return err
	}
	return b.own(b.serverTheirs)
}

// own gives path to the login user, who writes there over ssh.
func (b *bench) own(path string) error {
	if b.uid < 0 {
		return nil
	}
	return os.Chown(path, b.uid, b.gid)
}

func (b *bench) syncUntimed() error {
	if _, err := b.oursInProcess(); err != nil {
		return err
	}
	_, err := b.rsync()
	return err
}

// oursInProcess is what the push-files target does, in this process: a
// new connection, then PushFiles.
func (b *bench) oursInProcess() (time.Duration, error) {
	start := time.Now()
	c, err := remote.Connect(b.ctx, alias, remote.ConnectOptions{Config: b.config})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s, err := stack.Open(b.ours, stack.Options{Server: c, Dir: b.serverOurs})
	if err != nil {
		return 0, err
	}
	if _, err := s.PushFiles(b.ctx, stack.PushOptions{}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// oursProcess runs `go tool mage push-files` as a user does.
func (b *bench) oursProcess() (time.Duration, error) {
	cmd := exec.CommandContext(b.ctx, "go", "tool", "mage", "-w", b.ours, "push-files")
	cmd.Dir = b.opts.Module
	cmd.Env = b.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("go tool mage push-files: %v: %s", err, out)
	}
	return time.Since(start), nil
}

func (b *bench) rsync() (time.Duration, error) {
	cmd := exec.CommandContext(b.ctx, "rsync", "-a", "--delete", "-e", "ssh -F "+b.config, b.theirs+"/", alias+":"+b.serverTheirs+"/")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("rsync: %v: %s", err, out)
	}
	return time.Since(start), nil
}

// measured is one tool's runs of a step.
type measured struct {
	times []time.Duration
	trips []int64
	bytes []int64
}

func (m *measured) add(d time.Duration, p *netdelay.Proxy) {
	sent, received, trips := p.Counts()
	m.times = append(m.times, d)
	m.trips = append(m.trips, trips)
	m.bytes = append(m.bytes, sent+received)
}

func median[T int64 | time.Duration](xs []T) T {
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Run prints the comparison to out.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	if opts.Runs <= 0 {
		opts.Runs = 5
	}
	work, err := os.MkdirTemp("", "selfhosted-bench-upload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(filepath.Join(work, "sshd"), 0o700); err != nil {
		return err
	}
	login, uid, gid, err := loginUser(opts.User)
	if err != nil {
		return err
	}
	if uid >= 0 {
		// The login user reaches the server folders through work.
		if err := os.Chmod(work, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(work, "server"), 0o755); err != nil {
			return err
		}
		if err := os.Chown(filepath.Join(work, "server"), uid, gid); err != nil {
			return err
		}
	}
	sshd, err := sshd.Start(filepath.Join(work, "sshd"), filepath.Join(work, "sshd.log"), sshd.Options{User: login})
	if err != nil {
		return err
	}
	defer sshd.Stop()
	proxy, err := netdelay.Start(fmt.Sprintf("127.0.0.1:%d", sshd.Port), opts.Latency)
	if err != nil {
		return err
	}
	defer proxy.Close()
	config, err := sshd.Via(alias, proxy.Addr().Port)
	if err != nil {
		return err
	}
	b := &bench{ctx: ctx, opts: opts, work: work, ours: filepath.Join(work, "ours"), theirs: filepath.Join(work, "rsync"),
		serverOurs: filepath.Join(work, "server", "ours"), serverTheirs: filepath.Join(work, "server", "rsync"),
		config: config, proxy: proxy, login: login, uid: uid, gid: gid}
	b.env = append(os.Environ(), "SERVER="+alias, "SSH_CONFIG="+config, "DIR="+b.serverOurs, "SSH_AUTH_SOCK=")
	for _, tree := range []string{b.ours, b.theirs} {
		if err := writeStack(tree); err != nil {
			return err
		}
	}
	if err := b.both(func(tree string) error { return writeFiles(tree, 0, files) }); err != nil {
		return err
	}
	// Compile the targets once, so no run pays for it.
	if _, err := b.oursProcess(); err != nil {
		return err
	}

	if err := b.resetServers(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d files, %d MB; loopback sshd (login %s) behind a proxy adding %v each way; median of %d alternating runs\n", files, total>>20, login, opts.Latency, opts.Runs)
	fmt.Fprintf(out, "%-18s | %-38s | %-38s\n", "", "whole process", "in process")
	fmt.Fprintf(out, "%-18s | %9s %9s %6s %5s %5s | %9s %9s %6s %5s %5s\n", "step", "push-files", "rsync", "ratio", "trips", "rsync", "PushFiles", "rsync", "ratio", "trips", "rsync")
	for _, st := range steps {
		var whole, wholeRsync, lib, libRsync measured
		for mode, pair := range [][2]*measured{{&whole, &wholeRsync}, {&lib, &libRsync}} {
			ours := b.oursProcess
			if mode == 1 {
				ours = b.oursInProcess
			}
			for run := 0; run < opts.Runs; run++ {
				if st.prepare != nil {
					if err := st.prepare(b, run); err != nil {
						return err
					}
				} else if run == 0 && st.name == "no-op" {
					if err := b.syncUntimed(); err != nil {
						return err
					}
				}
				tools := []func() (time.Duration, error){ours, b.rsync}
				into := []*measured{pair[0], pair[1]}
				if run%2 == 1 {
					tools[0], tools[1] = tools[1], tools[0]
					into[0], into[1] = into[1], into[0]
				}
				for i, tool := range tools {
					proxy.Reset()
					d, err := tool()
					if err != nil {
						return err
					}
					into[i].add(d, proxy)
				}
			}
		}
		ratio := func(a, b measured) float64 { return float64(median(a.times)) / float64(median(b.times)) }
		fmt.Fprintf(out, "%-18s | %8.0fms %7.0fms %5.2fx %5d %5d | %8.0fms %7.0fms %5.2fx %5d %5d\n", st.name,
			ms(median(whole.times)), ms(median(wholeRsync.times)), ratio(whole, wholeRsync), median(whole.trips), median(wholeRsync.trips),
			ms(median(lib.times)), ms(median(libRsync.times)), ratio(lib, libRsync), median(lib.trips), median(libRsync.trips))
	}
	fmt.Fprintln(out, "goals at 80 ms round trip (whole process): no-op ≤ 0.8x, one changed file ≤ 0.9x, first upload ≤ 1.1x rsync; trips: round trips seen by the proxy")
	return b.deploys(out)
}

// deploys times a no-op `go tool mage deploy` (render, checks, push, up:
// the stack's one service already runs) against its anchor: `ssh host
// true` plus rsync's no-op, each a whole process, alternating.
func (b *bench) deploys(out io.Writer) error {
	deploy := func() (time.Duration, error) {
		cmd := exec.CommandContext(b.ctx, "go", "tool", "mage", "-w", b.ours, "deploy")
		cmd.Dir = b.opts.Module
		cmd.Env = append(b.env, "ALLOW_DIRTY=1")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("go tool mage deploy: %v: %s", err, out)
		}
		return time.Since(start), nil
	}
	sshTrue := func() (time.Duration, error) {
		start := time.Now()
		if out, err := exec.CommandContext(b.ctx, "ssh", "-F", b.config, alias, "true").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("ssh true: %v: %s", err, out)
		}
		return time.Since(start), nil
	}
	defer exec.Command("docker", "compose", "--project-name", project, "down", "--timeout", "1").Run()
	if _, err := deploy(); err != nil { // the first deploy starts the service
		return err
	}
	if err := b.syncUntimed(); err != nil {
		return err
	}
	var ours, ssh, rsync measured
	tools := []func() (time.Duration, error){deploy, sshTrue, b.rsync}
	into := []*measured{&ours, &ssh, &rsync}
	for run := 0; run < b.opts.Runs; run++ {
		for i := range tools {
			j := (i + run) % len(tools) // each goes first in turn
			b.proxy.Reset()
			d, err := tools[j]()
			if err != nil {
				return err
			}
			into[j].add(d, b.proxy)
		}
	}
	anchor := median(ssh.times) + median(rsync.times)
	fmt.Fprintf(out, "\nno-op deploy (whole process): %.0f ms, %d trips; ssh host true %.0f ms (%d trips) + rsync no-op %.0f ms (%d trips) = %.0f ms; ratio %.2fx (goal ≤ 1.3x)\n",
		ms(median(ours.times)), median(ours.trips), ms(median(ssh.times)), median(ssh.trips), ms(median(rsync.times)), median(rsync.trips), ms(anchor), float64(median(ours.times))/float64(anchor))
	return nil
}

// project is the bench stack's compose project: one service of the test
// image that passes the linter, so that deploy runs it.
const project = "benchupload"

const appCompose = `services:
  app:
    image: ` + provision.DebianImage + `
    pull_policy: never
    command: ["tini", "--", "sleep", "infinity"]
    restart: unless-stopped
    networks: [private]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
networks:
  private:
`

// loginUser is the account to log in as: name, else provision's BenchUser
// when it exists, else this process's; its ids are -1 when it is this
// process's own.
func loginUser(name string) (string, int, int, error) {
	self, err := user.Current()
	if err != nil {
		return "", 0, 0, err
	}
	if name == "" {
		name = self.Username
		if _, err := user.Lookup(provision.BenchUser); err == nil {
			name = provision.BenchUser
		}
	}
	if name == self.Username {
		return name, -1, -1, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", 0, 0, fmt.Errorf("the benchmark's login %s: %w (go tool mage testenv creates %s)", name, err, provision.BenchUser)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return name, uid, gid, nil
}

func writeStack(tree string) error {
	for name, content := range map[string]string{
		".env":                                "COMPOSE_PROJECT_NAME=" + project + "\n",
		"services/app/docker-compose.app.yml": appCompose,
	} {
		path := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
