package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/testclient"
)

// TestExplainMatchesDataPlane: for each request, Explain's verdict is the
// answer the data plane gives when the request is really sent: the same
// status and code for every refusal the pipeline makes, on every form,
// and "allowed" exactly when the request is carried.
func TestExplainMatchesDataPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newBoundaryEnv(t, testEngine())
	echo := e.echoHost(u)
	partner := fmt.Sprintf("%s:%d", partnerHost, e.good.port)
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	type tc struct {
		name           string
		method, target string // as Explain takes them
		raw            string // the same request on the wire
		client         string // Explain's client=
		auth           string // the same client's Proxy-Authorization
	}
	connect := func(name, hostport string) tc {
		return tc{name: name, method: http.MethodGet, target: "https://" + hostport + "/",
			raw: "CONNECT " + hostport + " HTTP/1.1\r\nHost: " + hostport + "\r\n{auth}\r\n"}
	}
	absolute := func(name, method, target string) tc {
		return tc{name: name, method: method, target: target,
			raw: method + " " + target + " HTTP/1.1\r\nHost: x\r\n{auth}\r\n"}
	}
	callout := func(name, method, path string) tc {
		return tc{name: name, method: method, target: path, raw: method + " " + path + " HTTP/1.1\r\nHost: x\r\n{auth}\r\n"}
	}
	open := []tc{
		connect("connect allowed", partner),
		connect("connect unknown", "nowhere.example:443"),
		connect("connect ip literal", "127.0.0.1:443"),
		connect("connect not ready", fmt.Sprintf("pending.partner.example:%d", e.plain.port)),
		connect("connect warming", fmt.Sprintf("warm.partner.example:%d", e.plain.port)),
		connect("connect orphan", "orphan.partner.example:80"),
		absolute("absolute allowed", http.MethodGet, "http://"+echo+"/base/x"),
		absolute("absolute outside base path", http.MethodGet, "http://"+echo+"/base/../etc"),
		absolute("absolute to an https credential", http.MethodGet, "http://"+partner+"/v1/x"),
		absolute("absolute unknown", http.MethodPost, "http://nowhere.example/"),
		absolute("absolute warming", http.MethodGet, fmt.Sprintf("http://warm.partner.example:%d/", e.plain.port)),
		callout("callout allowed", http.MethodGet, "/callout/Echo/x?q=1"),
		callout("callout TRACE", http.MethodTrace, "/callout/Echo/x"),
		callout("callout unknown", http.MethodGet, "/callout/Ecco/x"),
		callout("callout dot segment", http.MethodGet, "/callout/Echo/%2e%2e/x"),
		callout("callout not ready", http.MethodGet, "/callout/Pending/x"),
	}
	withClients := []tc{
		func() tc {
			c := absolute("anonymous, auth required", http.MethodGet, "http://"+plain+"/base/x")
			return c
		}(),
		func() tc {
			c := absolute("client permitted", http.MethodGet, "http://"+plain+"/base/x")
			c.client, c.auth = "plainpw", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)
			return c
		}(),
		func() tc {
			c := callout("client not permitted", http.MethodGet, "/callout/Slow/x")
			c.client, c.auth = "hashed", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)
			return c
		}(),
	}
	refusedAt := map[string]string{
		"connect unknown": "route", "connect warming": "gate", "absolute outside base path": "base_path",
		"callout TRACE": "method", "client not permitted": "client", "anonymous, auth required": "client",
	}
	check := func(t *testing.T, c tc) {
		x, err := e.srv.Explain(c.method, c.target, "", c.client)
		if err != nil {
			t.Fatal(err)
		}
		h := ""
		if c.auth != "" {
			h = "Proxy-Authorization: " + c.auth + "\r\n"
		}
		method := strings.SplitN(c.raw, " ", 2)[0]
		r := rawExchange(t, e.addr, strings.Replace(c.raw, "{auth}", h, 1), method, 1)
		if len(r.responses) != 1 {
			t.Fatalf("no response: %q", r.raw)
		}
		res := r.responses[0]
		refused := res.Header.Get(refusalCodeHeader) != ""
		if x.Verdict.Allowed == refused {
			t.Fatalf("explain says allowed=%t (%+v); the data plane answered %d %s", x.Verdict.Allowed, x.Verdict, res.StatusCode, r.bodies[0])
		}
		if !refused {
			return
		}
		if x.Verdict.Status != res.StatusCode || x.Verdict.Code != res.Header.Get(refusalCodeHeader) ||
			x.Verdict.ProxyStatus != res.Header.Get("Proxy-Status") {
			t.Errorf("explain %d %s %q; data plane %d %s %q", x.Verdict.Status, x.Verdict.Code, x.Verdict.ProxyStatus,
				res.StatusCode, res.Header.Get(refusalCodeHeader), res.Header.Get("Proxy-Status"))
		}
		last := x.Steps[len(x.Steps)-1]
		if last.Result != "refused" {
			t.Errorf("the last step %+v is not the refusal", last)
		}
		if want := refusedAt[c.name]; want != "" && last.Step != want {
			t.Errorf("refused at step %q, want %q", last.Step, want)
		}
	}
	for _, c := range open {
		t.Run(c.name, func(t *testing.T) { check(t, c) })
	}
	e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{})
	for _, c := range withClients {
		t.Run(c.name, func(t *testing.T) { check(t, c) })
	}
}

// TestExplainSteps: the steps name what the pipeline found, suggest the
// nearest names for an unknown one, and name injected fields, never their
// values.
func TestExplainSteps(t *testing.T) {
	e, u := newBoundaryEnv(t, testEngine())
	x, err := e.srv.Explain("GET", "/callout/Echo/items", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range x.Steps {
		steps = append(steps, s.Step)
	}
	if got := strings.Join(steps, " "); got != "form route method client limits base_path gate address inject" {
		t.Errorf("steps %q", got)
	}
	text := fmt.Sprintf("%+v", x)
	if !x.Verdict.Allowed || !strings.Contains(text, "/base/items") || !strings.Contains(text, plainEP) {
		t.Errorf("explanation %s", text)
	}
	assertNoSecret(t, "explain", []byte(text))
	x, _ = e.srv.Explain("GET", "http://echo.partner.exampel:"+fmt.Sprint(u.port)+"/base/x", "", "")
	if len(x.Suggestions) == 0 || x.Suggestions[0] != "echo.partner.example" {
		t.Errorf("suggestions %v, want echo.partner.example first", x.Suggestions)
	}
	if _, err := e.srv.Explain("GET", "%zz", "", ""); err == nil {
		t.Error("a malformed URL was explained")
	}
	if _, err := e.srv.Explain("GET", url.PathEscape("x"), "telepathy", ""); err == nil {
		t.Error("an unknown form was explained")
	}
}
