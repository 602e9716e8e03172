package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// headerEnd returns the length of the header block at the start of b (up
// to and including the empty line, CRLF or bare LF as net/http allows),
// or 0 when b does not hold all of it yet.
func headerEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// laneParser holds the reader http.ReadRequest needs, over a header block.
type laneParser struct {
	src bytes.Reader
	br  *bufio.Reader
}

var laneParsers = sync.Pool{New: func() any {
	p := &laneParser{}
	p.br = bufio.NewReaderSize(&p.src, laneBufSize)
	return p
}}

// parseLaneRequest is the lane's whole decision on a header block: the
// request as net/http's server would see it, or nil when Fallback must
// serve it. FuzzLaneRequest holds it to that against net/http's server.
func parseLaneRequest(block []byte) *http.Request {
	hosts, host, ok := laneFraming(block)
	if !ok || !laneHost(hosts, host) {
		return nil
	}
	p := laneParsers.Get().(*laneParser)
	p.src.Reset(block)
	p.br.Reset(&p.src)
	req, err := http.ReadRequest(p.br)
	p.br.Reset(nil)
	p.src.Reset(nil)
	laneParsers.Put(p)
	if err != nil || !laneAccepts(req) || (hosts == 0 && req.Method != http.MethodConnect) {
		return nil
	}
	return req
}

// laneFraming checks the raw block: an HTTP/1.1 request line, every line
// ended by CRLF, no CR elsewhere, no folded (obsolete line-wrapped) field.
// It also counts the Host fields, which http.ReadRequest does not show.
func laneFraming(block []byte) (hosts int, host []byte, ok bool) {
	first := bytes.IndexByte(block, '\n')
	if first < 0 || !bytes.HasSuffix(block[:first+1], []byte(" HTTP/1.1\r\n")) {
		return 0, nil, false
	}
	for i := 0; i < len(block); {
		j := bytes.IndexByte(block[i:], '\n')
		if j < 1 || block[i+j-1] != '\r' || bytes.IndexByte(block[i:i+j-1], '\r') >= 0 {
			return 0, nil, false
		}
		line := block[i : i+j-1]
		if i > 0 && len(line) > 0 {
			if line[0] == ' ' || line[0] == '\t' {
				return 0, nil, false
			}
			if c := bytes.IndexByte(line, ':'); c >= 0 && bytes.EqualFold(line[:c], []byte("host")) {
				hosts++
				host = bytes.Trim(line[c+1:], " \t")
			}
		}
		i += j + 1
	}
	return hosts, host, true
}

// laneHost is net/http's server's check of the Host fields: at most one,
// and valid.
func laneHost(hosts int, host []byte) bool {
	return hosts == 0 || (hosts == 1 && httpguts.ValidHostHeader(string(host)))
}

// laneAccepts applies to a parsed request the checks net/http's server
// adds to http.ReadRequest (valid field names and values; Host is checked
// by laneHost) and the lane's own subset (HTTP/1.1, no body, nothing that
// needs net/http's handling of Expect or Upgrade).
func laneAccepts(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.ContentLength != 0 || req.Body != http.NoBody {
		return false
	}
	for k, vv := range req.Header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Trailer":
			return false
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}
