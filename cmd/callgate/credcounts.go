package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/connstate"
)

// teeRegisterer registers each collector with both registries: the
// proxy's metrics go to the exported registry and to one of their own,
// which GET /v1/named-credentials reads its counts from without gathering
// every other collector.
type teeRegisterer struct{ a, b prometheus.Registerer }

func (t teeRegisterer) Register(c prometheus.Collector) error {
	if err := t.a.Register(c); err != nil {
		return err
	}
	if err := t.b.Register(c); err != nil {
		t.a.Unregister(c)
		return err
	}
	return nil
}

func (t teeRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t teeRegisterer) Unregister(c prometheus.Collector) bool {
	a := t.a.Unregister(c)
	b := t.b.Unregister(c)
	return a && b
}

// credentialCounts sums callgate_requests_total and callgate_refusals_total
// by named credential.
func credentialCounts(g prometheus.Gatherer) (requests, refusals map[string]uint64) {
	requests, refusals = map[string]uint64{}, map[string]uint64{}
	if g == nil {
		return requests, refusals
	}
	families, _ := g.Gather() // a partial answer still counts what it has
	for _, f := range families {
		var into map[string]uint64
		switch f.GetName() {
		case "callgate_requests_total":
			into = requests
		case "callgate_refusals_total":
			into = refusals
		default:
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "named_credential" {
					into[l.GetValue()] += uint64(m.GetCounter().GetValue())
				}
			}
		}
	}
	return requests, refusals
}

// fillAdmission says whether the gate lets traffic for v's connection
// through now and, when it does not, the refusal a request gets.
func fillAdmission(v *admin.CredentialView, a connstate.Admission) {
	switch {
	case a.Allowed():
		v.Admitted = true
	case !a.Known:
		v.NotAdmitted = "connection_not_ready"
		v.NotAdmittedReason = fmt.Sprintf("no outbound connection is named %q", v.Connection)
	case a.Status == connstate.Ready && a.WarmupLeft > 0:
		v.NotAdmitted = "warming_up"
		v.NotAdmittedReason = fmt.Sprintf("%s is warming up, %s left", v.Connection, (a.WarmupLeft + time.Second - 1).Truncate(time.Second))
	default:
		v.NotAdmitted = "connection_not_ready"
		v.NotAdmittedReason = fmt.Sprintf("%s is %s", v.Connection, a.Status)
	}
}
