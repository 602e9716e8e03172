// Package admin serves callgate's admin listener: metrics, health, reload,
// and the outbound-connection and named-credential API of docs/admin-api.md.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

// Connections is what the admin API needs of the control loop
// (connstate.Manager implements it).
type Connections interface {
	List() []connstate.View
	Get(name string) (connstate.View, bool)
	Do(ctx context.Context, name string, a connstate.Action) error
	Ready() bool
}

// Simulator drives the simulated backend's remote side (acceptance: manual).
type Simulator interface {
	Accept(connection string) error
	Reject(connection string) error
	DeleteRemotely(connection string) error
}

// CredentialView is one row of GET /v1/named-credentials.
type CredentialView struct {
	Name             string `json:"name"`
	URL              string `json:"url"`
	Host             string `json:"host"`
	Port             uint16 `json:"port"`
	Connection       string `json:"connection"`
	AuthType         string `json:"auth_type"`
	SecretLoaded     bool   `json:"secret_loaded"`
	CertificateCheck string `json:"certificate_check"`
	CertificateError string `json:"certificate_error,omitempty"`
	CheckedAt        string `json:"checked_at,omitempty"`
	// Admitted reports whether the gate lets this credential's traffic
	// through now; when it does not, NotAdmitted is the refusal code a
	// request gets (connection_not_ready, warming_up) and
	// NotAdmittedReason says why in words.
	Admitted          bool   `json:"admitted"`
	NotAdmitted       string `json:"not_admitted,omitempty"`
	NotAdmittedReason string `json:"not_admitted_reason,omitempty"`
	// Requests and Refusals count this credential's requests and tunnels
	// since the process started (callgate_requests_total and
	// callgate_refusals_total).
	Requests uint64 `json:"requests"`
	Refusals uint64 `json:"refusals"`
	// CertificateReason is the last failed probe's reason (probe.Reason*);
	// CertificateExpiresAt when the certificate seen expires (RFC 3339).
	CertificateReason    string `json:"certificate_reason,omitempty"`
	CertificateExpiresAt string `json:"certificate_expires_at,omitempty"`
}

// Options wires the admin handler. Nil fields disable what they serve.
type Options struct {
	// Addr is the address the admin listener is bound to (its Addr()).
	// Every request must name it in Host, or name ListenHost or one of
	// Hosts: see hostPolicy. New panics without it.
	Addr net.Addr
	// ListenHost is the host of listen.admin as configured; when it is a
	// name rather than an address, Host may name it too.
	ListenHost string
	// Hosts returns admin.hosts: further names Host may use, each "host"
	// (any port) or "host:port". Nil adds none.
	Hosts func() []string

	Connections Connections
	// Reload runs one reload through the single reload goroutine and
	// returns its error; nil disables POST /-/reload.
	Reload func(ctx context.Context) error
	// RestartPending lists config keys that changed but need a restart;
	// a successful POST /-/reload reports them. Nil reports none.
	RestartPending func() []string
	// Credentials lists the named credentials of the current snapshot.
	Credentials func() []CredentialView
	// Explain answers GET /v1/explain: what the data plane would do with a
	// request (method, url, form, client), without sending it. An error
	// wrapping ErrExplainInput is the query's fault (400). Nil disables the
	// route.
	Explain func(method, url, form, client string) (any, error)
	// Simulator is set only in simulated mode with acceptance: manual.
	Simulator Simulator
	// TokenFile returns the path of the file holding the bearer token every
	// POST route requires, read on each request so it can rotate. Nil or ""
	// leaves those routes open. A file that is empty, whitespace-only or
	// unreadable makes them refuse every request (503) until it holds a
	// token again.
	TokenFile func() string
	// ProtectReads, when it returns true, makes the GET /v1/ routes require
	// the token too (/healthz, /readyz and /metrics stay open for probes
	// and scrapers). Nil protects only the POST routes.
	ProtectReads func() bool
	// Metrics records the token file's state; nil records nothing.
	Metrics *Metrics
	// Gatherer serves /metrics; nil serves none.
	Gatherer prometheus.Gatherer
	// ShuttingDown makes /readyz answer 503 once shutdown has begun.
	ShuttingDown func() bool
	// ActionTimeout bounds a POST action; zero means 30s.
	ActionTimeout time.Duration
	Logger        *zap.Logger
}

type handler struct {
	opts  Options
	mux   *http.ServeMux
	token *tokenFile
}

