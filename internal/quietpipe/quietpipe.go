// Package quietpipe ends a program quietly when whoever reads its output
// stops reading (`go tool mage logs | head`).
//
// A Go program writing to a closed pipe on standard output is killed by
// SIGPIPE. That is what `yes | head` does, and shells say nothing; but `go
// tool` runs its tools as children and reports a tool killed by a signal
// ("go tool mage: signal: broken pipe"). Install turns that death into an
// ordinary exit with the status a shell gives a SIGPIPE death, 141, which
// `go tool` passes on without a word.
package quietpipe

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Status is the exit status of a program ended by a closed pipe: 128 +
// SIGPIPE, as shells report a SIGPIPE death.
const Status = 128 + int(syscall.SIGPIPE)

// Install makes a closed standard output or error end the program with
// Status. Other SIGPIPEs (a socket or a child's stdin closing) leave it
// running: their writes fail with EPIPE as they would anyway.
func Install() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGPIPE)
	go func() {
		for range ch {
			if Closed(1) || Closed(2) {
				os.Exit(Status)
			}
		}
	}()
}

// Closed reports whether fd is a pipe or socket whose reader has gone.
func Closed(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
}
