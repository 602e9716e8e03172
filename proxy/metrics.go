package proxy

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/access"
)

// Metrics are the data plane's Prometheus metrics (docs/operations.md, Metrics). Label values
// come only from the config (named credential names) and from fixed sets
// (form, code, reason, direction): a destination the client made up is
// recorded with named_credential="".
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tunnels  *prometheus.GaugeVec
	bytes    *prometheus.CounterVec
	refusals *prometheus.CounterVec
	// authFailures is per access.AuthResult (only the failing ones are
	// set), so counting a failure looks up nothing.
	authFailures [access.AuthBusy + 1]prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg; a nil reg
// keeps them unregistered (tests, or a caller that does not export them).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgate",
			Name:      "requests_total",
			Help:      "Requests and tunnels handled by the proxy listener, by named credential, request form (connect, absolute, callout, other) and HTTP status code sent to the client.",
		}, []string{labelCredential, labelForm, labelCode}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "callgate",
			Name:      "request_duration_seconds",
			Help:      "Time from reading a request to its end: the whole exchange for absolute and callout requests, the set-up (until the 200 or the refusal) for CONNECT tunnels.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{labelCredential, labelForm}),
		tunnels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "callgate",
			Name:      "tunnels_active",
			Help:      "CONNECT tunnels open now, by named credential.",
		}, []string{labelCredential}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgate",
			Name:      "tunnel_bytes_total",
			Help:      "Bytes carried by CONNECT tunnels, by named credential and direction (up: client to endpoint, down: endpoint to client).",
		}, []string{labelCredential, labelDirection}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgate",
			Name:      "refusals_total",
			Help:      "Requests and tunnels refused or closed by callgate, by named credential (empty when the destination is unknown) and reason (the refusal's error code, docs/refusals.md).",
		}, []string{labelCredential, labelReason}),
	}
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "callgate",
		Name:      "proxy_auth_failures_total",
		Help:      "Requests whose Proxy-Authorization was not accepted, by reason: wrong_credentials (well-formed, wrong), malformed (two fields, an unknown scheme, bad encoding), throttled (refused 429 unchecked: too many failures from the source address or for the user name), busy (refused 503 unchecked: no bcrypt slot in time).",
	}, []string{labelReason})
	for res, reason := range map[access.AuthResult]string{
		access.AuthWrong: "wrong_credentials", access.AuthMalformed: "malformed", access.AuthThrottled: "throttled", access.AuthBusy: "busy",
	} {
		// Created up front, so each series exists at 0 before the first failure.
		m.authFailures[res] = failures.WithLabelValues(reason)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.tunnels, m.bytes, m.refusals, failures)
	}
	return m
}

// authFailed counts a failed proxy authentication; other results are no
// failure and count nothing.
func (m *Metrics) authFailed(res access.AuthResult) {
	if int(res) < len(m.authFailures) && m.authFailures[res] != nil {
		m.authFailures[res].Inc()
	}
}

// Label names.
const (
	labelCredential = "named_credential"
	labelForm       = "form"
	labelCode       = "code"
	labelDirection  = "direction"
	labelReason     = "reason"
)

// form is how a request reached the proxy (the `form` label).
type form uint8

const (
	formConnect form = iota
	formAbsolute
	formCallout
	formOther // not one of the three forms: refused as bad_request
	numForms
)

var formNames = [numForms]string{"connect", "absolute", "callout", "other"}

func (f form) String() string { return formNames[f] }

// forget drops every series of a named credential that a reload removed,
// so the exported series follow the config.
func (m *Metrics) forget(name string) {
	l := prometheus.Labels{labelCredential: name}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.tunnels.DeletePartialMatch(l)
	m.bytes.DeletePartialMatch(l)
	m.refusals.DeletePartialMatch(l)
}

// destMetrics holds one named credential's metric handles, created on
// first use (a table of 100,000 credentials must not create 100,000
// histograms up front) and then read with atomic loads, so recording a
// request looks up no label hash and allocates nothing.
type destMetrics struct {
	m    *Metrics
	name string

	duration [numForms]atomic.Pointer[observerRef]
	codes    [numForms]atomic.Pointer[[]codeCounter]
	refusals [numCodes]atomic.Pointer[counterRef]
	tunnels  atomic.Pointer[gaugeRef]
	up, down atomic.Pointer[counterRef]
}

type (
	counterRef  struct{ prometheus.Counter }
	gaugeRef    struct{ prometheus.Gauge }
	observerRef struct{ prometheus.Observer }
	codeCounter struct {
		code int
		c    prometheus.Counter
	}
)

// maxCachedCodes bounds the per-form status code cache; rarer codes are
// still counted, through the vector.
const maxCachedCodes = 16

func newDestMetrics(m *Metrics, name string) *destMetrics {
	return &destMetrics{m: m, name: name}
}

// request records one finished request or tunnel set-up.
func (d *destMetrics) request(f form, status int, seconds float64) {
	d.counterFor(f, status).Inc()
	o := d.duration[f].Load()
	if o == nil {
		o = &observerRef{d.m.duration.WithLabelValues(d.name, f.String())}
		d.duration[f].Store(o)
	}
	o.Observe(seconds)
}

func (d *destMetrics) counterFor(f form, status int) prometheus.Counter {
	p := d.codes[f].Load()
	if p != nil {
		for _, cc := range *p {
			if cc.code == status {
				return cc.c
			}
		}
	}
	c := d.m.requests.WithLabelValues(d.name, f.String(), strconv.Itoa(status))
	// Copy-on-write append; a lost race only means the next request
	// caches it again.
	var next []codeCounter
	if p != nil {
		if len(*p) >= maxCachedCodes {
			return c
		}
		next = append(make([]codeCounter, 0, len(*p)+1), *p...)
	}
	next = append(next, codeCounter{status, c})
	d.codes[f].CompareAndSwap(p, &next)
	return c
}

// refused counts one refusal.
func (d *destMetrics) refused(c Code) {
	r := d.refusals[c].Load()
	if r == nil {
		r = &counterRef{d.m.refusals.WithLabelValues(d.name, c.String())}
		d.refusals[c].Store(r)
	}
	r.Inc()
}

func (d *destMetrics) tunnelGauge() prometheus.Gauge {
	g := d.tunnels.Load()
	if g == nil {
		g = &gaugeRef{d.m.tunnels.WithLabelValues(d.name)}
		d.tunnels.Store(g)
	}
	return g
}

// tunnelBytes adds a tunnel's byte counts.
func (d *destMetrics) tunnelBytes(up, down int64) {
	u := d.up.Load()
	if u == nil {
		u = &counterRef{d.m.bytes.WithLabelValues(d.name, "up")}
		d.up.Store(u)
	}
	dn := d.down.Load()
	if dn == nil {
		dn = &counterRef{d.m.bytes.WithLabelValues(d.name, "down")}
		d.down.Store(dn)
	}
	if up > 0 {
		u.Add(float64(up))
	}
	if down > 0 {
		dn.Add(float64(down))
	}
}
