package remote

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Round trips, not bytes, decide how long a run takes at a real distance
// (a VPS is 30-150 ms away), so the connection counts them: a read that
// follows a write is one turn of the conversation, a round trip the client
// waited for. Requests sent together before reading (pipelined) count once.

// turnConn counts a connection's round trips.
type turnConn struct {
	net.Conn
	wrote atomic.Bool
	turns atomic.Int64
}

func (c *turnConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.wrote.Store(true)
	}
	return n, err
}

func (c *turnConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.wrote.Swap(false) {
		c.turns.Add(1)
	}
	return n, err
}

// RoundTrips is how many round trips the connection has taken so far,
// handshake included.
func (c *Client) RoundTrips() int64 {
	if c.conn == nil {
		return 0
	}
	return c.conn.turns.Load()
}

// tracer writes each phase's time and round trips (ConnectOptions.Trace).
type tracer struct {
	mu        sync.Mutex
	w         io.Writer
	start     time.Time
	last      time.Time
	lastTurns int64
}

// Trace notes the end of a phase of the run: its time and the round trips
// it took, when ConnectOptions.Trace asked for them. Phases done on this
// machine (render, checks) are traced too: their round trips are those of
// the handshake running meanwhile.
func (c *Client) Trace(phase string) {
	t := c.tracer
	if t == nil || t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now, turns := time.Now(), c.RoundTrips()
	fmt.Fprintf(t.w, "trace: %-22s %6.0f ms %3d round trips   (total %6.0f ms, %3d)\n", phase,
		float64(now.Sub(t.last).Microseconds())/1000, turns-t.lastTurns, float64(now.Sub(t.start).Microseconds())/1000, turns)
	t.last, t.lastTurns = now, turns
}
