package proxy

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// hopHeaders are the hop-by-hop fields of RFC 9110 §7.6.1 (plus the
// non-standard Proxy-Connection and Keep-Alive that clients still send):
// they describe one connection and are never forwarded.
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopByHopHeaders deletes the hop-by-hop fields, the fields that
// Connection names (RFC 9110 §7.6.1), and every Proxy-* field: those are
// addressed to a proxy (callgate), never to the endpoint or the client.
func removeHopByHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textprotoTrim(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopHeaders {
		h.Del(f)
	}
	for k := range h {
		if len(k) > 6 && strings.EqualFold(k[:6], "proxy-") {
			delete(h, k)
		}
	}
}

func textprotoTrim(s string) string { return strings.TrimSpace(s) }

// addVia appends callgate to Via (RFC 9110 §7.6.3), so loops and the path
// a message took are visible.
func addVia(h http.Header, protoMajor, protoMinor int) {
	v := "1.1 " + proxyName
	if protoMajor == 1 && protoMinor == 0 {
		v = "1.0 " + proxyName
	}
	h.Add("Via", v)
}

// copyHeader copies src into dst, dropping fields with invalid names or
// values (they cannot have come from net/http's parser, but an Injector
// is outside our control).
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				dst.Add(k, v)
			}
		}
	}
}
