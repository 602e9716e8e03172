package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/proxy"
)

// explain serves GET /v1/explain from the proxy's pipeline.
func (a *app) explain(method, target, form, client string) (any, error) {
	x, err := a.proxy.Explain(method, target, form, client)
	if errors.Is(err, proxy.ErrExplainRequest) {
		return nil, fmt.Errorf("%w: %v", admin.ErrExplainInput, err)
	}
	if x != nil {
		a.addProbeStep(x)
	}
	return x, err
}

var explainCmd = &command{
	name: "explain",
	args: []argument{{"URL", "https://host/… as a CONNECT (HTTPS_PROXY), http://host/… as the absolute form (HTTP_PROXY), /callout/Name/… as the callout form"}},
	about: `Explain what callgate would do with a request to URL, step by step, without
sending it, through a running callgate's admin API (GET /v1/explain).
Exit status: 0 when the request would be allowed, 1 when refused, 2 on a
usage error.`,
	env: adminEnv,
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	adminURL, tokenFile := adminFlags(fs)
	method := fs.String("method", "GET", "the request's `METHOD`")
	client := fs.String("client", "", "explain for this proxy client (a `NAME` from clients:)")
	form := fs.String("form", "", "connect, absolute or callout (default: from the URL)")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	pos, code, ok := explainCmd.parse(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	target := pos[0]
	c, err := newAdminClient(*adminURL, *tokenFile)
	if err != nil {
		fmt.Fprintln(stderr, "callgate explain:", err)
		return 1
	}
	q := url.Values{"url": {target}, "method": {*method}}
	if *client != "" {
		q.Set("client", *client)
	}
	if *form != "" {
		q.Set("form", *form)
	}
	var x proxy.Explanation
	if err := c.do(http.MethodGet, "/v1/explain?"+q.Encode(), &x); err != nil {
		fmt.Fprintln(stderr, "callgate explain:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(x)
	} else {
		printExplanation(stdout, &x)
	}
	if !x.Verdict.Allowed {
		return 1
	}
	return 0
}

func printExplanation(w io.Writer, x *proxy.Explanation) {
	fmt.Fprintf(w, "%s %s (%s form", x.Request.Method, x.Request.URL, x.Request.Form)
	if x.Request.Client != "" {
		fmt.Fprintf(w, ", client %s", x.Request.Client)
	}
	fmt.Fprintln(w, ")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range x.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Step, s.Result, s.Detail)
	}
	_ = tw.Flush()
	if len(x.Suggestions) > 0 {
		fmt.Fprintf(w, "did you mean: %v\n", x.Suggestions)
	}
	v := x.Verdict
	switch {
	case v.Allowed:
		fmt.Fprintln(w, "verdict: allowed —", v.Message)
	default:
		fmt.Fprintf(w, "verdict: refused, %d %s — %s\n", v.Status, v.Code, v.Message)
		if v.RetryAfterSeconds > 0 {
			fmt.Fprintf(w, "  Retry-After: %d\n", v.RetryAfterSeconds)
		}
		fmt.Fprintln(w, "  Proxy-Status:", v.ProxyStatus)
	}
}
