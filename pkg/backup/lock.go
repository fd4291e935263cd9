package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// One backup program at a time per host and project: a scheduled backup, a
// one-shot one, a restore and an unlock all hold flock on a file in the
// dumps area, which every backup container sees at the same host path. A
// second one waits, saying who it waits for, and gives up after a while
// naming the holder.

const (
	hostLockFile = ".backup.lock"
	hostLockInfo = ".backup.lock.info"
)

// BusyError reports another backup run holding the host lock.
type BusyError struct {
	Holder string
	Waited time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("another backup run holds the lock (%s); waited %s", e.Holder, e.Waited.Round(time.Second))
}

// lockHost takes the host lock, waiting up to wait; the returned function
// releases it.
func lockHost(ctx context.Context, dumpsDir, what string, wait time.Duration, say func(string, ...any)) (func(), error) {
	if err := os.MkdirAll(dumpsDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dumpsDir, hostLockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		holder := readHolder(dumpsDir)
		if time.Since(began) >= wait {
			f.Close()
			return nil, &BusyError{Holder: holder, Waited: time.Since(began)}
		}
		if !announced {
			say("backup: waiting for another backup run to finish (%s)", holder)
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	recordHost(dumpsDir)
	host, _ := os.Hostname()
	info := fmt.Sprintf("%s in container %s (pid %d) since %s", what, host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	_ = os.WriteFile(filepath.Join(dumpsDir, hostLockInfo), []byte(info+"\n"), 0o600)
	return func() {
		_ = os.Remove(filepath.Join(dumpsDir, hostLockInfo))
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func readHolder(dumpsDir string) string {
	data, err := os.ReadFile(filepath.Join(dumpsDir, hostLockInfo))
	if err != nil || strings.TrimSpace(string(data)) == "" {
		return "holder unknown"
	}
	return strings.TrimSpace(string(data))
}

// internalFiles are the dumps area's own files, never snapshotted.
func internalFiles(dumpsDir string) []string {
	return []string{
		filepath.Join(dumpsDir, hostLockFile),
		filepath.Join(dumpsDir, hostLockInfo),
		filepath.Join(dumpsDir, PausedFile),
		filepath.Join(dumpsDir, hostsFile),
		filepath.Join(dumpsDir, ".*.tmp-*"), // a dump being written
	}
}
