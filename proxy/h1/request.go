package h1

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
)

// writeRequest writes a request Transport carries (Carries: no body, no
// trailers) as http.Request.Write would — the same bytes, which
// TestWriteRequestMatchesWrite checks — without its fmt calls and
// transfer writer. It reports false, having written nothing, for a request
// it does not handle (a Host needing Punycode or zone removal, control
// characters in the target), which the caller then writes with Write.
func writeRequest(bw *bufio.Writer, req *http.Request, keys []string) ([]string, bool) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	uri := req.URL.RequestURI()
	if req.Close || !plainASCII(host) || strings.IndexByte(host, '%') >= 0 || !plainASCII(uri) {
		return keys, false
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	_, _ = bw.WriteString(method)
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(uri)
	_, _ = bw.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = bw.WriteString(host)
	_, _ = bw.WriteString("\r\n")
	ua := "Go-http-client/1.1"
	if vv, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vv) > 0 {
			ua = vv[0]
		}
	}
	if ua != "" {
		writeField(bw, "User-Agent", []string{ua})
	}
	keys = keys[:0]
	for k := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		writeField(bw, k, req.Header[k])
	}
	_, _ = bw.WriteString("\r\n")
	return keys, true
}

// plainASCII reports whether s is printable ASCII without spaces.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
