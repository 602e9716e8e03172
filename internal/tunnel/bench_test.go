package tunnel

import (
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkPipeBulk pushes 1 MiB per iteration one way through a single
// tunnel over loopback TCP (run with -benchtime=1024x for 1 GiB) and
// compares Pipe (32 KiB buffers stepping up to 128 KiB in bulk), the raw
// pooled-buffer copy at fixed buffer sizes, the portable Read loop, io.Copy
// (which splices between TCP sockets) and a direct connection.
func BenchmarkPipeBulk(b *testing.B) {
	pooled := func(size int) pipeFunc {
		pools := &bufPools{small: newBufPool(size)}
		return func(g legs, _ chan struct{}) Result {
			return pipe(g.proxyC, g.proxyU, Options{IdleTimeout: time.Minute}, pools, false)
		}
	}
	adaptive := func(g legs, _ chan struct{}) Result {
		return pipe(g.proxyC, g.proxyU, Options{IdleTimeout: time.Minute}, defaultPools, false)
	}
	hybrid := func(g legs, _ chan struct{}) Result {
		return Pipe(g.proxyC, g.proxyU, Options{IdleTimeout: time.Minute})
	}
	plain := func(g legs, _ chan struct{}) Result {
		return Pipe(plainConn{g.proxyC.(*net.TCPConn)}, plainConn{g.proxyU.(*net.TCPConn)}, Options{})
	}
	cases := []struct {
		name string
		fn   pipeFunc // nil: direct connection
	}{
		{"direct", nil},
		{"Pipe-32K-then-splice", hybrid},
		{"pooled-32K-then-128K", adaptive},
		{"pooled-16K", pooled(16 << 10)},
		{"pooled-32K", pooled(32 << 10)},
		{"pooled-64K", pooled(64 << 10)},
		{"pooled-128K", pooled(128 << 10)},
		{"pooled-256K", pooled(256 << 10)},
		{"plain-32K", plain},
		{"splice-io.Copy", spliceReference},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) { benchBulk(b, tc.fn) })
	}
}

func benchBulk(b *testing.B, fn pipeFunc) {
	const chunk = 1 << 20
	l := newLoopback(b)
	var src, dst net.Conn
	var res chan Result
	if fn == nil {
		d, a := l.pair(b)
		src, dst = d, a
	} else {
		g := l.legs(b)
		src, dst = g.client, g.upstream
		res = make(chan Result, 1)
		go func() { res <- fn(g, nil) }()
	}
	defer src.Close()
	defer dst.Close()
	received := make(chan int64, 1)
	go func() {
		buf := make([]byte, 256<<10)
		var n int64
		for {
			m, err := dst.Read(buf)
			n += int64(m)
			if err != nil {
				received <- n
				return
			}
		}
	}()
	data := make([]byte, chunk)
	b.SetBytes(chunk)
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	_ = src.(*net.TCPConn).CloseWrite()
	if n := <-received; n != int64(b.N)*chunk {
		b.Fatalf("received %d bytes, sent %d", n, int64(b.N)*chunk)
	}
	b.StopTimer()
	// CPU per MB (user+system, both ends and the kernel's loopback work
	// included) is steadier than MB/s on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/MB")
	if res != nil {
		_ = dst.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, src)
		<-res
	}
}

// BenchmarkIdleMemory opens 1,000 idle tunnels per iteration and reports
// what each holds beyond its sockets.
func BenchmarkIdleMemory(b *testing.B) {
	for _, tc := range []struct {
		name string
		fn   pipeFunc
	}{{"Pipe", pipeWithOptions}, {"splice-io.Copy", spliceReference}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1000
			var f idleFigures
			for range b.N {
				f = probeIdle(b, n, tc.fn)
			}
			b.ReportMetric(f.bytesPerTunnel, "B/idle-tunnel")
			b.ReportMetric(f.stackPerTunnel, "stack-B/idle-tunnel")
			b.ReportMetric(float64(f.extraFDs)/n, "fds/idle-tunnel")
			b.ReportMetric(f.goroutinesPerTunn, "goroutines/idle-tunnel")
		})
	}
}
