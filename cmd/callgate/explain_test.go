package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/callgate/callgate/proxy"
)

// TestExplainCLI: `callgate explain URL` against a running callgate prints
// the steps and the verdict the data plane would give, exits 0 when the
// request would be allowed and 1 when refused, and takes flags after the
// URL as users type them.
func TestExplainCLI(t *testing.T) {
	upstream := startUpstream(t).addr
	s, _ := opsStart(t, tempConfig(t, opsConfig(upstream, "explain", "")), zap.NewNop(), false)
	admin := "http://" + s.AdminAddr()
	_, port := mustSplit(t, upstream)

	var out, errOut bytes.Buffer
	if code := run([]string{"explain", "http://orders.internal:" + port + "/items", "--admin", admin}, &out, &errOut); code != 0 {
		t.Fatalf("allowed request: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"absolute form", "route", "named credential Orders", "gate", "verdict: allowed", "dial "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"explain", "--admin", admin, "http://ordres.internal:" + port + "/items"}, &out, &errOut); code != 1 {
		t.Fatalf("unknown destination: exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"verdict: refused, 403 unknown_destination", "did you mean: [orders.internal]", "Proxy-Status: callgate; error=http_request_denied"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"explain", "--admin", admin, "--json", "--method", "trace", "/callout/Orders/x"}, &out, &errOut); code != 1 {
		t.Fatalf("TRACE callout: exit %d\n%s", code, out.String())
	}
	var x proxy.Explanation
	if err := json.Unmarshal(out.Bytes(), &x); err != nil || x.Verdict.Code != "method_not_allowed" || x.Verdict.Status != 405 {
		t.Errorf("--json: %v %+v", err, x.Verdict)
	}
	errOut.Reset()
	if code := run([]string{"explain", "--admin", admin}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: callgate explain") {
		t.Errorf("no URL: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"explain", "--admin", admin, "%zz"}, &out, &errOut); code != 2 {
		t.Errorf("malformed URL: exit %d", code)
	}
}
