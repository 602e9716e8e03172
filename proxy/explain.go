package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/editdist"
	"github.com/callgate/callgate/routing"
)

// Explanation is what the data plane would do with a request, step by
// step, without sending it (GET /v1/explain, callgate explain). It never
// holds a secret: injected authentication is named by kind and field
// names only.
type Explanation struct {
	Request ExplainRequest `json:"request"`
	Steps   []ExplainStep  `json:"steps"`
	// Suggestions are the configured names nearest an unknown one.
	Suggestions []string       `json:"suggestions,omitempty"`
	Verdict     ExplainVerdict `json:"verdict"`
}

// ExplainRequest is the request explained, as the pipeline saw it.
type ExplainRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Form   string `json:"form"`
	Client string `json:"client,omitempty"`
}

// ExplainStep is one step of the pipeline: "pass", "refused", or "info"
// for a step that only reports (the limits in force).
type ExplainStep struct {
	Step   string `json:"step"`
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// ExplainVerdict is the answer the data plane would give: allowed, or the
// refusal with its status, code, Proxy-Status and message.
type ExplainVerdict struct {
	Allowed           bool   `json:"allowed"`
	Status            int    `json:"status,omitempty"`
	Code              string `json:"code,omitempty"`
	ProxyStatus       string `json:"proxy_status,omitempty"`
	Message           string `json:"message"`
	RetryAfterSeconds int64  `json:"retry_after_seconds,omitempty"`
}

// The pipeline's step names, as Explain reports them.
const (
	stepForm    = "form"
	stepRoute   = "route"
	stepMethod  = "method"
	stepClient  = "client"
	stepLimits  = "limits"
	stepPath    = "base_path"
	stepGate    = "gate"
	stepAddress = "address"
	stepInject  = "inject"
)

// explainer records the steps of one Explain; its methods do nothing on
// a nil receiver, so the data plane passes none.
type explainer struct {
	steps       []ExplainStep
	suggestions []string
	at          string // the step being checked, which a refusal stops
}

func (x *explainer) enter(step string) {
	if x != nil {
		x.at = step
	}
}

func (x *explainer) pass(step, detail string) {
	if x != nil {
		x.steps = append(x.steps, ExplainStep{Step: step, Result: "pass", Detail: detail})
	}
}

func (x *explainer) note(step, detail string) {
	if x != nil {
		x.steps = append(x.steps, ExplainStep{Step: step, Result: "info", Detail: detail})
	}
}

// suggest keeps the configured names nearest name (host or credential
// name), for a request that matched none.
func (x *explainer) suggest(t *routing.Table, name string) {
	name = strings.ToLower(name)
	type cand struct {
		s string
		d int
	}
	var cs []cand
	for _, d := range t.Destinations() {
		for _, c := range []string{d.Name, d.Host} {
			if dist := editdist.Distance(name, strings.ToLower(c)); dist <= max(2, len(name)/3) {
				cs = append(cs, cand{c, dist})
			}
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.s] && len(x.suggestions) < 3 {
			seen[c.s] = true
			x.suggestions = append(x.suggestions, c.s)
		}
	}
}

// ErrExplainRequest: Explain was given a URL, method or form it cannot
// turn into a request.
var ErrExplainRequest = errors.New("proxy: cannot explain that request")

// Explain runs the pipeline for a request without sending anything.
// rawURL is the destination (https://host/… is explained as a CONNECT,
// http://host/… as the absolute form, and /callout/Name/… or a URL with
// that path on callgate's own address as the callout form); form
// ("connect", "absolute", "callout" or "") overrides that choice for a
// URL that could be either. client, when set, is the name of the proxy
// client to explain for; without it the request carries no identity.
func (s *Server) Explain(method, rawURL, form, client string) (*Explanation, error) {
	if method == "" {
		method = http.MethodGet
	}
	method = strings.ToUpper(method)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: url: %v", ErrExplainRequest, err)
	}
	r := &http.Request{Method: method, URL: u, RequestURI: rawURL, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	switch {
	case form == "connect" || (form == "" && u.IsAbs() && strings.EqualFold(u.Scheme, "https")):
		if u.Host == "" {
			return nil, fmt.Errorf("%w: a CONNECT needs a URL with a host", ErrExplainRequest)
		}
		port := u.Port()
		switch {
		case port != "":
		case strings.EqualFold(u.Scheme, "https"):
			port = "443"
		default:
			port = "80"
		}
		r.Method, r.Host = http.MethodConnect, net.JoinHostPort(u.Hostname(), port)
		r.RequestURI, r.URL = r.Host, &url.URL{Host: r.Host}
	case form == "callout" || (form == "" && !u.IsAbs()):
		if !strings.HasPrefix(u.EscapedPath(), calloutPrefix) {
			return nil, fmt.Errorf("%w: the callout form's URL is /callout/{NamedCredential}/{path}", ErrExplainRequest)
		}
		r.RequestURI = u.EscapedPath()
		if u.RawQuery != "" {
			r.RequestURI += "?" + u.RawQuery
		}
		r.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	case form == "absolute" || form == "":
		if !u.IsAbs() {
			return nil, fmt.Errorf("%w: the absolute form needs http://host/…", ErrExplainRequest)
		}
		r.Host = u.Host
	default:
		return nil, fmt.Errorf("%w: form %q is not connect, absolute or callout", ErrExplainRequest, form)
	}
	st := s.state.Load()
	sum := &summary{dm: s.unknown}
	x := &explainer{at: stepForm}
	p := &pass{r: r, st: st, sum: sum, x: x, asClient: client}
	p.form, p.callout = s.formOf(r)
	sum.form = p.form
	out := &Explanation{Request: ExplainRequest{Method: r.Method, URL: rawURL, Form: p.form.String(), Client: client}}
	var f *refusal
	if p.form == formOther {
		f = badRequest(nil, "send CONNECT host:port, an absolute-form http:// URL, or /callout/{NamedCredential}/{path}", nil)
	} else {
		x.pass(stepForm, describeForm(p.form))
		f = s.run(p)
	}
	if f == nil && p.form != formConnect {
		x.pass(stepInject, describeInject(p.d))
	}
	out.Steps, out.Suggestions = x.steps, x.suggestions
	if f != nil {
		out.Steps = append(out.Steps, ExplainStep{Step: x.at, Result: "refused", Detail: f.message})
		r := rows[f.code]
		out.Verdict = ExplainVerdict{Status: r.status, Code: r.name, ProxyStatus: f.proxyStatusValue(), Message: f.message,
			RetryAfterSeconds: retryAfterSeconds(f.retryAfter)}
		return out, nil
	}
	out.Verdict = ExplainVerdict{Allowed: true, Message: s.describeAddress(p)}
	if p.form == formConnect {
		out.Verdict.Status = http.StatusOK
	}
	return out, nil
}

func describeForm(f form) string {
	switch f {
	case formConnect:
		return "CONNECT tunnel (HTTPS_PROXY)"
	case formAbsolute:
		return "absolute-form request (HTTP_PROXY)"
	}
	return "callout form (/callout/{NamedCredential}/…)"
}

// authDescriber is what Explain asks of an Injector: its kind and the
// fields it sets, never a value. credauth.Injector has both.
type authDescriber interface {
	Kind() string
	HeaderNames() []string
}

func describeInject(d *routing.Destination) string {
	if d == nil || d.Auth == nil {
		return "nothing is injected"
	}
	if a, ok := d.Auth.(authDescriber); ok {
		if a.Kind() == "none" {
			return "nothing is injected"
		}
		return a.Kind() + " authentication sets " + strings.Join(a.HeaderNames(), ", ")
	}
	return "the named credential's authentication is injected"
}

// explainClient is checkAccess's identity step for an Explain: the named
// client, or a request with no identity.
func (s *Server) explainClient(p *pass) (*access.Identity, *refusal) {
	cs := p.st.snap.Clients
	if cs == nil {
		return nil, nil
	}
	if p.asClient == "" {
		// The data plane's own answers to a request without an identity.
		p.x.note(stepClient, "no client given: explaining a request without Proxy-Authorization (client=NAME explains for a client)")
		return nil, refuseAccess(cs.NoIdentity(), p.d)
	}
	c, deny := cs.AuthorizeAs(p.asClient, p.d.Name)
	return c, refuseAccess(deny, p.d)
}
