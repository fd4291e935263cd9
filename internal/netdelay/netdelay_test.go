package netdelay

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echoServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestProxyDelaysEachWayAndCountsRoundTrips(t *testing.T) {
	p, err := Start(echoServer(t), 30*time.Millisecond)
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	began := time.Now()
	for i := 0; i < 3; i++ {
		_, err := c.Write([]byte("ping\n"))
		require.NoError(t, err)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "ping\n", line)
	}
	assert.GreaterOrEqual(t, time.Since(began), 3*60*time.Millisecond, "three round trips of twice the latency")
	sent, received, trips := p.Counts()
	assert.Equal(t, int64(15), sent)
	assert.Equal(t, int64(15), received)
	assert.Equal(t, int64(3), trips)
	p.Reset()
	sent, _, trips = p.Counts()
	assert.Zero(t, sent+trips)
}

func TestProxyPassesTheEndOfAStreamOn(t *testing.T) {
	p, err := Start(echoServer(t), 0)
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr().String())
	require.NoError(t, err)
	_, err = c.Write([]byte("last\n"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	all := make([]byte, 64)
	n, _ := bufio.NewReader(c).Read(all)
	assert.Equal(t, "last\n", string(all[:n]))
}
