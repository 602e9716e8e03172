package proxy

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/tunnel"
	"github.com/callgate/callgate/routing"
)

// idleTunnelCount is how many idle tunnels TestIdleTunnelMemory holds.
const idleTunnelCount = 2000

// rawSink accepts TCP connections and holds them without reading: the
// cheapest possible upstream, so the figures are the proxy's.
type rawSink struct {
	ln    net.Listener
	conns chan net.Conn
}

func startRawSink(t testing.TB, n int) *rawSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSink{ln: ln, conns: make(chan net.Conn, n+16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for {
			select {
			case c := <-s.conns:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return s
}

// closeAccepted closes the next n accepted connections, waiting for them.
func (s *rawSink) closeAccepted(n int) {
	for range n {
		select {
		case c := <-s.conns:
			_ = c.Close()
		case <-time.After(5 * time.Second):
			return
		}
	}
}

// memSnapshot is the process's live heap and stacks after a GC, and its
// open descriptors.
type memSnapshot struct {
	heap, stack uint64
	fds         int
}

func takeMem(t testing.TB) memSnapshot {
	t.Helper()
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return memSnapshot{heap: ms.HeapInuse, stack: ms.StackInuse, fds: len(ents)}
}

// openIdleTunnels opens n CONNECT tunnels to target and waits for every
// 200; the caller closes the returned connections.
func openIdleTunnels(t testing.TB, proxyAddr, target string, n int) []net.Conn {
	t.Helper()
	req := fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	conns := make([]net.Conn, 0, n)
	br := bufio.NewReaderSize(nil, 256)
	for i := range n {
		c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
		if err != nil {
			t.Fatalf("tunnel %d: dial: %v", i, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatalf("tunnel %d: write: %v", i, err)
		}
		br.Reset(c)
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("tunnel %d: reply %q, %v", i, line, err)
		}
		if l, err := br.ReadString('\n'); err != nil || l != "\r\n" {
			t.Fatalf("tunnel %d: reply header %q, %v", i, l, err)
		}
		_ = c.SetDeadline(time.Time{})
	}
	return conns
}

// TestIdleTunnelMemory holds idleTunnelCount idle CONNECT tunnels through
// a real Server and reports what each costs the process: live heap plus
// goroutine stacks, and descriptors. The test side's own sockets (client
// and upstream ends) are measured first, the same way, and subtracted.
// Only the descriptor count is asserted; memory is reported (the race
// detector inflates it).
func TestIdleTunnelMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of sockets")
	}
	n := idleTunnelCount
	if os.Getenv("CALLGATE_IDLE_HEAPPROFILE") != "" {
		defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	e := newEnv(t, func(o *Options) {
		o.Logger = zap.NewNop()
		o.Timeouts.IdleTunnel = time.Minute
		// Thousands of loopback dials on a loaded machine: the harness's
		// 300 ms would fail one now and then (a 504), not what this measures.
		o.Timeouts.Dial = 10 * time.Second
	})
	sink := startRawSink(t, 2*n)
	port := uint16(sink.ln.Addr().(*net.TCPAddr).Port)
	e.setCreds(append(e.creds, routing.Credential{Name: "Idle",
		URL: fmt.Sprintf("http://idle.partner.example:%d", port), Connection: "plain"}))
	target := fmt.Sprintf("idle.partner.example:%d", port)

	// Warm up: the first tunnels build pools, maps and metric children.
	warm := openIdleTunnels(t, e.addr, target, 50)
	for _, c := range warm {
		_ = c.Close()
	}
	sink.closeAccepted(len(warm))
	eventually(t, "warm-up tunnels end", func() bool { return flowCount(&e.srv.flows) == 0 })

	// Baseline: the test's own two sockets per tunnel, no proxy.
	base0 := takeMem(t)
	direct := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.DialTimeout("tcp", sink.ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatalf("direct %d: %v", i, err)
		}
		direct = append(direct, c)
	}
	eventually(t, "sink accepted the direct connections", func() bool { return len(sink.conns) >= n })
	base1 := takeMem(t)
	for _, c := range direct {
		_ = c.Close()
	}
	sink.closeAccepted(n)

	before := takeMem(t)
	conns := openIdleTunnels(t, e.addr, target, n)
	eventually(t, "sink accepted the tunnels", func() bool { return len(sink.conns) >= n })
	time.Sleep(200 * time.Millisecond) // let handler goroutines finish returning
	active := takeMem(t)
	// Idle past tunnelParkAfter, every tunnel gives up its goroutines.
	eventually(t, "every idle tunnel parked", func() bool { return tunnel.Parked() >= 2*n })
	after := takeMem(t)
	// Parked tunnels hold no goroutine: neither their copying nor a
	// watcher of their stop (the flow stops them through their Handle).
	if g := runtime.NumGoroutine(); g > n/10 {
		t.Errorf("%d goroutines with %d parked tunnels, want none per tunnel", g, n)
	}
	if path := os.Getenv("CALLGATE_IDLE_HEAPPROFILE"); path != "" {
		writeHeapProfile(t, path)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	sink.closeAccepted(n)
	eventually(t, "tunnels end", func() bool { return flowCount(&e.srv.flows) == 0 })

	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	baseHeap, baseStack := per(base1.heap, base0.heap), per(base1.stack, base0.stack)
	heap, stack := per(after.heap, before.heap)-baseHeap, per(after.stack, before.stack)-baseStack
	fds := float64(after.fds-before.fds-(base1.fds-base0.fds)) / float64(n)
	aHeap, aStack := per(active.heap, before.heap)-baseHeap, per(active.stack, before.stack)-baseStack
	t.Logf("%d idle tunnels, per tunnel in the proxy: before parking heap %.0f B + stack %.0f B = %.2f KiB; parked heap %.0f B + stack %.0f B = %.0f B (%.2f KiB), %.2f fds (test side: heap %.0f B, stack %.0f B)",
		n, aHeap, aStack, (aHeap+aStack)/1024, heap, stack, heap+stack, (heap+stack)/1024, fds, baseHeap, baseStack)
	if fds > 2.05 {
		t.Errorf("%.2f descriptors per idle tunnel, want 2", fds)
	}
}

// flowCount is how many flows fs holds.
func flowCount(fs *flows) int {
	n := 0
	for i := range fs.shards {
		sh := &fs.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// writeHeapProfile writes the live heap to path, to see what an idle
// tunnel holds (CALLGATE_IDLE_HEAPPROFILE=file).
func writeHeapProfile(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}
