package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// TestWriteRequestMatchesWrite: the request writer sends exactly
// what http.Request.Write sends, or declines.
func TestWriteRequestMatchesWrite(t *testing.T) {
	type tc struct {
		name   string
		method string
		url    string
		host   string
		header http.Header
		wrote  bool
	}
	cases := []tc{
		{"plain GET", "GET", "http://10.0.0.1:8080/a/b?c=d", "api.example", http.Header{"Accept": {"*/*"}, "X-B": {"2", "1"}, "Via": {"1.1 callgate"}}, true},
		{"no UA field: Go's default", "HEAD", "http://e:80/", "api.example:8080", http.Header{}, true},
		{"client UA", "GET", "http://e/", "h", http.Header{"User-Agent": {"curl/8", "second"}}, true},
		{"empty UA: none sent", "GET", "http://e/", "h", http.Header{"User-Agent": {""}}, true},
		{"UA key without values", "GET", "http://e/", "h", http.Header{"User-Agent": nil}, true},
		{"values trimmed, newlines spaced", "DELETE", "http://e/x", "h", http.Header{"X-A": {"  v \t", "a\r\nb"}}, true},
		{"excluded fields", "OPTIONS", "http://e/x", "h", http.Header{"Host": {"other"}, "Content-Length": {"5"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}, "Z": {"z"}}, true},
		{"escaped path", "GET", "http://e/a%2Fb/%7e?q=%20", "h", http.Header{}, true},
		{"empty method", "", "http://e/", "h", http.Header{}, true},
		{"host from URL", "GET", "http://e.example:81/", "", http.Header{}, true},
		{"IDN host: declined", "GET", "http://e/", "bücher.example", http.Header{}, false},
		{"IPv6 zone: declined", "GET", "http://e/", "[fe80::1%25eth0]:80", http.Header{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := url.Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			req := &http.Request{Method: c.method, URL: u, Host: c.host, Header: c.header, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
			var want, got bytes.Buffer
			if err := req.Write(&want); err != nil {
				t.Fatal(err)
			}
			bw := bufio.NewWriter(&got)
			_, wrote := writeRequest(bw, req, nil)
			_ = bw.Flush()
			if wrote != c.wrote {
				t.Fatalf("wrote = %v, want %v", wrote, c.wrote)
			}
			if wrote && got.String() != want.String() {
				t.Fatalf("fast:\n%q\nhttp.Request.Write:\n%q", got.String(), want.String())
			}
			if !wrote && got.Len() != 0 {
				t.Fatalf("declined but wrote %q", got.String())
			}
		})
	}
}
