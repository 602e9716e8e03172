package proxy

import (
	"net/http"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/routing"
)

// access runs once r is routed to d and before the gate: it identifies
// the client and checks its permission for d, then its rate and the
// concurrency limits. Limit slots taken are held in sum until its finish.
func (s *Server) access(r *http.Request, st *state, d *routing.Destination, sum *summary) *refusal {
	c, res, deny := st.snap.Clients.Authorize(r, &s.auth, d.Name)
	s.metrics.authFailed(res)
	if c != nil {
		sum.client = c.Name()
	}
	if deny == nil {
		deny = s.lim.Admit(&st.snap.Limits, r, c, d.Name, st.dest(d).held, sum.form == formConnect, &sum.held)
	}
	return refuseAccess(deny, d)
}

// refuseAccess is the one place an access denial becomes its
// docs/refusals.md response, for the data plane and Explain alike; nil
// stays nil.
func refuseAccess(deny *access.Denial, d *routing.Destination) *refusal {
	if deny == nil {
		return nil
	}
	f := &refusal{dest: d, connection: d.Connection, message: deny.Message}
	switch deny.Kind {
	case access.ProxyAuthRequired:
		f.code, f.challenge = CodeProxyAuthRequired, deny.Challenge
	case access.RateLimited:
		f.code, f.retryAfter = CodeRateLimited, deny.RetryAfter
	case access.LimitReached:
		f.code, f.retryAfter = CodeLimitReached, deny.RetryAfter
	default:
		// NotPermitted, and any kind this switch does not know yet: a
		// denial must stay a refusal.
		f.code = CodeNotPermitted
	}
	return f
}
