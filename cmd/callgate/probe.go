package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/probe"
	"github.com/callgate/callgate/proxy"
	"github.com/callgate/callgate/routing"
)

// newProber wires the background endpoint probe to the data plane's own
// dial (endpoint DNS name, resolve overrides, the simulated dialer), the
// gate and the config serving now, so probe.* reloads live.
func newProber(a *app, reg prometheus.Registerer, log *zap.Logger) *probe.Prober {
	return probe.New(probe.Options{
		Gate: a.manager,
		Dial: a.proxy.DialEndpoint,
		Routes: func() *routing.Table {
			if snap := a.proxy.Snapshot(); snap != nil {
				return snap.Routes
			}
			return nil
		},
		Settings: func() probe.Settings {
			cfg := a.cfg.Load()
			if cfg == nil {
				return probe.Settings{}
			}
			return probe.Settings{
				Interval:    cfg.Probe.Interval,
				Concurrency: cfg.Probe.Concurrency,
				Timeout:     cfg.Timeouts.Dial + cfg.Timeouts.TLSHandshake,
			}
		},
		Metrics: probe.NewMetrics(reg),
		Logger:  log,
	})
}

// fillCertificate writes the last probe of d into v for
// GET /v1/named-credentials.
func (a *app) fillCertificate(d *routing.Destination, v *admin.CredentialView) {
	if d.Scheme != routing.HTTPS {
		v.CertificateCheck = "not_applicable"
		return
	}
	r, ok := a.probe.Last(d.Name, d.HostPort)
	if !ok {
		v.CertificateCheck = "not_checked"
		return
	}
	v.CheckedAt = r.At.UTC().Format(time.RFC3339)
	if r.CertSeen {
		v.CertificateExpiresAt = r.NotAfter.UTC().Format(time.RFC3339)
	}
	if r.OK() {
		v.CertificateCheck = "ok"
		return
	}
	v.CertificateCheck = "failed"
	v.CertificateError = r.Err.Error()
	v.CertificateReason = r.Reason
}

// addProbeStep appends what the last probe of the explained request's
// https named credential found, as an "info" step: explain itself sends
// nothing, so this is the closest it comes to the endpoint.
func (a *app) addProbeStep(x *proxy.Explanation) {
	name := routedName(x)
	snap := a.proxy.Snapshot()
	if name == "" || snap == nil || snap.Routes == nil {
		return
	}
	d := snap.Routes.ByName(name)
	if d == nil || d.Scheme != routing.HTTPS {
		return
	}
	x.Steps = append(x.Steps, proxy.ExplainStep{Step: "probe", Result: "info", Detail: a.describeProbe(d, time.Now())})
}

// routedName is the named credential the explanation's route step matched.
func routedName(x *proxy.Explanation) string {
	for _, s := range x.Steps {
		if s.Step != "route" || s.Result != "pass" {
			continue
		}
		if rest, ok := strings.CutPrefix(s.Detail, "named credential "); ok {
			name, _, _ := strings.Cut(rest, " ")
			return name
		}
	}
	return ""
}

func (a *app) describeProbe(d *routing.Destination, now time.Time) string {
	r, ok := a.probe.Last(d.Name, d.HostPort)
	if !ok {
		return "not probed yet: the endpoint is probed while outbound connection " + d.Connection + " is Ready and warm"
	}
	when := "last probe " + ago(now.Sub(r.At)) + ": "
	if r.OK() {
		return when + "certificate valid for " + d.Host + " until " + r.NotAfter.UTC().Format(time.RFC3339)
	}
	return when + "failed (" + r.Reason + "): " + r.Err.Error()
}

// ago renders a duration for a reader: 45s ago, 2m ago, 3h10m ago.
func ago(d time.Duration) string {
	switch d = max(d, 0); {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%dm ago", int(d.Hours()), int(d.Minutes())%60)
}
