package probe

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the probe's Prometheus metrics, one series per probed named
// credential. They are computed at scrape time from the Prober's results,
// so a named credential that a reload removed (Retain) loses its series
// with no extra bookkeeping. A nil *Metrics records nothing.
type Metrics struct {
	expiry   *prometheus.Desc
	valid    *prometheus.Desc
	success  *prometheus.Desc
	duration *prometheus.Desc
	prober   atomic.Pointer[Prober]
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Give each Metrics to one Prober.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"named_credential", "connection"}
	m := &Metrics{
		expiry: prometheus.NewDesc("callgate_upstream_cert_expiry_timestamp_seconds",
			"Unix time at which the earliest-expiring certificate the named credential's endpoint presented at the last probe expires; "+
				"absent until a probe has seen a certificate.",
			labels, nil),
		valid: prometheus.NewDesc("callgate_upstream_cert_valid",
			"1 if the endpoint's certificate at the last probe chained to a trusted root and named the credential's host, 0 if not; "+
				"absent until a probe has seen a certificate.",
			labels, nil),
		success: prometheus.NewDesc("callgate_upstream_probe_success",
			"1 if the last probe of the named credential's endpoint (dial and TLS handshake) succeeded, else 0.",
			labels, nil),
		duration: prometheus.NewDesc("callgate_upstream_probe_duration_seconds",
			"Duration of the last probe of the named credential's endpoint (dial and TLS handshake), a gauge, not a histogram.",
			labels, nil),
	}
	if reg != nil {
		reg.MustRegister(collector{m})
	}
	return m
}

func (m *Metrics) bind(p *Prober) {
	if m != nil {
		m.prober.Store(p)
	}
}

type collector struct{ m *Metrics }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.expiry
	ch <- c.m.valid
	ch <- c.m.success
	ch <- c.m.duration
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	p := c.m.prober.Load()
	if p == nil {
		return
	}
	for name, r := range p.snapshot() {
		lv := []string{name, r.Connection}
		ch <- prometheus.MustNewConstMetric(c.m.success, prometheus.GaugeValue, boolValue(r.OK()), lv...)
		ch <- prometheus.MustNewConstMetric(c.m.duration, prometheus.GaugeValue, r.Duration.Seconds(), lv...)
		if r.CertSeen {
			ch <- prometheus.MustNewConstMetric(c.m.valid, prometheus.GaugeValue, boolValue(r.CertValid), lv...)
			ch <- prometheus.MustNewConstMetric(c.m.expiry, prometheus.GaugeValue, float64(r.NotAfter.Unix()), lv...)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