// New returns the admin API handler. It panics when opts.Addr is missing
// or not an IP address and port: without it no Host could be checked.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	hosts, err := newHostPolicy(opts.Addr, opts.ListenHost, opts.Hosts)
	if err != nil {
		panic(err)
	}
	if opts.ActionTimeout == 0 {
		opts.ActionTimeout = 30 * time.Second
	}
	h := &handler{opts: opts, mux: http.NewServeMux(),
		token: &tokenFile{path: opts.TokenFile, log: opts.Logger, metrics: opts.Metrics}}
	_, _ = h.token.current() // the gauge tells the truth from the start; a bad file is logged
	if opts.Gatherer != nil {
		metrics := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})
		h.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			// Checking on each scrape keeps the token gauge (and the log)
			// current when no one calls a protected route.
			_, _ = h.token.current()
			metrics.ServeHTTP(w, r)
		})
	}
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /assets/{file}", h.asset)
	h.mux.HandleFunc("GET /v1/token-check", h.protect(h.tokenCheck))
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.HandleFunc("POST /-/reload", h.protect(h.reload))
	h.mux.HandleFunc("GET /v1/connections", h.protectRead(h.listConnections))
	h.mux.HandleFunc("GET /v1/connections/{name}", h.protectRead(h.getConnection))
	h.mux.HandleFunc("POST /v1/connections/{name}/{action}", h.protect(h.connectionAction))
	h.mux.HandleFunc("GET /v1/named-credentials", h.protectRead(h.listCredentials))
	if opts.Explain != nil {
		h.mux.HandleFunc("GET /v1/explain", h.protectRead(h.explain))
	}
	if opts.Simulator != nil {
		h.mux.HandleFunc("POST /v1/simulated/{name}/{action}", h.protect(h.simulatedAction))
	}
	return &boundary{hosts: hosts, cross: http.NewCrossOriginProtection(), log: opts.Logger, next: h}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) readyz(w http.ResponseWriter, _ *http.Request) {
	switch {
	case h.opts.ShuttingDown != nil && h.opts.ShuttingDown():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
	case h.opts.Connections == nil || !h.opts.Connections.Ready():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "first_sync_pending"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// protect requires the bearer token, compared in constant time, on routes
// that change state. A token file that holds no token refuses everyone:
// failing open would hand the routes to anyone who can reach the port.
func (h *handler) protect(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want, err := h.token.current()
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "admin_token_unavailable", tokenRefusal(err))
			return
		}
		if want != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="callgate-admin"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
				return
			}
		}
		next(w, r)
	}
}

// protectRead requires the token on a GET route when ProtectReads says so.
func (h *handler) protectRead(next http.HandlerFunc) http.HandlerFunc {
	guarded := h.protect(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if h.opts.ProtectReads != nil && h.opts.ProtectReads() {
			guarded(w, r)
			return
		}
		next(w, r)
	}
}

// tokenCheck answers 200 to a request that carries the admin token (or
// when none is configured): the page checks a token before keeping it.
func (h *handler) tokenCheck(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	if h.opts.Reload == nil {
		writeError(w, http.StatusNotImplemented, "not_supported", "reload is not available")
		return
	}
	if err := h.opts.Reload(r.Context()); err != nil {
		writeError(w, http.StatusBadRequest, "reload_failed", err.Error())
		return
	}
	answer := map[string]any{"status": "reloaded"}
	if h.opts.RestartPending != nil {
		if keys := h.opts.RestartPending(); len(keys) > 0 {
			answer["restart_required"] = keys
		}
	}
	writeJSON(w, http.StatusOK, answer)
}

func (h *handler) listConnections(w http.ResponseWriter, _ *http.Request) {
	views := h.opts.Connections.List()
	if views == nil {
		views = []connstate.View{}
	}
	writeJSON(w, http.StatusOK, views)
}

func (h *handler) getConnection(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, ok := h.opts.Connections.Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_connection", "no outbound connection is named "+quote(name))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) connectionAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), connstate.Action(r.PathValue("action"))
	switch action {
	case connstate.ActionProvision, connstate.ActionSync, connstate.ActionTeardown:
	default:
		writeError(w, http.StatusNotFound, "unknown_action",
			"unknown action "+quote(string(action))+": use provision, sync or teardown")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ActionTimeout)
	defer cancel()
	err := h.opts.Connections.Do(ctx, name, action)
	var actionErr *connstate.ActionError
	switch {
	case err == nil:
		v, _ := h.opts.Connections.Get(name)
		writeJSON(w, http.StatusOK, v)
	case errors.As(err, &actionErr):
		writeJSON(w, http.StatusConflict, map[string]any{
			"error":           "action_not_allowed",
			"message":         actionErr.Error(),
			"connection":      name,
			"status":          actionErr.Status.String(),
			"allowed_actions": connstate.AllowedActions(actionErr.Status),
		})
	case errors.Is(err, connstate.ErrUnknownConnection):
		writeError(w, http.StatusNotFound, "unknown_connection", err.Error())
	default:
		h.opts.Logger.Warn("admin action failed", zap.String("connection", name),
			zap.String("action", string(action)), zap.Error(err))
		writeError(w, http.StatusBadGateway, "action_failed", err.Error())
	}
}

func (h *handler) listCredentials(w http.ResponseWriter, _ *http.Request) {
	var views []CredentialView
	if h.opts.Credentials != nil {
		views = h.opts.Credentials()
	}
	if views == nil {
		views = []CredentialView{}
	}
	writeJSON(w, http.StatusOK, views)
}

func (h *handler) simulatedAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var err error
	switch r.PathValue("action") {
	case "accept":
		err = h.opts.Simulator.Accept(name)
	case "reject":
		err = h.opts.Simulator.Reject(name)
	case "delete-remotely":
		err = h.opts.Simulator.DeleteRemotely(name)
	default:
		writeError(w, http.StatusNotFound, "unknown_action", "use accept, reject or delete-remotely")
		return
	}
	if err != nil {
		writeError(w, http.StatusConflict, "simulation_refused", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "done", "connection": name})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]string{"error": errCode, "message": msg})
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
