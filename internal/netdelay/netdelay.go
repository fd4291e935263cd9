// Package netdelay is a TCP proxy that makes loopback look like a real
// network: every byte is delivered Latency after it was sent, in each
// direction, so a round trip costs twice Latency. It counts the bytes each
// way and the round trips (each time the client speaks again after the
// server answered), so benchmarks can say what a protocol costs at a
// distance rather than on loopback.
package netdelay

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections to Upstream, delayed.
type Proxy struct {
	Upstream string
	Latency  time.Duration // one way

	listener net.Listener
	sent     atomic.Int64 // client → server bytes
	received atomic.Int64 // server → client bytes
	trips    atomic.Int64
	wg       sync.WaitGroup
}

// Start listens on a free loopback port.
func Start(upstream string, latency time.Duration) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Upstream: upstream, Latency: latency, listener: l}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() *net.TCPAddr { return p.listener.Addr().(*net.TCPAddr) }

// Close stops accepting connections.
func (p *Proxy) Close() error {
	err := p.listener.Close()
	p.wg.Wait()
	return err
}

// Counts returns the bytes sent by clients, received by them, and the
// round trips since the last Reset.
func (p *Proxy) Counts() (sent, received, roundTrips int64) {
	return p.sent.Load(), p.received.Load(), p.trips.Load()
}

// Reset zeroes the counts.
func (p *Proxy) Reset() {
	p.sent.Store(0)
	p.received.Store(0)
	p.trips.Store(0)
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *Proxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.Upstream)
	if err != nil {
		client.Close()
		return
	}
	// turn tracks who spoke last on this connection: a client burst after
	// a server one is a new round trip.
	var mu sync.Mutex
	serverSpoke := true
	onClient := func(n int) {
		p.sent.Add(int64(n))
		mu.Lock()
		if serverSpoke {
			p.trips.Add(1)
			serverSpoke = false
		}
		mu.Unlock()
	}
	onServer := func(n int) {
		p.received.Add(int64(n))
		mu.Lock()
		serverSpoke = true
		mu.Unlock()
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client, onClient); done <- struct{}{} }()
	go func() { p.pipe(client, server, onServer); done <- struct{}{} }()
	<-done
	<-done
	client.Close()
	server.Close()
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies from → to, each chunk delivered Latency after it was read.
func (p *Proxy) pipe(to, from net.Conn, count func(int)) {
	queue := make(chan chunk, 4096)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := from.Read(buf)
			if n > 0 {
				count(n)
				queue <- chunk{buf[:n], time.Now().Add(p.Latency)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range queue {
		if wait := time.Until(c.due); wait > 0 {
			time.Sleep(wait)
		}
		if _, err := to.Write(c.data); err != nil {
			for range queue {
			}
			return
		}
	}
	// The source ended: pass the end on, so the other side sees EOF.
	if tc, ok := to.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = to.Close()
	}
}
