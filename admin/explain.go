package admin

import (
	"errors"
	"net/http"
)

// ErrExplainInput marks an Explain error caused by the query (a bad URL,
// method or form): answered 400, where any other error is a 500.
var ErrExplainInput = errors.New("admin: cannot explain that request")

// explain answers GET /v1/explain?url=URL[&method=M][&client=NAME][&form=F]:
// the decision the data plane would make, step by step, sending nothing.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("url")
	if target == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "url is required: /v1/explain?url=https://host/path[&method=GET][&client=NAME][&form=connect|absolute|callout]")
		return
	}
	out, err := h.opts.Explain(q.Get("method"), target, q.Get("form"), q.Get("client"))
	switch {
	case errors.Is(err, ErrExplainInput):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, "explain_failed", err.Error())
	default:
		writeJSON(w, http.StatusOK, out)
	}
}
