package main

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// appMetrics are the process-level series: build info and reloads.
type appMetrics struct {
	reloads           *prometheus.CounterVec
	lastReloadSuccess prometheus.Gauge
	lastReloadOK      prometheus.Gauge
	configHash        *prometheus.GaugeVec
}

func newAppMetrics(reg prometheus.Registerer) *appMetrics {
	m := &appMetrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgate", Name: "config_reloads_total",
			Help: "Config reloads attempted, by result (success or failure).",
		}, []string{"result"}),
		lastReloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "callgate", Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last config load or reload that succeeded.",
		}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "callgate", Name: "config_last_reload_successful",
			Help: "1 if the last config reload succeeded, 0 if it failed and the previous config is still serving.",
		}),
		configHash: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "callgate", Name: "config_hash_info",
			Help: "Always 1; the hash label is the SHA-256 of the config file now serving.",
		}, []string{"hash"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "callgate", Name: "build_info",
		Help: "Always 1; labels give the callgate version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	reg.MustRegister(m.reloads, m.lastReloadSuccess, m.lastReloadOK, m.configHash, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
