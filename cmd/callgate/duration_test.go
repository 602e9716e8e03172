package main

import (
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestRequestDurationCoversTheBody checks what callgate_request_duration_seconds
// measures, and that its help and docs/operations.md say the same: an endpoint that
// sends its response head at once and its body bodyDelay later makes
// requests (absolute and callout form, sent with curl) that last at least
// bodyDelay, so the histogram runs to the end of the exchange, not to the
// response head.
func TestRequestDurationCoversTheBody(t *testing.T) {
	const bodyDelay = 400 * time.Millisecond
	upstream := startUpstream(t, upHandler(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(bodyDelay)
		_, _ = w.Write([]byte("late body"))
	})).addr
	_, port, _ := net.SplitHostPort(upstream)
	s, _ := opsStart(t, tempConfig(t, opsConfig(upstream, "duration", "")), zap.NewNop(), false)

	proxyURL := "http://" + s.ProxyAddr()
	for _, args := range [][]string{
		{"-x", proxyURL, "http://orders.internal:" + port + "/a"},
		{proxyURL + "/callout/Orders/c"},
	} {
		if code, body := runCurl(t, args...); code != 200 || body != "late body" {
			t.Fatalf("curl %v: %d %q", args, code, body)
		}
	}
	_, metrics := runCurl(t, "http://"+s.AdminAddr()+"/metrics")
	for _, form := range []string{"absolute", "callout"} {
		labels := []string{`named_credential="Orders"`, `form="` + form + `"`}
		count, _ := scrapedSum(metrics, "callgate_request_duration_seconds_count", labels...)
		sum, _ := scrapedSum(metrics, "callgate_request_duration_seconds_sum", labels...)
		if count != 1 || sum < bodyDelay.Seconds() {
			t.Errorf("form %s: %v requests taking %.3fs in all; want 1 of at least %s (the body's delay)", form, count, sum, bodyDelay)
		}
	}

	help := regexp.MustCompile(`(?m)^# HELP callgate_request_duration_seconds (.*)$`).FindStringSubmatch(metrics)
	if help == nil || !strings.Contains(help[1], "whole exchange") {
		t.Errorf("the metric's help %q does not say it covers the whole exchange", help)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `callgate_request_duration_seconds` \\|.*$").FindString(string(doc))
	if !strings.Contains(row, "end of the exchange") || !strings.Contains(row, "response body") || strings.Contains(row, "response head") {
		t.Errorf("docs/operations.md describes the histogram as %q; it runs to the end of the response body", row)
	}
}
