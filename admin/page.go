package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

// The Outbound Connections page: GET / renders it with html/template from
// the same data as the JSON API, and page.js, served from /assets/, keeps
// it current by polling that API. Nothing is fetched from anywhere else,
// and the Content-Security-Policy says so to the browser.

//go:embed page/index.html page/assets
var pageFiles embed.FS

// pageCSP allows the page its own script, style and icon, and calls to its
// own origin; no inline script or style, no framing, no form posting.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var pageTemplate = template.Must(template.New("index.html").ParseFS(pageFiles, "page/index.html"))

// pageAsset is one embedded static file with its type and ETag.
type pageAsset struct {
	body        []byte
	contentType string
	etag        string
}

var pageAssets = loadPageAssets()

func loadPageAssets() map[string]pageAsset {
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	out := map[string]pageAsset{}
	err := fs.WalkDir(pageFiles, "page/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := pageFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct, ok := types[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		out[path.Base(p)] = pageAsset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// setPageHeaders sets what every response of the page and its assets
// carries.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (h *handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := pageAssets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	// Revalidate every time, so a new callgate's page never runs an old
	// script; the ETag makes that a 304.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// pageData is what index.html renders.
type pageData struct {
	// TokenRequired: admin.token_file is set, so the page asks for the
	// token before any state-changing call.
	TokenRequired bool
	// ProtectReads: the GET /v1/ routes need the token too, so the page
	// renders no rows until the browser has it.
	ProtectReads bool
	Simulated    bool
	// Matrix is the actions each status allows, and the simulated service
	// owner's, as JSON for page.js.
	Matrix      string
	Connections []connRow
	Credentials []credRow
	RenderedAt  string
}

type connRow struct {
	Name, Description, Type, ServiceName, Region, EndpointID string
	StatusClass, StatusWord, StatusDetail                    string
	LastSync, LastSyncAge, LastError                         string
	Actions                                                  []actionButton
	Hint                                                     string
}

type actionButton struct {
	Kind   string // "connection" or "simulated"
	Action string // the path segment: provision, accept, delete-remotely…
	Label  string
}

type credRow struct {
	Name, URL, Connection          string
	Admitted                       bool
	Traffic, TrafficDetail         string
	CertClass, CertWord, CertError string
	Requests, Refusals             string
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	d := pageData{
		TokenRequired: h.opts.TokenFile != nil && h.opts.TokenFile() != "",
		ProtectReads:  h.opts.ProtectReads != nil && h.opts.ProtectReads(),
		Simulated:     h.opts.Simulator != nil,
		Matrix:        actionMatrix(h.opts.Simulator != nil),
		RenderedAt:    now.UTC().Format(time.RFC3339),
	}
	if !d.ProtectReads {
		// What GET /v1/connections and /v1/named-credentials would answer
		// anyone; under admin.protect_reads the page waits for the token.
		if h.opts.Connections != nil {
			d.Connections = []connRow{}
			for _, v := range h.opts.Connections.List() {
				d.Connections = append(d.Connections, newConnRow(v, d.Simulated, now))
			}
		}
		d.Credentials = []credRow{}
		if h.opts.Credentials != nil {
			for _, c := range h.opts.Credentials() {
				d.Credentials = append(d.Credentials, newCredRow(c))
			}
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		h.opts.Logger.Error("admin page did not render", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "page_failed", "the page did not render (see callgate's log)")
		return
	}
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// simulatedActions is what the simulated service owner can do to an
// endpoint in each status (acceptance: manual); each needs an endpoint.
var simulatedActions = map[connstate.Status][]string{
	connstate.PendingAcceptance: {"accept", "reject", "delete-remotely"},
	connstate.PendingActivation: {"reject", "delete-remotely"},
	connstate.Ready:             {"reject", "delete-remotely"},
	connstate.RejectedRemotely:  {"delete-remotely"},
}

// actionMatrix is the JSON page.js reads the offered actions from:
// {"actions": {status: [action…]}, "simulated": {status: [action…]}}.
func actionMatrix(simulated bool) string {
	m := struct {
		Actions   map[string][]connstate.Action `json:"actions"`
		Simulated map[string][]string           `json:"simulated"`
	}{Actions: map[string][]connstate.Action{}, Simulated: map[string][]string{}}
	for _, s := range connstate.Statuses() {
		m.Actions[s.String()] = connstate.AllowedActions(s)
		if simulated {
			if a := simulatedActions[s]; a != nil {
				m.Simulated[s.String()] = a
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// actionLabels names the buttons; page.js has the same words.
var actionLabels = map[string]string{
	"provision": "Provision", "sync": "Sync", "teardown": "Teardown",
	"accept": "Accept", "reject": "Reject", "delete-remotely": "Delete remotely",
}

func newConnRow(v connstate.View, simulated bool, now time.Time) connRow {
	row := connRow{
		Name: v.Name, Description: v.Description, Type: v.Type, ServiceName: v.ServiceName,
		Region: v.Region, EndpointID: v.VpcEndpointID, LastError: v.LastError,
	}
	row.StatusClass, row.StatusWord, row.StatusDetail = statusLook(v, now)
	if !v.LastSync.IsZero() {
		row.LastSync = v.LastSync.UTC().Format(time.RFC3339)
		row.LastSyncAge = age(now.Sub(v.LastSync))
	}
	var edit, del bool
	for _, a := range connstate.AllowedActions(v.Status) {
		switch a {
		case connstate.ActionEdit:
			edit = true
		case connstate.ActionDelete:
			del = true
		default:
			row.Actions = append(row.Actions, actionButton{Kind: "connection", Action: string(a), Label: actionLabels[string(a)]})
		}
	}
	row.Hint = configHint(edit, del)
	if simulated && v.VpcEndpointID != "" {
		for _, a := range simulatedActions[v.Status] {
			row.Actions = append(row.Actions, actionButton{Kind: "simulated", Action: a, Label: actionLabels[a]})
		}
	}
	return row
}

// configHint says where the actions that are config edits are done.
func configHint(edit, del bool) string {
	switch {
	case edit && del:
		return "Edit or delete: in the config file"
	case edit:
		return "Edit: in the config file"
	case del:
		return "Delete: in the config file"
	}
	return ""
}

// statusLook is the status cell: a colour class, the status word and,
// for a Ready connection still warming up, the countdown.
func statusLook(v connstate.View, now time.Time) (class, word, detail string) {
	word = v.Status.String()
	switch v.Status {
	case connstate.Unprovisioned:
		return "st-idle", word, ""
	case connstate.Ready:
		if left := v.WarmAt.Sub(now); !v.WarmAt.IsZero() && left > 0 {
			return "st-warm", word, "warming, " + countdown(left) + " left"
		}
		return "st-ok", word, ""
	case connstate.RejectedRemotely, connstate.DeletedRemotely:
		return "st-bad", word, ""
	}
	if v.Status.Transitional() {
		return "st-busy", word, ""
	}
	return "st-bad", word, ""
}

// countdown writes d rounded up to whole seconds, as Go does: 3m12s.
func countdown(d time.Duration) string {
	return (d + time.Second - 1).Truncate(time.Second).String()
}

// age writes how long ago something was, coarsely: 5s ago, 3m ago.
func age(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		s = 0
		fallthrough
	case s < 60:
		return strconv.FormatInt(s, 10) + "s ago"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m ago"
	case s < 86400:
		return strconv.FormatInt(s/3600, 10) + "h ago"
	}
	return strconv.FormatInt(s/86400, 10) + "d ago"
}

func newCredRow(c CredentialView) credRow {
	row := credRow{
		Name: c.Name, URL: c.URL, Connection: c.Connection, Admitted: c.Admitted,
		Requests: strconv.FormatUint(c.Requests, 10), Refusals: strconv.FormatUint(c.Refusals, 10),
	}
	row.Traffic, row.TrafficDetail = trafficLook(c)
	row.CertClass, row.CertWord = certLook(c.CertificateCheck)
	row.CertError = c.CertificateError
	return row
}

// trafficLook says whether traffic is admitted now and, when not, why.
func trafficLook(c CredentialView) (word, detail string) {
	word, detail = "No", c.NotAdmittedReason
	if c.Admitted {
		word, detail = "Yes", ""
	} else if c.NotAdmitted != "" {
		detail = c.NotAdmitted + ": " + c.NotAdmittedReason
	}
	if c.AuthType != "" && c.AuthType != "none" && !c.SecretLoaded {
		detail = strings.TrimPrefix(detail+"; ", "; ") + "its " + c.AuthType + " secret is not loaded: callout requests are refused (credential_unavailable)"
	}
	return word, detail
}

func certLook(check string) (class, word string) {
	switch check {
	case "ok":
		return "st-ok", "OK"
	case "failed":
		return "st-bad", "Failed"
	case "not_applicable":
		return "st-idle", "Not applicable (http)"
	case "not_checked", "":
		return "st-idle", "Not checked yet"
	}
	return "st-idle", check
}
