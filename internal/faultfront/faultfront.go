// Package faultfront is a loopback HTTP front for tests: it reverse-proxies
// to an AWS emulator (moto) and, when told to, answers the next requests
// itself with the errors AWS sends under load — EC2's RequestLimitExceeded,
// S3-style SlowDown, a bare 500 — or any canned body, and counts every
// request by its Action. Point the SDK's BaseEndpoint at URL().
package faultfront

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is a kind of error the front answers with.
type Fault int

const (
	// Throttle answers as AWS does when it throttles: EC2's XML
	// RequestLimitExceeded with HTTP 503, or, for a request signed for STS,
	// STS's Throttling error with HTTP 400.
	Throttle Fault = iota + 1
	// SlowDown answers HTTP 503 with an EC2-style XML error coded SlowDown.
	SlowDown
	// ServerError answers a plain-text HTTP 500, as a broken load balancer
	// might: no AWS error body at all.
	ServerError
)

// maxBody bounds how much of a request body the front reads to find its
// Action; AWS query-protocol requests are far smaller.
const maxBody = 1 << 20

// Front is a running fault-injecting reverse proxy. Its methods are safe
// for concurrent use.
type Front struct {
	url   string
	srv   *http.Server
	ln    net.Listener
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	rules    []*rule
	requests map[string]int // by Action; "" holds the total
	injected int
	last     map[string]url.Values // the last request's form, by Action
}

// rule answers the next `left` requests whose Action matches.
type rule struct {
	action string // "" matches every request
	left   int
	fault  Fault
	status int    // for canned answers (fault == 0)
	body   string // for canned answers
}

// New starts a front on 127.0.0.1 that forwards to target (e.g. moto's
// URL). Close it when done.
func New(target string) (*Front, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("faultfront: bad target URL %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultfront: listen: %w", err)
	}
	f := &Front{
		url:      "http://" + ln.Addr().String(),
		ln:       ln,
		requests: map[string]int{},
		last:     map[string]url.Values{},
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Keep the Host the client signed (SigV4 covers it).
			r.Out.Host = r.In.Host
		},
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// URL is the front's base URL (http://127.0.0.1:PORT).
func (f *Front) URL() string { return f.url }

// Close stops the front.
func (f *Front) Close() error {
	if err := f.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("faultfront: close: %w", err)
	}
	return nil
}

// FailNext makes the front answer the next n requests for action (an AWS
// Action such as "DescribeVpcEndpoints"; "" for any) with fault instead of
// forwarding them. Rules queue up in the order they were added.
func (f *Front) FailNext(n int, action string, fault Fault) {
	f.addRule(&rule{action: action, left: n, fault: fault})
}

// RespondNext makes the front answer the next n requests for action ("" for
// any) with status and body (sent as text/xml), e.g. a hand-written EC2
// response moto would never produce.
func (f *Front) RespondNext(n int, action string, status int, body string) {
	f.addRule(&rule{action: action, left: n, status: status, body: body})
}

// Requests counts the requests received for action ("" for all), whether
// forwarded or answered by a fault.
func (f *Front) Requests(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[action]
}

// LastForm returns the form parameters of the last request for action
// (nil if none), to check what the SDK sent, e.g. a ClientToken.
func (f *Front) LastForm(action string) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[action]
}

// Injected counts the requests the front answered itself.
func (f *Front) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Pending reports how many injected answers are still queued.
func (f *Front) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.rules {
		n += r.left
	}
	return n
}

func (f *Front) addRule(r *rule) {
	if r.left <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// ServeHTTP counts the request, answers it from the first matching rule, or
// forwards it.
func (f *Front) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	action, form, err := readAction(req)
	if err != nil {
		http.Error(w, "faultfront: "+err.Error(), http.StatusBadRequest)
		return
	}
	r := f.take(action, form)
	if r == nil {
		f.proxy.ServeHTTP(w, req)
		return
	}
	switch r.fault {
	case Throttle:
		if signedFor(req) == "sts" {
			writeXML(w, http.StatusBadRequest, stsError("Throttling", "Rate exceeded"))
		} else {
			writeXML(w, http.StatusServiceUnavailable, ec2Error("RequestLimitExceeded", "Request limit exceeded."))
		}
	case SlowDown:
		writeXML(w, http.StatusServiceUnavailable, ec2Error("SlowDown", "Please reduce your request rate."))
	case ServerError:
		http.Error(w, "internal server error", http.StatusInternalServerError)
	default:
		writeXML(w, r.status, r.body)
	}
}

// take counts the request and consumes one answer of the first rule that
// matches, or returns nil to forward.
func (f *Front) take(action string, form url.Values) *rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[""]++
	if action != "" {
		f.requests[action]++
		f.last[action] = form
	}
	for i, r := range f.rules {
		if r.action != "" && r.action != action {
			continue
		}
		r.left--
		if r.left == 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		f.injected++
		return r
	}
	return nil
}

// readAction finds the AWS query-protocol Action and the form in the body
// or URL, putting the body back for the proxy.
func readAction(req *http.Request) (string, url.Values, error) {
	if q := req.URL.Query(); q.Get("Action") != "" {
		return q.Get("Action"), q, nil
	}
	if req.Body == nil {
		return "", nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	req.Body.Close()
	if err != nil {
		return "", nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return "", nil, errors.New("request body too large")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return "", nil, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, nil // not a query-protocol request; forward it as is
	}
	return form.Get("Action"), form, nil
}

// signedFor returns the service in the SigV4 credential scope
// (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or "".
func signedFor(req *http.Request) string {
	auth := req.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	scope := auth[i+len("Credential="):]
	if j := strings.IndexAny(scope, ", "); j >= 0 {
		scope = scope[:j]
	}
	parts := strings.Split(scope, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

func ec2Error(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Response><Errors><Error><Code>` + code + `</Code><Message>` + msg +
		`</Message></Error></Errors><RequestID>faultfront</RequestID></Response>`
}

func stsError(code, msg string) string {
	return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>` +
		code + `</Code><Message>` + msg + `</Message></Error><RequestId>faultfront</RequestId></ErrorResponse>`
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
