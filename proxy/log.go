package proxy

import (
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/access"
)

// Field names of the one summary line logged per request or tunnel. They
// are constants so dashboards and tests agree with the code.
const (
	FieldNamedCredential = "named_credential"
	FieldConnection      = "connection"
	FieldForm            = "form"
	FieldOutcome         = "outcome"
	FieldCode            = "code"
	FieldStatus          = "status"
	FieldBytesUp         = "bytes_up"
	FieldBytesDown       = "bytes_down"
	FieldDuration        = "duration"
	// FieldCloseReason says why a tunnel ended (client_closed, idle, …).
	FieldCloseReason = "close_reason"
	// FieldTarget is the authority (host:port only, never a path or query,
	// which may carry secrets) of a refused unknown destination.
	FieldTarget = "target"
	// FieldClient is the proxy client (config `clients[].name`) the
	// request was identified as; absent when none.
	FieldClient = "client"
)

// Outcomes (the FieldOutcome values).
const (
	OutcomeOK           = "ok"            // forwarded; the upstream's status was relayed
	OutcomeRefused      = "refused"       // a docs/refusals.md refusal was sent instead
	OutcomeClosed       = "closed"        // a tunnel ran and ended
	OutcomeTunnelDenied = "tunnel_denied" // a tunnel was closed after the 200 (SNI, not TLS)
	OutcomeClientGone   = "client_gone"   // the client left before an answer
	OutcomeAborted      = "aborted"       // the exchange broke after the response began
)

// summary collects what the summary line and the metrics need; one is
// filled per request or tunnel and emitted once by finish.
type summary struct {
	start    time.Time
	form     form
	dm       *destMetrics // never nil: the unknown-destination handles if no credential matched
	credName string
	connName string
	client   string      // the identified proxy client's name, or ""
	held     access.Hold // limit slots taken by access, released by finish
	outcome  string
	code     Code
	status   int
	up, down int64
	reason   string
	target   string
	err      error
	// counted is set once request metrics were recorded (a CONNECT records
	// them at the 200, long before the tunnel ends).
	counted bool
	// refusalCounted is set once code was added to refusals_total.
	refusalCounted bool
}

// record adds the request to requests_total and the duration histogram.
func (s *summary) record() {
	if s.counted {
		return
	}
	s.counted = true
	s.dm.request(s.form, s.status, time.Since(s.start).Seconds())
}

// countRefusal releases the limit slots and records the request and its
// refusal code, before the refusal is written.
func (s *summary) countRefusal() {
	s.held.Release()
	s.record()
	s.dm.refused(s.code)
	s.refusalCounted = true
}

// finish records metrics (if not yet) and logs the summary line.
func (s *summary) finish(log *zap.Logger) {
	s.held.Release()
	s.record()
	switch {
	case s.refusalCounted:
	case s.code != 0:
		s.dm.refused(s.code)
	case s.reason == reasonRevoked:
		// Cut mid-flow because the connection left Ready: refusals_total
		// counts what callgate closed as well as what it refused.
		s.dm.refused(CodeConnectionNotReady)
	}
	lvl := zap.InfoLevel
	if ce := log.Check(lvl, "request"); ce != nil {
		fields := make([]zap.Field, 0, 14)
		fields = append(fields,
			zap.String(FieldNamedCredential, s.credName),
			zap.String(FieldConnection, s.connName),
			zap.String(FieldForm, s.form.String()),
			zap.String(FieldOutcome, s.outcome),
			zap.Int(FieldStatus, s.status),
			zap.Int64(FieldBytesUp, s.up),
			zap.Int64(FieldBytesDown, s.down),
			zap.Duration(FieldDuration, time.Since(s.start)),
		)
		if s.code != 0 {
			fields = append(fields, zap.String(FieldCode, s.code.String()))
		}
		if s.reason != "" {
			fields = append(fields, zap.String(FieldCloseReason, s.reason))
		}
		if s.client != "" {
			fields = append(fields, zap.String(FieldClient, s.client))
		}
		if s.target != "" {
			fields = append(fields, zap.String(FieldTarget, s.target))
		}
		if s.err != nil {
			fields = append(fields, zap.Error(s.err))
		}
		ce.Write(fields...)
	}
}
