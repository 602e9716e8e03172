package connstate

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the control loop's Prometheus metrics. A nil *Metrics
// records nothing. The per-connection series are computed at scrape time
// from the Manager's current table, so a connection removed from the
// config loses its series with no extra bookkeeping.
type Metrics struct {
	syncDuration prometheus.Histogram
	syncErrors   prometheus.Counter
	statusDesc   *prometheus.Desc
	warmDesc     *prometheus.Desc
	manager      atomic.Pointer[Manager] // the Manager the scrape reads; nil before NewManager
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Give each Metrics to one Manager.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "callgate",
			Name:      "sync_duration_seconds",
			Help:      "Duration of one sync cycle's DescribeVpcEndpoints polling, successful or not.",
			Buckets:   []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "callgate",
			Name:      "sync_errors_total",
			Help:      "Sync cycles whose DescribeVpcEndpoints polling failed; statuses were kept as last known.",
		}),
		statusDesc: prometheus.NewDesc("callgate_connection_status",
			"Status of each outbound connection: 1 for the current status, 0 for the others.",
			[]string{"connection", "status"}, nil),
		warmDesc: prometheus.NewDesc("callgate_connection_warm",
			"1 if the outbound connection is Ready and past its warm-up (carries traffic), else 0.",
			[]string{"connection"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m.syncDuration, m.syncErrors, connectionCollector{m})
	}
	return m
}

// bind makes the scrape read mgr's connections.
func (m *Metrics) bind(mgr *Manager) {
	if m != nil {
		m.manager.Store(mgr)
	}
}

func (m *Metrics) observeSync(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.syncDuration.Observe(d.Seconds())
	if err != nil {
		m.syncErrors.Inc()
	}
}

// connectionCollector emits the per-connection series.
type connectionCollector struct{ m *Metrics }

func (c connectionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.statusDesc
	ch <- c.m.warmDesc
}

func (c connectionCollector) Collect(ch chan<- prometheus.Metric) {
	mgr := c.m.manager.Load()
	if mgr == nil {
		return
	}
	for name := range *mgr.table.Load() {
		a := mgr.Admit(name)
		for _, s := range Statuses() {
			ch <- prometheus.MustNewConstMetric(c.m.statusDesc, prometheus.GaugeValue, boolFloat(a.Status == s), name, s.String())
		}
		ch <- prometheus.MustNewConstMetric(c.m.warmDesc, prometheus.GaugeValue, boolFloat(a.Allowed()), name)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
