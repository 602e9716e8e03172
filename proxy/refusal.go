package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// Code is a refusal's `error` code (docs/refusals.md). It is also the `reason`
// label of callgate_refusals_total, so the set is fixed and small.
type Code uint8

// The docs/refusals.md rows, plus the tunnel refusals that happen after the 200
// (sni_mismatch, not_tls) and so never reach the client as a response.
const (
	// CodeUnknownDestination: not a named credential (403).
	CodeUnknownDestination Code = iota + 1
	// CodeConnectionNotReady: the outbound connection is not Ready (503).
	CodeConnectionNotReady
	// CodeWarmingUp: Ready but within its warm-up (503, Retry-After).
	CodeWarmingUp
	// CodeCertificateMismatch: the endpoint's certificate does not verify
	// for the named credential's host (502).
	CodeCertificateMismatch
	// CodeDNSError: the endpoint DNS name does not resolve (502).
	CodeDNSError
	// CodeUpstreamUnreachable: the endpoint refused or broke the
	// connection (502).
	CodeUpstreamUnreachable
	// CodeUpstreamTimeout: the endpoint did not answer in time (504).
	CodeUpstreamTimeout
	// CodeProxyAuthRequired: proxy authentication missing or wrong (407).
	CodeProxyAuthRequired
	// CodeNotPermitted: the client may not use this named credential (403).
	CodeNotPermitted
	// CodeBadRequest: a malformed request (400).
	CodeBadRequest
	// CodeLimitReached: a connection or tunnel limit is reached (503).
	CodeLimitReached
	// CodeCredentialUnavailable: the named credential's authentication
	// could not be injected (e.g. its token endpoint failed).
	CodeCredentialUnavailable
	// CodeSNIMismatch: a tunnel's ClientHello named another host.
	CodeSNIMismatch
	// CodeNotTLS: a tunnel to an https named credential did not start with
	// a TLS ClientHello (or none arrived in time).
	CodeNotTLS
	// CodeRequestTooLarge: a callout body is larger than the named
	// credential's authentication can sign (aws_sigv4 hashes the whole
	// body) (413).
	CodeRequestTooLarge
	// CodeRateLimited: the client started requests faster than
	// limits.client_rate allows (429, Retry-After).
	CodeRateLimited
	// CodeMethodNotAllowed: the method is refused on this request form:
	// TRACE on the callout form, whose response could carry the injected
	// credential back to the client (405).
	CodeMethodNotAllowed
	// CodeUpstreamHeaderTooLarge: the endpoint's response header block is
	// larger than limits.max_response_header_bytes (502).
	CodeUpstreamHeaderTooLarge
	// CodeCredentialReflected: the endpoint's response carried the
	// credential callgate injected, so it was not relayed (502).
	CodeCredentialReflected
	numCodes
)

// row is one line of the docs/refusals.md table.
type row struct {
	name        string // the JSON `error` code
	status      int    // HTTP status
	proxyStatus string // RFC 9209 error type
}

var rows = [numCodes]row{
	CodeUnknownDestination:    {"unknown_destination", http.StatusForbidden, "http_request_denied"},
	CodeConnectionNotReady:    {"connection_not_ready", http.StatusServiceUnavailable, "destination_unavailable"},
	CodeWarmingUp:             {"warming_up", http.StatusServiceUnavailable, "destination_unavailable"},
	CodeCertificateMismatch:   {"certificate_mismatch", http.StatusBadGateway, "tls_certificate_error"},
	CodeDNSError:              {"dns_error", http.StatusBadGateway, "dns_error"},
	CodeUpstreamUnreachable:   {"upstream_unreachable", http.StatusBadGateway, "connection_refused"},
	CodeUpstreamTimeout:       {"upstream_timeout", http.StatusGatewayTimeout, "connection_timeout"},
	CodeProxyAuthRequired:     {"proxy_auth_required", http.StatusProxyAuthRequired, "http_request_denied"},
	CodeNotPermitted:          {"not_permitted", http.StatusForbidden, "http_request_denied"},
	CodeBadRequest:            {"bad_request", http.StatusBadRequest, "http_request_error"},
	CodeLimitReached:          {"limit_reached", http.StatusServiceUnavailable, "connection_limit_reached"},
	CodeCredentialUnavailable: {"credential_unavailable", http.StatusBadGateway, "destination_unavailable"},
	CodeSNIMismatch:           {"sni_mismatch", http.StatusForbidden, "http_request_denied"},
	CodeNotTLS:                {"not_tls", http.StatusBadRequest, "http_request_error"},
	CodeRequestTooLarge:       {"request_too_large", http.StatusRequestEntityTooLarge, "http_request_error"},
	CodeRateLimited:           {"rate_limited", http.StatusTooManyRequests, "http_request_denied"},
	CodeMethodNotAllowed:      {"method_not_allowed", http.StatusMethodNotAllowed, "http_request_denied"},
	// RFC 9209 §2.3.11.
	CodeUpstreamHeaderTooLarge: {"upstream_header_too_large", http.StatusBadGateway, "http_response_header_size"},
	// callgate answers instead of the endpoint (RFC 9209 §2.3.27).
	CodeCredentialReflected: {"credential_reflected", http.StatusBadGateway, "proxy_internal_response"},
}

