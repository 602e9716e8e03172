package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serveOnce answers each request on one accepted connection with the next
// canned response, then closes the connection.
func serveOnce(t *testing.T, responses ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for _, r := range responses {
			for { // skip the request head
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := io.WriteString(c, r); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resp     string
		wantN    int64
		wantKeep bool
		wantErr  error
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 5, true, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 5, true, nil},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 2, false, nil},
		{"to-eof", "HTTP/1.0 200 OK\r\n\r\nuntil eof", 9, false, nil},
		{"status", "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno", 2, true, errStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveOnce(t, tc.resp)
			cn, err := dial(target{origin: addr}, time.Now().Add(5*time.Second), 4096)
			if err != nil {
				t.Fatal(err)
			}
			defer cn.close()
			keep, n, err := cn.roundTrip(target{origin: addr}.request("/"), make([]byte, 3))
			if !errors.Is(err, tc.wantErr) || n != tc.wantN || keep != tc.wantKeep {
				t.Fatalf("roundTrip = keep %v, n %d, err %v; want %v, %d, %v", keep, n, err, tc.wantKeep, tc.wantN, tc.wantErr)
			}
		})
	}
}

// A reused connection that the server closed silently (tinyproxy's habit)
// reports errStale, not a failure.
func TestRoundTripStale(t *testing.T) {
	addr := serveOnce(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tg := target{origin: addr}
	cn, err := dial(tg, time.Now().Add(5*time.Second), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.close()
	if _, _, err := cn.roundTrip(tg.request("/"), make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server's close arrive
	if _, _, err := cn.roundTrip(tg.request("/"), make([]byte, 64)); !errors.Is(err, errStale) {
		t.Fatalf("second request on a closed connection: %v, want errStale", err)
	}
}

func TestConnectRefused(t *testing.T) {
	addr := serveOnce(t, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	_, err := dial(target{proxy: addr, origin: "origin.bench.internal:80", tunnel: true}, time.Now().Add(5*time.Second), 4096)
	if !errors.Is(err, errStatus) {
		t.Fatalf("dial through a refusing proxy: %v, want errStatus", err)
	}
}

func TestRequestForms(t *testing.T) {
	abs := target{proxy: "127.0.0.1:3128", origin: "o.example:80"}.request("/")
	if !strings.HasPrefix(string(abs), "GET http://o.example:80/ HTTP/1.1\r\n") {
		t.Errorf("absolute form: %q", abs)
	}
	tun := target{proxy: "127.0.0.1:3128", origin: "o.example:80", tunnel: true}.request("/")
	if !strings.HasPrefix(string(tun), "GET / HTTP/1.1\r\nHost: o.example:80\r\n") {
		t.Errorf("tunnel form: %q", tun)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		dialed bool
		ok     bool
	}{
		{"127.0.0.1:80", true, true},
		{"[::1]:80", true, true},
		{"localhost:80", true, true},
		{"10.0.0.1:80", true, false},
		{"192.168.1.1:80", false, false},
		{"origin.bench.internal:80", false, true},
		{"origin.bench.internal:80", true, false},
	} {
		if err := loopbackOnly(tc.addr, tc.dialed); (err == nil) != tc.ok {
			t.Errorf("loopbackOnly(%q, %v) = %v, want ok=%v", tc.addr, tc.dialed, err, tc.ok)
		}
	}
}
