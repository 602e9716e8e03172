package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		path      string
		bulk      int64
		cl        int64
		wantClose bool
	}{
		{"origin-form", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", 0, 0, false},
		{"absolute-form bulk", "GET http://x:1/bulk?bytes=42 HTTP/1.1\r\nHost: x\r\n\r\n", "/bulk", 42, 0, false},
		{"bulk default", "GET /bulk HTTP/1.1\r\n\r\n", "/bulk", 1 << 30, 0, false},
		{"sink", "POST /sink HTTP/1.1\r\ncontent-length: 7\r\n\r\n", "/sink", 0, 7, false},
		{"close", "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", "", 0, 0, true},
		{"http/1.0", "GET / HTTP/1.0\r\n\r\n", "", 0, 0, true},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := readRequest(bufio.NewReader(strings.NewReader(tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			if string(r.path) != tc.path || r.bulkBytes != tc.bulk || r.contentLength != tc.cl || r.close != tc.wantClose {
				t.Fatalf("got path %q bulk %d cl %d close %v", r.path, r.bulkBytes, r.contentLength, r.close)
			}
		})
	}
	if _, err := readRequest(bufio.NewReader(strings.NewReader("garbage\r\n\r\n"))); err == nil {
		t.Error("garbage request line accepted")
	}
}
