package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs what `make demo` runs: the newcomer sees the call refused
// while the connection comes up, refused while it warms, then succeed.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes ~8s of simulated provisioning")
	}
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--exit", "--warmup", "2s", "--proxy", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--timeout", "60s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	text := out.String()
	if first, _, _ := strings.Cut(text, "\n"); !regexp.MustCompile(`^Outbound Connections page: http://127\.0\.0\.1:\d+/$`).MatchString(first) {
		t.Errorf("the demo's first line is %q, want the page's URL", first)
	}
	order := []string{"503 connection_not_ready", "503 warming_up (Retry-After: ", "200 {", "The call went through"}
	pos := 0
	for _, want := range order {
		i := strings.Index(text[pos:], want)
		if i < 0 {
			t.Fatalf("demo output lacks %q after position %d:\n%s", want, pos, text)
		}
		pos += i
	}
	for _, status := range []string{"Allocating", "PendingAcceptance", "PendingActivation", "Ready"} {
		if !strings.Contains(text, "connection "+status) {
			t.Errorf("demo never showed status %s:\n%s", status, text)
		}
	}
}
