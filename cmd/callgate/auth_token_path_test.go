package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/callgate/callgate/internal/testwait"
)

// TestAuthOAuth2TokenThroughNamedCredential: the token endpoint's host is
// the named credential IdP, so token requests take IdP's connection: they
// succeed although the host resolves nowhere, with TLS for the token host;
// while the connection is down they are refused without reaching the
// endpoint, and their open connections are closed; once it is back they
// succeed again.
func TestAuthOAuth2TokenThroughNamedCredential(t *testing.T) {
	e := authSetup(t)

	resp, body := e.callout(http.MethodGet, "OAuth", "orders/1", nil, nil)
	e.mustVerify(resp, body, "oauth")
	if names := e.tokens.serverNames(); len(names) != 1 || names[authIdPHost] == 0 {
		t.Errorf("TLS server names at the token endpoint %v, want only %s", names, authIdPHost)
	}
	if e.tokens.openConns() == 0 {
		t.Fatal("no token connection stayed open to be revoked")
	}

	// The endpoint service's owner rejects the idp endpoint: the
	// connection leaves Ready.
	if err := e.s.app.sim.Reject("idp"); err != nil {
		t.Fatal(err)
	}
	testwait.UntilExplained(t, authWaitMax, "the idp connection to stop admitting traffic", func() (bool, string) {
		a := e.s.app.manager.Admit("idp")
		return !a.Allowed(), a.Status.String()
	})
	testwait.UntilExplained(t, authWaitMax, "the idle token connection to close", func() (bool, string) {
		n := e.tokens.openConns()
		return n == 0, fmt.Sprintf("%d open", n)
	})

	resp, body = e.callout(http.MethodGet, "OAuthBurst", "x", nil, nil)
	r := e2eRefused(t, resp, body, http.StatusBadGateway, "credential_unavailable", "destination_unavailable")
	if r.NamedCredential != "OAuthBurst" {
		t.Errorf("refusal %+v: want the named credential", r)
	}
	if n := e.tokens.count("burst"); n != 0 {
		t.Errorf("%d token requests reached the endpoint while its connection was down", n)
	}
	found := false
	for _, en := range e.logs.FilterMessage("oauth2 token request failed").All() {
		msg := fmt.Sprint(en.ContextMap()["error"])
		found = found || (strings.Contains(msg, `named credential "IdP"`) && strings.Contains(msg, `connection "idp"`) &&
			strings.Contains(msg, "not admitting traffic"))
	}
	if !found {
		t.Errorf("no token failure log names IdP, its connection and the gate:\n%s", strings.Join(authLogText(e.logs), "\n"))
	}

	if err := e.s.app.sim.Accept("idp"); err != nil {
		t.Fatal(err)
	}
	testwait.UntilExplained(t, authWaitMax, "a token through the idp connection again", func() (bool, string) {
		resp, body = e.callout(http.MethodGet, "OAuthBurst", "y", nil, nil)
		return resp.StatusCode == http.StatusOK, resp.Status + " " + body
	})
	e.mustVerify(resp, body, "oauth-burst")
	if n := e.tokens.count("burst"); n != 1 {
		t.Errorf("%d token requests after recovery, want 1", n)
	}
}