// String is the code as it appears in JSON bodies, logs and metrics.
func (c Code) String() string {
	if c > 0 && c < numCodes {
		return rows[c].name
	}
	return "unknown"
}

// HTTPStatus is the status code a refusal with this code is sent with.
func (c Code) HTTPStatus() int {
	if c > 0 && c < numCodes {
		return rows[c].status
	}
	return http.StatusInternalServerError
}

// refusal is one refused request or tunnel, typed so that one function
// (write) turns every refusal into the same shape of response.
type refusal struct {
	code    Code
	message string
	// dest is the named credential the client reached; nil when the
	// destination is unknown (so no client input leaks into labels).
	dest *routing.Destination
	// connection and status are reported for gate refusals.
	connection string
	status     connstate.Status
	hasStatus  bool
	// retryAfter is set for warming_up and rate_limited.
	retryAfter time.Duration
	// challenge holds the Proxy-Authenticate values of a 407.
	challenge []string
	// proxyStatus overrides the row's RFC 9209 error type when the cause
	// is known more precisely (e.g. dns_timeout); "" keeps the row's.
	proxyStatus string
	// cause is the underlying error, logged but never sent to the client.
	cause error
}

// refusalBody is the JSON body of docs/refusals.md; empty fields are omitted.
type refusalBody struct {
	Error           string `json:"error"`
	Message         string `json:"message"`
	NamedCredential string `json:"named_credential,omitempty"`
	Connection      string `json:"connection,omitempty"`
	Status          string `json:"status,omitempty"`
}

// write sends the refusal. closeConn asks the client to drop the
// connection: after a refused CONNECT the client may already have sent
// tunnel bytes that must not be parsed as a next request.
func (f *refusal) write(w http.ResponseWriter, closeConn bool) {
	r := rows[f.code]
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Proxy-Status", f.proxyStatusValue())
	// The code also goes in the reason phrase (appendReason, errConn): many
	// clients show only the status line of a refused CONNECT.
	h.Set(refusalCodeHeader, r.name)
	switch f.code {
	case CodeWarmingUp:
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(f.retryAfter), 10))
	case CodeRateLimited:
		h.Set("Retry-After", strconv.FormatInt(max(retryAfterSeconds(f.retryAfter), 1), 10))
	case CodeMethodNotAllowed:
		h.Set("Allow", calloutMethods) // RFC 9110 §15.5.6
	case CodeLimitReached:
		if f.retryAfter > 0 { // no bcrypt slot in time (access.Authenticator); the other limits free at no known time
			h.Set("Retry-After", strconv.FormatInt(max(retryAfterSeconds(f.retryAfter), 1), 10))
		}
	}
	if len(f.challenge) > 0 {
		h["Proxy-Authenticate"] = append([]string(nil), f.challenge...) // the snapshot's slice is shared
	}
	if closeConn {
		h.Set("Connection", "close")
	}
	body := refusalBody{Error: r.name, Message: f.message, Connection: f.connection}
	if f.dest != nil {
		body.NamedCredential = f.dest.Name
	}
	if f.hasStatus {
		body.Status = f.status.String()
	}
	b, _ := json.Marshal(body) // plain strings: cannot fail
	b = append(b, '\n')
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(r.status)
	_, _ = w.Write(b)
}

// proxyStatusValue is the RFC 9209 Proxy-Status field value: our own name
// as the proxy, the error type and, as details, our own message (never
// client input).
func (f *refusal) proxyStatusValue() string {
	typ := f.proxyStatus
	if typ == "" {
		typ = rows[f.code].proxyStatus
	}
	var b strings.Builder
	b.Grow(len(proxyName) + len(typ) + len(f.message) + 24)
	b.WriteString(proxyName)
	b.WriteString("; error=")
	b.WriteString(typ)
	if f.message != "" {
		b.WriteString("; details=")
		writeSFString(&b, f.message)
	}
	return b.String()
}

// proxyName identifies callgate in Proxy-Status and Via.
const proxyName = "callgate"

// refusalCodeHeader carries a refusal's code on every refusal, like
// Squid's X-Squid-Error; the wire writers copy it into the reason phrase.
const refusalCodeHeader = "Callgate-Error"

// appendReasonCode appends the refusal code to a status line's reason
// phrase (the line without its CRLF): "503 Service Unavailable
// (warming_up)".
func appendReasonCode(line []byte, code string) []byte {
	line = append(line, " ("...)
	line = append(line, code...)
	return append(line, ')')
}

