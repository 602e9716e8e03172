// Command origin is the benchmark's HTTP/1.1 origin: a raw net.Conn server
// that answers every keep-alive request with a fixed small response as cheaply
// as it can, so the proxy under test, not the origin, sets the figures.
//
//	GET /                  → 200, 13-byte body
//	GET /bulk?bytes=N      → 200, N bytes of zeros (bulk source)
//	POST /sink (Content-Length: N) → reads and discards N bytes, 200
//
// It writes its PID to --pidfile and serves until SIGINT/SIGTERM. It is a
// benchmark tool, not part of callgate.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/callgate/callgate/bench/internal/wire"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// smallBody is what GET / returns; small, so the figure is per-request cost.
const smallBody = "hello, bench\n"

var smallResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
	strconv.Itoa(len(smallBody)) + "\r\n\r\n" + smallBody)

// bulkChunk is the write size of the bulk source: large, so the origin does
// few syscalls per GiB.
const bulkChunk = 256 << 10

func main() {
	os.Exit(run())
}

func run() int {
	addr := flag.String("listen", "127.0.0.1:0", "listen address (loopback only)")
	pidfile := flag.String("pidfile", "", "write the PID here")
	portfile := flag.String("portfile", "", "write the bound port here once listening")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "origin: listen %s: %v\n", *addr, err)
		return 1
	}
	if !ln.Addr().(*net.TCPAddr).IP.IsLoopback() {
		fmt.Fprintf(os.Stderr, "origin: refusing non-loopback address %s\n", ln.Addr())
		return 1
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "origin: %v\n", err)
			return 1
		}
	}
	if *portfile != "" {
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		if err := os.WriteFile(*portfile, []byte(port+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "origin: %v\n", err)
			return 1
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()
	zeros := make([]byte, bulkChunk)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0
			}
			continue // EMFILE and friends: keep serving the rest
		}
		go serve(c, zeros)
	}
}

// serve answers requests on one connection until the peer closes it or asks
// for Connection: close.
func serve(c net.Conn, zeros []byte) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	for {
		req, err := readRequest(br)
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(req.path, []byte("/bulk")):
			if err := writeBulk(c, req.bulkBytes, zeros); err != nil {
				return
			}
		case bytes.HasPrefix(req.path, []byte("/sink")):
			if _, err := io.CopyN(io.Discard, br, req.contentLength); err != nil {
				return
			}
			if _, err := c.Write(smallResponse); err != nil {
				return
			}
		default:
			if req.contentLength > 0 {
				if _, err := br.Discard(int(req.contentLength)); err != nil {
					return
				}
			}
			if _, err := c.Write(smallResponse); err != nil {
				return
			}
		}
		if req.close {
			return
		}
	}
}

func writeBulk(c net.Conn, n int64, zeros []byte) error {
	hdr := "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
		strconv.FormatInt(n, 10) + "\r\n\r\n"
	if _, err := io.WriteString(c, hdr); err != nil {
		return err
	}
	for n > 0 {
		chunk := zeros
		if n < int64(len(chunk)) {
			chunk = chunk[:n]
		}
		w, err := c.Write(chunk)
		n -= int64(w)
		if err != nil {
			return err
		}
	}
	return nil
}

type request struct {
	path          []byte // request target with any scheme://authority removed; aliases the reader's buffer
	contentLength int64
	bulkBytes     int64
	close         bool
}

var (
	errBadRequest = errors.New("bad request")
	hdrCL         = []byte("content-length:")
	hdrConn       = []byte("connection:")
	tokClose      = []byte("close")
	tokKeepAlive  = []byte("keep-alive")
	bulkParam     = []byte("bytes=")
)

// readRequest reads one request head. Proxies may forward absolute-form
// targets, so "http://host/path" is reduced to "/path".
func readRequest(br *bufio.Reader) (request, error) {
	var r request
	line, err := br.ReadSlice('\n')
	if err != nil {
		return r, err
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return r, errBadRequest
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 {
		return r, errBadRequest
	}
	target := rest[:sp2]
	if i := bytes.Index(target, []byte("://")); i >= 0 {
		target = target[i+3:]
		if j := bytes.IndexByte(target, '/'); j >= 0 {
			target = target[j:]
		} else {
			target = []byte("/")
		}
	}
	http10 := bytes.HasPrefix(rest[sp2+1:], []byte("HTTP/1.0"))
	r.close = http10
	if bytes.HasPrefix(target, []byte("/bulk")) {
		r.bulkBytes = 1 << 30
		if i := bytes.Index(target, bulkParam); i >= 0 {
			if n, err := strconv.ParseInt(string(target[i+len(bulkParam):]), 10, 64); err == nil && n >= 0 {
				r.bulkBytes = n
			}
		}
		r.path = []byte("/bulk") // the reader's buffer is about to be reused
	} else if bytes.HasPrefix(target, []byte("/sink")) {
		r.path = []byte("/sink")
	}
	for i := 0; i < 100; i++ {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return r, err
		}
		if len(h) <= 2 { // "\r\n": end of head
			return r, nil
		}
		switch {
		case wire.HasPrefixFold(h, hdrCL):
			v := bytes.TrimSpace(h[len(hdrCL):])
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return r, errBadRequest
			}
			r.contentLength = n
		case wire.HasPrefixFold(h, hdrConn):
			v := h[len(hdrConn):]
			if wire.ContainsFold(v, tokClose) {
				r.close = true
			} else if http10 && wire.ContainsFold(v, tokKeepAlive) {
				r.close = false
			}
		}
	}
	return r, errBadRequest
}
