package backup

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/selfhosted-go/selfhosted/pkg/run"
)

// LockState is a restic lock and whether its holder still runs.
type LockState struct {
	ID string
	Lock
	Live bool
	Why  string
}

// LiveLockError refuses to unlock while a holder runs.
type LiveLockError struct{ Locks []LockState }

func (e *LiveLockError) Error() string {
	var parts []string
	for _, l := range e.Locks {
		parts = append(parts, fmt.Sprintf("lock %.8s by PID %d on %s since %s (%s)", l.ID, l.PID, l.Hostname, l.Time.Format("2006-01-02 15:04:05"), l.Why))
	}
	return "a restic process is still running, so its lock is not removed: " + strings.Join(parts, "; ") + "; wait for it to finish"
}

// Locks lists the repository's locks and proves, for each, whether its
// holder still runs: a process on this host (the one restic runs on) is
// alive or not; on another host, the holder is the backup container whose
// hostname the lock names, running or not (Docker API).
func Locks(ctx context.Context, o Options) ([]LockState, error) {
	out, err := Output(ctx, o.Runner, o.Restic.ListLocks())
	if err != nil {
		return nil, err
	}
	host, err := run.Output(ctx, o.Runner, run.Command{Args: []string{"hostname"}})
	if err != nil {
		return nil, err
	}
	here := strings.TrimSpace(string(host))
	var locks []LockState
	for _, id := range strings.Fields(string(out)) {
		raw, err := Output(ctx, o.Runner, o.Restic.CatLock(id))
		if err != nil {
			return nil, err
		}
		l, err := ParseLock(raw)
		if err != nil {
			return nil, fmt.Errorf("read restic lock %s: %w", id, err)
		}
		s := LockState{ID: id, Lock: l}
		if l.Hostname == here {
			_, err := run.Output(ctx, o.Runner, run.Command{Args: []string{"kill", "-0", strconv.Itoa(l.PID)}})
			s.Live = err == nil
			s.Why = "its process is " + map[bool]string{true: "running", false: "gone"}[s.Live]
		} else {
			running, err := o.Engine.ContainerRunning(ctx, l.Hostname)
			if err != nil {
				return nil, err
			}
			s.Live = running
			s.Why = "container " + l.Hostname + " is " + map[bool]string{true: "running", false: "gone"}[running]
		}
		locks = append(locks, s)
	}
	return locks, nil
}

// Unlock removes the repository's locks once every one is proven stale,
// and returns them; a live lock refuses with a *LiveLockError.
func Unlock(ctx context.Context, o Options) ([]LockState, error) {
	locks, err := Locks(ctx, o)
	if err != nil || len(locks) == 0 {
		return locks, err
	}
	var live []LockState
	for _, l := range locks {
		if l.Live {
			live = append(live, l)
		}
	}
	if len(live) > 0 {
		return locks, &LiveLockError{Locks: live}
	}
	// Every lock was just proven stale; --remove-all also takes those
	// restic itself would still think fresh (e.g. of a vanished container).
	c := o.Restic.RemoveLocks()
	c.Args = append(c.Args, "--remove-all")
	_, err = Output(ctx, o.Runner, c)
	return locks, err
}

// ContainerRunning implements Engine: whether a running container has that
// id prefix (a container's default hostname is its short id).
func (d *DockerEngine) ContainerRunning(ctx context.Context, idPrefix string) (bool, error) {
	list, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("id", idPrefix), filters.Arg("status", "running"))})
	if err != nil {
		return false, err
	}
	return len(list) > 0, nil
}
