package tunnel

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// legs are the four sockets of one proxied tunnel: the test's client end,
// the two ends Pipe owns, and the test's upstream end.
type legs struct {
	client, proxyC, proxyU, upstream net.Conn
}

// loopback is a listener to make connected TCP pairs from.
type loopback struct{ ln *net.TCPListener }

func newLoopback(tb testing.TB) *loopback {
	tb.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return &loopback{ln: ln}
}

// pair returns both ends of a fresh loopback TCP connection.
func (l *loopback) pair(tb testing.TB) (dialed, accepted *net.TCPConn) {
	tb.Helper()
	d, err := net.DialTCP("tcp", nil, l.ln.Addr().(*net.TCPAddr))
	if err != nil {
		tb.Fatal(err)
	}
	a, err := l.ln.AcceptTCP()
	if err != nil {
		tb.Fatal(err)
	}
	return d, a
}

func (l *loopback) legs(tb testing.TB) legs {
	c, pc := l.pair(tb)
	pu, u := l.pair(tb)
	return legs{client: c, proxyC: pc, proxyU: pu, upstream: u}
}

func (g legs) closeTestEnds() {
	g.client.Close()
	g.upstream.Close()
}

// startPipe runs Pipe on the proxy ends and delivers its Result.
func startPipe(g legs, opts Options) <-chan Result {
	ch := make(chan Result, 1)
	go func() { ch <- Pipe(g.proxyC, g.proxyU, opts) }()
	return ch
}

func waitResult(tb testing.TB, ch <-chan Result, within time.Duration) Result {
	tb.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		tb.Fatalf("Pipe did not return within %v", within)
		return Result{}
	}
}

// plainConn hides the *net.TCPConn type so Pipe takes its portable loop,
// while keeping CloseWrite.
type plainConn struct{ *net.TCPConn }

func (p plainConn) Read(b []byte) (int, error) { return p.TCPConn.Read(b) }

// countFDs counts this process's open descriptors.
func countFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents) - 1 // ReadDir's own descriptor
}

// memInUse is live heap and goroutine stacks after full collections
// (several, so stacks shrink step by step and pooled buffers are dropped).
func memInUse() (heap, stack int64) {
	var ms runtime.MemStats
	for range 4 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// tlsPair returns a TLS server conn (Pipe's side) and its client over TCP.
func tlsPair(tb testing.TB, l *loopback) (server *tls.Conn, client *tls.Conn) {
	tb.Helper()
	cert := selfSigned(tb)
	d, a := l.pair(tb)
	server = tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	client = tls.Client(d, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	return server, client
}

// unixPair returns both ends of a Unix stream socket connection.
func unixPair(tb testing.TB) (dialed, accepted *net.UnixConn) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		tb.Skipf("no unix sockets: %v", err)
	}
	defer ln.Close()
	d, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := ln.AcceptUnix()
	if err != nil {
		tb.Fatal(err)
	}
	return d, a
}
