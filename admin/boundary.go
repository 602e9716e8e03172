package admin

import (
	"mime"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// boundary refuses, before any route runs, what a web page can make a
// browser send to the admin listener: requests that name another host
// (DNS rebinding, which also lets a page read the GET routes), and
// state-changing requests that are cross-origin or look like an HTML form.
// Without an admin token these checks are all that stands between a
// browser on the operator's machine and the POST routes.
type boundary struct {
	hosts *hostPolicy
	cross *http.CrossOriginProtection
	log   *zap.Logger
	next  http.Handler
}

func (b *boundary) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.hosts.accepts(r.Host, defaultPort(r)) {
		b.log.Debug("admin request refused: Host names another server", zap.String("host", r.Host),
			zap.String("method", r.Method), zap.String("path", r.URL.Path))
		writeError(w, http.StatusMisdirectedRequest, "forbidden_host",
			"Host "+quote(clip(r.Host))+" does not name this admin listener: use "+b.hosts.expected()+
				", or list the name in admin.hosts")
		return
	}
	if safeMethod(r.Method) {
		b.next.ServeHTTP(w, r)
		return
	}
	if msg := b.crossOrigin(r); msg != "" {
		b.log.Debug("admin request refused: cross-origin", zap.String("origin", r.Header.Get("Origin")),
			zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")), zap.String("path", r.URL.Path))
		writeError(w, http.StatusForbidden, "cross_origin_request", msg)
		return
	}
	if !nonSimple(r) {
		b.log.Debug("admin request refused: a body a cross-site form could send",
			zap.String("content_type", r.Header.Get("Content-Type")), zap.String("path", r.URL.Path))
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send no body, or a JSON body with Content-Type: application/json")
		return
	}
	b.next.ServeHTTP(w, r)
}

// crossOrigin returns why r, a state-changing request, comes from another
// origin, or "" when it does not. http.CrossOriginProtection reads
// Sec-Fetch-Site, and without it compares Origin with Host; an Origin must
// in any case name this listener, whatever Sec-Fetch-Site claims.
func (b *boundary) crossOrigin(r *http.Request) string {
	if err := b.cross.Check(r); err != nil {
		return "a cross-origin request from a browser cannot change the admin API's state (" + err.Error() + ")"
	}
	origins := r.Header.Values("Origin")
	switch {
	case len(origins) == 0:
		return ""
	case len(origins) > 1:
		return "more than one Origin header"
	}
	u, err := url.Parse(origins[0])
	if err != nil || u.Scheme != scheme(r) || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "Origin " + quote(clip(origins[0])) + " is not this admin listener's origin"
	}
	if !b.hosts.accepts(u.Host, defaultPort(r)) {
		return "Origin " + quote(clip(origins[0])) + " does not name this admin listener"
	}
	return ""
}

// nonSimple reports whether r is one a cross-site page cannot send without
// a CORS preflight, which this API never grants: it carries Authorization
// or a JSON body, or it has no body and no Content-Type (curl -X POST, the
// CLI). A form's types (text/plain, urlencoded, multipart) are refused
// even with an empty body, since a form with no fields posts exactly that.
func nonSimple(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0 && len(r.TransferEncoding) == 0
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func defaultPort(r *http.Request) string {
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// clip bounds what an answer echoes of a client's header.
func clip(s string) string {
	const limit = 200
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