// refusalPhrase rewrites the status line of a response head in p that
// carries refusalCodeHeader, for writers that build the status line
// themselves (net/http's); ok is false, and p untouched, otherwise. The
// head must be whole in p, as net/http writes a refusal (a few hundred
// bytes) in one write.
func refusalPhrase(p []byte) (out []byte, ok bool) {
	const prefix = "HTTP/1.x " // 1.0 to an HTTP/1.0 request (Python's CONNECT)
	if len(p) < len(prefix)+3 || string(p[:7]) != "HTTP/1." || p[8] != ' ' || (p[len(prefix)] != '4' && p[len(prefix)] != '5') {
		return nil, false
	}
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	marker := []byte("\r\n" + refusalCodeHeader + ": ")
	i := bytes.Index(p[:end+2], marker)
	if i < 0 {
		return nil, false
	}
	code := p[i+len(marker):]
	code = code[:bytes.IndexByte(code, '\r')]
	for _, c := range code {
		if (c < 'a' || c > 'z') && c != '_' {
			return nil, false
		}
	}
	lineEnd := bytes.IndexByte(p, '\r')
	out = make([]byte, 0, len(p)+len(code)+3)
	out = appendReasonCode(append(out, p[:lineEnd]...), string(code))
	return append(out, p[lineEnd:]...), true
}

// writeSFString writes s as an RFC 8941 §3.3.3 sf-string: quoted, with
// '"' and '\' escaped, and anything outside printable ASCII replaced.
func writeSFString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// retryAfterSeconds rounds up, so a client that waits the advertised time
// never arrives before the warm-up ends.
func retryAfterSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// gateRefusal explains why the gate refused d's connection.
func gateRefusal(d *routing.Destination, a connstate.Admission) *refusal {
	f := &refusal{dest: d, connection: d.Connection, status: a.Status, hasStatus: a.Known}
	switch {
	case !a.Known:
		f.code = CodeConnectionNotReady
		f.message = "the named credential's outbound connection is not configured"
	case a.Status != connstate.Ready:
		f.code = CodeConnectionNotReady
		f.message = "outbound connection " + d.Connection + " is " + a.Status.String() + ", not Ready"
	case a.WarmupLeft > 0:
		f.code = CodeWarmingUp
		f.retryAfter = a.WarmupLeft
		f.message = "outbound connection " + d.Connection + " is Ready and warming up; retry in " +
			strconv.FormatInt(retryAfterSeconds(a.WarmupLeft), 10) + "s"
	default:
		f.code = CodeConnectionNotReady
		f.message = "outbound connection " + d.Connection + " is Ready but has no endpoint address yet"
	}
	return f
}

// upstreamRefusal turns a dial, TLS or round-trip failure into a refusal.
func upstreamRefusal(d *routing.Destination, err error) *refusal {
	code, ps := classifyUpstream(err)
	f := &refusal{code: code, dest: d, connection: d.Connection, proxyStatus: ps, cause: err}
	switch code {
	case CodeCertificateMismatch:
		f.message = "the endpoint's TLS certificate is not valid for " + d.Host
	case CodeDNSError:
		f.message = "the endpoint's DNS name did not resolve"
	case CodeUpstreamTimeout:
		f.message = "the endpoint did not answer in time"
	case CodeUpstreamHeaderTooLarge:
		f.message = "the endpoint's response header block is larger than limits.max_response_header_bytes"
	default:
		f.message = "the endpoint could not be reached"
	}
	return f
}

// unknownDestination refuses a destination that is not a named credential.
func unknownDestination(msg string) *refusal {
	return &refusal{code: CodeUnknownDestination, message: msg}
}

// badRequest refuses a malformed request; d may be nil.
func badRequest(d *routing.Destination, msg string, cause error) *refusal {
	f := &refusal{code: CodeBadRequest, dest: d, message: msg, cause: cause}
	if d != nil {
		f.connection = d.Connection
	}
	return f
}

// injectRefusal maps a failed Inject (other than the client's own
// body breaking) to a response. The message never carries the cause,
// which names files and endpoints but is for the log only.
func injectRefusal(d *routing.Destination, err error) *refusal {
	f := &refusal{code: CodeCredentialUnavailable, dest: d, connection: d.Connection, cause: err}
	switch {
	case errors.Is(err, routing.ErrAuthBodyTooLarge):
		f.code = CodeRequestTooLarge
		f.message = "the request body is larger than callgate can sign for this named credential"
	case errors.Is(err, routing.ErrAuthTokenFetch):
		f.message = "the named credential's OAuth 2.0 token endpoint did not issue a token"
	case errors.Is(err, routing.ErrAuthCredentials):
		f.message = "no AWS credentials are available to sign for the named credential"
	case errors.Is(err, routing.ErrAuthSecretUnavailable):
		f.message = "the named credential's secret is unavailable"
	default:
		f.message = "the named credential's authentication could not be prepared"
	}
	return f
}
