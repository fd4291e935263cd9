package backup

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// Stale restic locks
//
// restic names the host and process that hold a lock. A lock is proven
// stale by its process, never by a guess: on this container, the process
// is gone; in another running container of this Docker host, the Engine
// runs a check inside it; a container of this host that is gone (every
// backup run records its container's hostname in the dumps area) took its
// processes with it. A lock of another host can't be checked: it counts
// as live, unless the caller asks for it and it has not been refreshed for
// ForeignAge (restic refreshes its locks every five minutes).
//
// Locks are removed by `restic unlock` run as their holder's host (here,
// inside the holder's container, or in a throw-away container that takes
// a gone container's hostname): restic then checks each process itself, so
// a lock taken meanwhile by a live restic is never removed. Because plain
// `restic unlock` also removes any lock older than 30 minutes, it only
// runs once every such lock is proven stale.

// ForeignAge is how long another host's lock must have gone unrefreshed
// before it may be removed, when asked.
const ForeignAge = 2 * time.Hour

// resticStale is the age at which restic itself takes a lock for stale.
const resticStale = 30 * time.Minute

// LockState is a restic lock and what is known of its holder.
type LockState struct {
	ID string
	Lock
	Live bool
	// Holder is "here", "container <name>", "gone container" or "another host".
	Holder string
	Why    string
}

// LiveLockError reports locks held by restic processes that still run, or
// by another host, which can't be checked.
type LiveLockError struct{ Locks []LockState }

func (e *LiveLockError) Error() string {
	var parts []string
	for _, l := range e.Locks {
		parts = append(parts, fmt.Sprintf("lock %.8s by PID %d on %s since %s (%s)", l.ID, l.PID, l.Hostname, l.Time.Format("2006-01-02 15:04:05"), l.Why))
	}
	return "not removed: " + strings.Join(parts, "; ")
}

// UnlockOptions tune Unlock.
type UnlockOptions struct {
	// Foreign removes other hosts' locks not refreshed for ForeignAge.
	Foreign bool
	// Now is the time locks are aged against (default time.Now).
	Now time.Time
}

// hostsFile records the hostnames of the containers that ran the backup
// program on this host: their locks can be judged here.
const hostsFile = ".backup-hosts"

func recordHost(dumpsDir string) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return
	}
	known := knownHosts(dumpsDir)
	if known[host] {
		return
	}
	f, err := os.OpenFile(filepath.Join(dumpsDir, hostsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, host)
}

func knownHosts(dumpsDir string) map[string]bool {
	out := map[string]bool{}
	f, err := os.Open(filepath.Join(dumpsDir, hostsFile))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if h := strings.TrimSpace(sc.Text()); h != "" {
			out[h] = true
		}
	}
	return out
}

// Locks lists the repository's locks and what is proven of each.
func Locks(ctx context.Context, o Options, opts UnlockOptions) ([]LockState, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	out, err := resticOutput(ctx, o.Runner, o.Restic.ListLocks())
	if err != nil {
		return nil, err
	}
	here, _ := os.Hostname()
	known := knownHosts(o.DumpsDir)
	var locks []LockState
	for _, id := range strings.Fields(string(out)) {
		raw, err := resticOutput(ctx, o.Runner, o.Restic.CatLock(id))
		if err != nil {
			return nil, err
		}
		l, err := ParseLock(raw)
		if err != nil {
			return nil, fmt.Errorf("read restic lock %s: %w", id, err)
		}
		s := LockState{ID: id, Lock: l}
		switch c, running, err := o.Engine.RunningContainer(ctx, l.Hostname); {
		case err != nil:
			return nil, err
		case l.Hostname == here:
			s.Holder = "here"
			s.Live = processRuns(ctx, run.Local{}, l.PID)
			s.Why = "its process is " + map[bool]string{true: "running", false: "gone"}[s.Live]
		case running:
			s.Holder = "container " + c.ID[:12]
			s.Live = processRunsIn(ctx, o.Engine, c.ID, l.PID)
			s.Why = fmt.Sprintf("its process in container %s (%s) is %s", c.ID[:12], c.Service, map[bool]string{true: "running", false: "gone"}[s.Live])
		case known[l.Hostname]:
			s.Holder = "gone container"
			s.Why = "its container on this host is gone"
		default:
			s.Holder = "another host"
			age := opts.Now.Sub(l.Time)
			s.Live = !(opts.Foreign && age > ForeignAge)
			s.Why = fmt.Sprintf("held on another host, last refreshed %s ago", age.Round(time.Minute))
		}
		locks = append(locks, s)
	}
	return locks, nil
}

