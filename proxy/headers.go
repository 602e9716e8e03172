package proxy

import (
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// isHopHeader reports whether the canonical field name k is hop-by-hop
// (RFC 9110 §7.6.1, plus the non-standard Proxy-Connection and Keep-Alive
// that clients still send) or any other Proxy-* field: those describe one
// connection or are addressed to a proxy (callgate), and are never
// forwarded.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return len(k) > 6 && strings.EqualFold(k[:6], "proxy-")
}

// namedByConnection reports whether the Connection field values conn name
// the field k (RFC 9110 §7.6.1: those fields are hop-by-hop too).
func namedByConnection(conn []string, k string) bool {
	for _, f := range conn {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" && strings.EqualFold(sf, k) {
				return true
			}
		}
	}
	return false
}

// copyEndToEnd adds the end-to-end fields of src to dst: it drops the
// hop-by-hop fields, the fields that Connection names, every Proxy-*
// field, and fields with invalid names or values (they cannot have come
// from net/http's parser, but an Injector is outside our control). It is
// one pass with one allocation for all the values, because it runs twice
// per forwarded request; src is not changed.
func copyEndToEnd(dst, src http.Header) {
	conn := src["Connection"]
	n := 0
	for _, vv := range src {
		n += len(vv)
	}
	vals := make([]string, 0, n)
	for k, vv := range src {
		ck := textproto.CanonicalMIMEHeaderKey(k) // no allocation when k is canonical
		if isHopHeader(ck) || !httpguts.ValidHeaderFieldName(k) ||
			(len(conn) > 0 && namedByConnection(conn, ck)) {
			continue
		}
		start := len(vals)
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				vals = append(vals, v)
			}
		}
		if len(vals) == start {
			continue
		}
		// The full slice expression caps each field's values, so a later
		// Add to dst reallocates instead of writing into its neighbour.
		kv := vals[start:len(vals):len(vals)]
		if old := dst[ck]; len(old) > 0 {
			dst[ck] = append(old, kv...)
		} else {
			dst[ck] = kv
		}
	}
}

// addVia appends callgate to Via (RFC 9110 §7.6.3), so loops and the path
// a message took are visible.
func addVia(h http.Header, protoMajor, protoMinor int) {
	via, only := via11, onlyVia11
	if protoMajor == 1 && protoMinor == 0 {
		via, only = via10, onlyVia10
	}
	if old := h["Via"]; len(old) > 0 {
		h["Via"] = append(old, via)
		return
	}
	h["Via"] = only
}

// The Via values, and the one-value slices most messages get, are built
// once: a per-request string and slice were two allocations each time.
// The slices are capped at their length, so an append to a message's Via
// copies instead of writing into them; nothing writes their element.
var (
	via11, via10         = "1.1 " + proxyName, "1.0 " + proxyName
	onlyVia11, onlyVia10 = []string{via11}[:1:1], []string{via10}[:1:1]
)

// endToEndTrailer reports whether a response trailer field k may pass to
// the client: not hop-by-hop, not Proxy-*, a valid name, and not a field
// that frames or routes the message (RFC 9110 §6.5.1), which a client must
// not take from a trailer.
func endToEndTrailer(k string) bool {
	ck := textproto.CanonicalMIMEHeaderKey(k)
	if isHopHeader(ck) || !httpguts.ValidHeaderFieldName(k) {
		return false
	}
	switch ck {
	case "Content-Length", "Content-Type", "Content-Encoding", "Content-Range", "Host",
		"Authorization", "Www-Authenticate", "Set-Cookie", "Cookie",
		"Age", "Cache-Control", "Expires", "Date", "Location", "Retry-After", "Vary", "Max-Forwards":
		return false
	}
	return true
}
