package deploy_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/callgate/callgate/proxy"
)

const (
	adminAPIFile = "../docs/admin-api.md"
	refusalsFile = "../docs/refusals.md"
)

// statusNumbers are the net/http status constants the admin package
// answers with. A new one fails TestAdminAPIDoc until it is added here.
var statusNumbers = map[string]int{
	"BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
	"Conflict": 409, "UnsupportedMediaType": 415, "MisdirectedRequest": 421,
	"InternalServerError": 500, "NotImplemented": 501, "BadGateway": 502, "ServiceUnavailable": 503,
}

// adminSources is the text of admin/*.go without the tests.
func adminSources(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "admin", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("admin/*.go: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b.WriteString(readText(t, f))
		}
	}
	return b.String()
}

// TestAdminAPIDoc checks docs/admin-api.md against the admin package: a
// section for every route it registers, and a table row with the status
// for every error code it answers with.
func TestAdminAPIDoc(t *testing.T) {
	doc := readText(t, adminAPIFile)
	src := adminSources(t)
	routes := regexp.MustCompile(`mux\.HandleFunc\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(src, -1)
	if len(routes) < 8 {
		t.Fatalf("found %d routes in admin/*.go; the pattern no longer matches how routes are registered", len(routes))
	}
	for _, r := range routes {
		// "GET /{$}" is ServeMux's way of saying "/ and nothing under it".
		route := strings.TrimSuffix(r[1], "{$}")
		if !strings.Contains(doc, "\n### `"+route+"`\n") {
			t.Errorf("admin-api.md has no section for %s", route)
		}
	}
	errs := regexp.MustCompile(`(?s)write(?:Error|JSON)\(w, http\.Status(\w+), (?:map\[string\]any\{\s*"error":\s*)?"([a-z_]+)"`).FindAllStringSubmatch(src, -1)
	if len(errs) < 10 {
		t.Fatalf("found %d error answers in admin/*.go; the pattern no longer matches them", len(errs))
	}
	for _, e := range errs {
		status, code := e[1], e[2]
		if code == "not_supported" {
			continue // POST /-/reload without a reload function: callgate serve always has one
		}
		n, ok := statusNumbers[status]
		if !ok {
			t.Errorf("admin answers %s with http.Status%s: add it to statusNumbers", code, status)
			continue
		}
		if !regexp.MustCompile(`(?m)^\| ` + strconv.Itoa(n) + " \\| `" + code + "` \\|").MatchString(doc) {
			t.Errorf("admin-api.md has no row | %d | `%s` |", n, code)
		}
	}
	for _, s := range []string{"forbidden_host", "cross_origin_request", "unsupported_media_type", "admin_token_unavailable"} {
		if !strings.Contains(doc, "`"+s+"`") {
			t.Errorf("admin-api.md does not mention %s", s)
		}
	}
}

// TestRefusalsDoc checks docs/refusals.md's table against the proxy's
// refusal codes: one row per code, with the HTTP status the code is sent
// with and the Proxy-Status error type of its row in proxy/refusal.go.
func TestRefusalsDoc(t *testing.T) {
	doc := readText(t, refusalsFile)
	src := readText(t, filepath.Join(repoRoot, "proxy", "refusal.go"))
	rowRe := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([^|]+) \\| ([^|]+) \\|")
	rows := map[string][]string{}
	for _, m := range rowRe.FindAllStringSubmatch(doc, -1) {
		if m[1] == "error" {
			continue // the header
		}
		rows[m[1]] = []string{strings.TrimSpace(m[2]), strings.TrimSpace(m[3])}
	}
	// Closed after the 200 of a CONNECT: no response carries them.
	neverSent := map[string]bool{"sni_mismatch": true, "not_tls": true}
	n := 0
	for c := proxy.Code(1); c.String() != "unknown"; c++ {
		n++
		name := c.String()
		row, ok := rows[name]
		if !ok {
			t.Errorf("refusals.md has no row for %s", name)
			continue
		}
		if neverSent[name] {
			if row[0] != "—" {
				t.Errorf("%s: status %q; it is never sent, want —", name, row[0])
			}
			continue
		}
		if row[0] != strconv.Itoa(c.HTTPStatus()) {
			t.Errorf("%s: refusals.md says %s, the proxy sends %d", name, row[0], c.HTTPStatus())
		}
		types := regexp.MustCompile("`([a-z_]+)`").FindStringSubmatch(row[1])
		var line string
		for _, l := range strings.Split(src, "\n") {
			if strings.Contains(l, `{"`+name+`"`) {
				line = l
			}
		}
		if types == nil || !strings.Contains(line, `"`+types[1]+`"`) {
			t.Errorf("%s: refusals.md's Proxy-Status %q is not the one of its row in proxy/refusal.go: %s", name, row[1], strings.TrimSpace(line))
		}
	}
	if n < 18 {
		t.Fatalf("only %d refusal codes from proxy.Code", n)
	}
	if len(rows) != n {
		t.Errorf("refusals.md has %d rows, the proxy %d codes", len(rows), n)
	}
}