// processRuns reports whether pid is a restic process where r runs.
func processRuns(ctx context.Context, r run.Runner, pid int) bool {
	_, err := run.Output(ctx, r, run.Command{Args: []string{"sh", "-c", `kill -0 "$1" 2>/dev/null && grep -q restic "/proc/$1/cmdline"`, "sh", strconv.Itoa(pid)}})
	return err == nil
}

func processRunsIn(ctx context.Context, e Engine, id string, pid int) bool {
	code, err := e.Exec(ctx, id, []string{"sh", "-c", `kill -0 "$1" 2>/dev/null && grep -q restic "/proc/$1/cmdline"`, "sh", strconv.Itoa(pid)}, nil, nil, nil)
	// A container that can't even run the check still holds the lock: live.
	return err != nil || code == 0
}

// Unlock removes the locks proven stale and returns every lock it saw. It
// refuses (a *LiveLockError) to run `restic unlock` at all while a lock
// restic would take for stale by age is not proven so, and reports the
// locks left in place the same way.
func Unlock(ctx context.Context, o Options, opts UnlockOptions) ([]LockState, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	locks, err := Locks(ctx, o, opts)
	if err != nil || len(locks) == 0 {
		return locks, err
	}
	var live, stale []LockState
	for _, l := range locks {
		if l.Live {
			live = append(live, l)
		} else {
			stale = append(stale, l)
		}
	}
	for _, l := range live {
		if opts.Now.Sub(l.Time) > resticStale {
			// restic unlock would remove it: run nothing.
			return locks, &LiveLockError{Locks: live}
		}
	}
	done := map[string]bool{}
	for _, l := range stale {
		key := l.Holder + "/" + l.Hostname
		if done[key] {
			continue
		}
		done[key] = true
		if err := o.unlockAs(ctx, l); err != nil {
			return locks, err
		}
		o.say("unlock: removed the stale lock(s) of %s (%s)", l.Hostname, l.Why)
	}
	if len(live) > 0 {
		return locks, &LiveLockError{Locks: live}
	}
	return locks, nil
}

// unlockAs runs `restic unlock` as the lock's host.
func (o Options) unlockAs(ctx context.Context, l LockState) error {
	switch {
	case l.Holder == "here", l.Holder == "another host":
		_, err := resticOutput(ctx, o.Runner, o.Restic.RemoveLocks())
		return err
	case strings.HasPrefix(l.Holder, "container "):
		id := strings.TrimPrefix(l.Holder, "container ")
		var out run.Tail
		// The holder runs restic with the same repository and password.
		code, err := o.Engine.Exec(ctx, id, append([]string{"env"}, append(o.Restic.Env, o.Restic.RemoveLocks().Args...)...), nil, &out, &out)
		if err != nil || code != 0 {
			return fmt.Errorf("restic unlock in container %s: %v %s", id, err, lastLines(out.String(), 2))
		}
		return nil
	}
	d, ok := o.Engine.(*DockerEngine)
	if !ok {
		return fmt.Errorf("a gone container's lock needs the Docker Engine")
	}
	return d.unlockAsGone(ctx, o, l.Hostname)
}

// unlockAsGone runs `restic unlock` in a throw-away copy of this backup
// container that takes the gone container's hostname: restic finds none of
// its processes there, so it removes that host's stale locks.
func (d *DockerEngine) unlockAsGone(ctx context.Context, o Options, hostname string) error {
	self, _ := os.Hostname()
	me, err := d.cli.ContainerInspect(ctx, self)
	if err != nil {
		return fmt.Errorf("find this backup container to copy: %w", err)
	}
	config := &container.Config{
		Image: me.Config.Image, Hostname: hostname, Env: append(me.Config.Env, o.Restic.Env...),
		Entrypoint: []string{"restic"}, Cmd: []string{"unlock"}, Labels: map[string]string{drillLabel: "unlock"},
	}
	host := &container.HostConfig{Binds: me.HostConfig.Binds, Mounts: me.HostConfig.Mounts, NetworkMode: me.HostConfig.NetworkMode, AutoRemove: false}
	created, err := d.cli.ContainerCreate(ctx, config, host, nil, nil, "")
	if err != nil {
		return err
	}
	defer d.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
	if err := d.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return err
	}
	wait, errs := d.cli.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	select {
	case r := <-wait:
		if r.StatusCode != 0 {
			return fmt.Errorf("restic unlock as %s exited with status %d", hostname, r.StatusCode)
		}
		return nil
	case err := <-errs:
		return err
	}
}
