package rawio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair is a connected loopback TCP pair: a is wrapped, b is plain.
func pair(t *testing.T) (*net.TCPConn, *Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	rw, err := New(a.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	return a.(*net.TCPConn), rw, b
}

// TestBulkBothWays: 16 MiB each way at once, far more than the socket
// buffers hold, so writes wait in the poller (EAGAIN) and reads wait for
// data; every byte arrives in order.
func TestBulkBothWays(t *testing.T) {
	_, rw, peer := pair(t)
	out := make([]byte, 16<<20)
	in := make([]byte, 16<<20)
	_, _ = rand.Read(out)
	_, _ = rand.Read(in)
	errc := make(chan error, 3)
	go func() { // rawio writes, the peer reads
		n, err := rw.Write(out)
		if err == nil && n != len(out) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	got := make([]byte, len(out))
	go func() {
		_, err := io.ReadFull(peer, got)
		errc <- err
	}()
	go func() { // the peer writes, rawio reads
		_, err := peer.Write(in)
		errc <- err
	}()
	back := make([]byte, len(in))
	if _, err := io.ReadFull(rw, back); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, out) || !bytes.Equal(back, in) {
		t.Fatal("bytes differ")
	}
}

func TestEOFAndReset(t *testing.T) {
	_, rw, peer := pair(t)
	if _, err := peer.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	_ = peer.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(rw)
	if err != nil || string(b) != "last" {
		t.Fatalf("ReadAll = %q, %v; want \"last\", nil (EOF ends it)", b, err)
	}

	_, rw, peer = pair(t)
	_ = peer.(*net.TCPConn).SetLinger(0)
	_ = peer.Close() // RST
	var werr error
	for range 100 { // the first writes may still be accepted before the RST is seen
		if _, werr = rw.Write(make([]byte, 64<<10)); werr != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(werr, syscall.ECONNRESET) && !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("write after the peer's reset: %v, want ECONNRESET or EPIPE", werr)
	}
}

// TestDeadlinesAndClose: the poller still applies deadlines and Close.
func TestDeadlinesAndClose(t *testing.T) {
	c, rw, _ := pair(t)
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := rw.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})

	// A write that waits for buffer space (the peer never reads) ends at
	// its deadline, having written part.
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := rw.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("blocked write: n=%d err=%v, want a part and a deadline error", n, err)
	}
	_ = c.SetWriteDeadline(time.Time{})

	done := make(chan error, 1)
	go func() {
		_, err := rw.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: %v, want net.ErrClosed", err)
	}
}
