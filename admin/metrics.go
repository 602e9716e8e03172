package admin

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the admin API's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	tokenValid prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered). Give each Metrics to one handler.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		tokenValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "callgate",
			Name:      "admin_token_valid",
			Help: "0 while admin.token_file is set but empty, whitespace-only or unreadable, so the protected admin routes " +
				"refuse every request; 1 when it holds a token or is not set. Checked on each scrape and protected request.",
		}),
	}
	// Load refuses a config whose token file is unusable, so 1 is the truth
	// until the first check says otherwise.
	m.tokenValid.Set(1)
	if reg != nil {
		reg.MustRegister(m.tokenValid)
	}
	return m
}

func (m *Metrics) setTokenValid(ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.tokenValid.Set(v)
}
