package certgen

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// HandshakeServer is a TLS endpoint on 127.0.0.1 that completes handshakes
// with one certificate, then closes, and counts the connections it
// accepted: what a probe of an endpoint sees, without an HTTP server.
type HandshakeServer struct {
	Addr     string
	Accepted atomic.Int64
}

// StartHandshakeServer starts one for tb, stopped when tb ends.
func StartHandshakeServer(tb testing.TB, leaf *Leaf) *HandshakeServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &HandshakeServer{Addr: ln.Addr().String()}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	var wg sync.WaitGroup
	tb.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.Accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := tls.Server(c, cfg)
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				_ = tc.Handshake()
				_ = tc.Close()
			}()
		}
	}()
	return u
}
