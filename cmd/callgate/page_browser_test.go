package main

// The Outbound Connections page in a real headless Chromium, driven with
// chromedp against an in-process callgate on simulated AWS. These are
// integration tests: they skip under -short, and skip without a chromium
// binary unless CI=true or CALLGATE_REQUIRE_BROWSER=1 says one must be
// there. CALLGATE_SCREENSHOT_DIR (make screenshots) keeps the screenshots
// there instead of in the test's temp dir.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/testwait"
)

const (
	// browserStep bounds one browser action.
	browserStep = 20 * time.Second
	// browserWait bounds one wait for the page to show something.
	browserWait = 30 * time.Second
)

// pageBrowser is one headless Chromium tab and what its console said.
type pageBrowser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // console errors, uncaught exceptions, CSP violations
	allow401 bool     // a 401 answer is expected (the token tests)
}

// browserRequired reports whether a missing chromium fails the test.
func browserRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("CALLGATE_REQUIRE_BROWSER") == "1"
}

// newPageBrowser starts headless Chromium with a fresh profile, at
// 1280×800, listening to the console from the tab's first event.
func newPageBrowser(t *testing.T) *pageBrowser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are integration tests")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		if browserRequired() {
			t.Fatalf("chromium is not installed (.ci/run installs Debian's chromium package): %v", err)
		}
		t.Skipf("chromium is not installed (apt-get install chromium); CI=true or CALLGATE_REQUIRE_BROWSER=1 makes this a failure: %v", err)
	}
	b := &pageBrowser{t: t}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, and in containers
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true), // traffic only to 127.0.0.1, whatever the environment says
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser and binds it to ctx, so it gets no
	// timeout of its own; the allocator gives up on a browser that does not
	// start within its own 20 seconds, and this bounds the rest.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("chromium did not start within a minute")
	}
	b.ctx = ctx
	// Any CSP violation reaches the console, whatever the browser's own
	// log says about it.
	b.call("report CSP violations", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `document.addEventListener('securitypolicyviolation', (e) =>
				console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));`,
		})
		return err
	})
	return b
}

// listen runs in the tab's event loop: it must return fast.
func (b *pageBrowser) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning ||
			ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				if a.Value != nil {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			problem = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
		problem += fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
	case *log.EventEntryAdded:
		e := ev.Entry
		csp := strings.Contains(e.Text, "Content Security Policy") || strings.Contains(e.Text, "Refused to")
		if e.Level != log.EntryLevelError && !csp {
			return
		}
		b.mu.Lock()
		expected := b.allow401 && e.Source == log.EntrySourceNetwork && strings.Contains(e.Text, "status of 401") &&
			strings.Contains(e.URL, "/v1/")
		b.mu.Unlock()
		if expected && !csp {
			return
		}
		problem = fmt.Sprintf("browser log (%s, %s): %s %s", e.Source, e.Level, e.Text, e.URL)
	}
	if problem != "" {
		b.mu.Lock()
		b.problems = append(b.problems, problem)
		b.mu.Unlock()
	}
}

func (b *pageBrowser) expect401(on bool) {
	b.mu.Lock()
	b.allow401 = on
	b.mu.Unlock()
}

// checkConsole fails the test on anything the console reported so far.
func (b *pageBrowser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
	b.problems = nil
}

// call runs f with a bounded context.
func (b *pageBrowser) call(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *pageBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.call(what, func(ctx context.Context) error { return chromedp.Do(ctx, steps...) })
}

// eval evaluates a JavaScript expression in the page and decodes it.
func pageEval[T any](b *pageBrowser, expr string) T {
	b.t.Helper()
	var out T
	b.call("evaluate "+expr, func(ctx context.Context) error {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		out = v
		return err
	})
	return out
}

// pageState is what the page shows, read from the DOM.
type pageState struct {
	Connections map[string]connShown `json:"connections"`
	Credentials map[string]credShown `json:"credentials"`
	ConnText    string               `json:"connText"` // the connections table's body, for placeholders
	Heard       string               `json:"heard"`
	Announce    string               `json:"announce"`
	TokenForm   bool                 `json:"tokenForm"` // the token prompt is shown
	TokenHeld   bool                 `json:"tokenHeld"`
	TokenError  string               `json:"tokenError"`
}

type connShown struct {
	Status   string   `json:"status"`
	Buttons  []string `json:"buttons"` // aria-labels
	Hint     string   `json:"hint"`
	Endpoint string   `json:"endpoint"`
	Sync     string   `json:"sync"`
}

type credShown struct {
	Traffic  string `json:"traffic"`
	Cert     string `json:"cert"`
	Requests string `json:"requests"`
	Refusals string `json:"refusals"`
}

const readPage = `(() => {
	const text = (root, sel) => { const e = root.querySelector(sel); return e ? e.textContent : ''; };
	const shown = (id) => { const e = document.getElementById(id); return !!e && e.offsetParent !== null; };
	const connections = {}, credentials = {};
	for (const tr of document.querySelectorAll('#connection-rows tr[data-name]')) {
		connections[tr.dataset.name] = {
			status: text(tr, '.c-status'),
			buttons: Array.from(tr.querySelectorAll('.c-actions button')).map((b) => b.getAttribute('aria-label')),
			hint: text(tr, '.c-actions .hint'),
			endpoint: text(tr, '.c-endpoint'),
			sync: text(tr, '.c-sync'),
		};
	}
	for (const tr of document.querySelectorAll('#credential-rows tr[data-name]')) {
		credentials[tr.dataset.name] = {
			traffic: text(tr, '.k-traffic'), cert: text(tr, '.k-cert'),
			requests: text(tr, '.k-req'), refusals: text(tr, '.k-ref'),
		};
	}
	return {
		connections, credentials,
		connText: text(document, '#connection-rows'),
		heard: text(document, '#heard'),
		announce: text(document, '#announce'),
		tokenForm: shown('token-form'), tokenHeld: shown('token-held'),
		tokenError: text(document, '#token-error'),
	};
})()`

func (b *pageBrowser) state() pageState {
	b.t.Helper()
	return pageEval[pageState](b, readPage)
}

// waitFor reads the page until cond holds, for at most browserWait.
func (b *pageBrowser) waitFor(what string, cond func(s pageState) bool) pageState {
	b.t.Helper()
	var s pageState
	if !testwait.Poll(browserWait, func() bool { s = b.state(); return cond(s) }) {
		b.checkConsole()
		b.t.Fatalf("the page never showed %s within %s; it shows %+v", what, browserWait, s)
	}
	return s
}

func (b *pageBrowser) navigate(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("#connection-rows")))
}

func (b *pageBrowser) click(label string) {
	b.t.Helper()
	b.do("click "+label, chromedp.Click(chromedp.CSS(`button[aria-label="`+label+`"]`), chromedp.NodeVisible))
}

// screenshot saves the whole page as a PNG in dir, at width×height.
func (b *pageBrowser) screenshot(dir, name string, width, height int64) string {
	b.t.Helper()
	b.do("resize to "+strconv.FormatInt(width, 10), chromedp.EmulateViewport(width, height))
	var png []byte
	b.call("screenshot "+name, func(ctx context.Context) error {
		var err error
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err
	})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// screenshotDir is where the screenshots go: CALLGATE_SCREENSHOT_DIR
// (make screenshots: docs/img), else the test's temp dir.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CALLGATE_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// pageCallout makes one callout request through the proxy and returns its
// status code.
func pageCallout(t *testing.T, s *server, credential string) int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + s.ProxyAddr() + "/callout/" + credential + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pageServer starts an in-process callgate on cfg and stops it in cleanup.
func pageServer(t *testing.T, cfg string) *server {
	t.Helper()
	s, err := startServer(context.Background(), tempConfig(t, cfg), zap.NewNop(), serverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

var warmingStatus = regexp.MustCompile(`^Ready — warming, (?:(\d+)m)?(\d+)s left$`)

// TestOutboundConnectionsPage opens the page in Chromium and follows a
// connection through its life as an operator would: Allocating, Accept by
// the simulated service owner, Ready with the warm-up counting down, Ready,
// Teardown (confirmed) to Unprovisioned, Provision again by keyboard. Only
// the actions the status allows are ever offered, the credential rows say
// whether traffic is admitted and count requests and refusals, and the
// console stays free of errors and CSP violations throughout.
func TestOutboundConnectionsPage(t *testing.T) {
	start := time.Now()
	b := newPageBrowser(t)
	shots := screenshotDir(t)

	dir := t.TempDir()
	upstream, caFile, err := startDemoUpstream(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = upstream.Close() })
	s := pageServer(t, fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 10s
sync: {interval: 1s}
aws:
  mode: simulated
  region: us-east-1
  simulated:
    acceptance: manual
    delays: {allocating: 6s, pending: 1s, deleting: 2s}
    services:
      com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0: %s
      com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210: 127.0.0.1:1
outbound_connections:
  - name: partner_orders
    description: Orders API over PrivateLink
    type: AwsPrivateLink
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
    provision: true
  - name: inventory
    description: Inventory service, not provisioned yet
    type: AwsPrivateLink
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210
named_credentials:
  - name: PartnerOrders
    url: https://%s:8443/v1
    outbound_network_connection: partner_orders
    tls:
      ca_file: %s
  - name: Inventory
    url: https://inventory.internal/v2
    outbound_network_connection: inventory
`, upstream.Addr(), demoHost, caFile))
	pageURL := "http://" + s.AdminAddr() + "/"
	b.navigate(pageURL)

	// Allocating, and the unprovisioned connection offers Provision alone:
	// Edit and Delete are config edits, a hint and not buttons.
	st := b.waitFor("partner_orders Allocating, polled", func(s pageState) bool {
		return s.Connections["partner_orders"].Status == "Allocating" && strings.HasPrefix(s.Heard, "Last heard from callgate at ")
	})
	inv := st.Connections["inventory"]
	if inv.Status != "Unprovisioned" || !equalStrings(inv.Buttons, []string{"Provision inventory"}) || inv.Hint != "Edit or delete: in the config file" {
		t.Errorf("an Unprovisioned connection offers %q (hint %q), want Provision alone", inv.Buttons, inv.Hint)
	}
	if c := st.Connections["partner_orders"]; !equalStrings(c.Buttons, []string{"Sync partner_orders", "Teardown partner_orders"}) {
		t.Errorf("Allocating offers %q, want Sync and Teardown", c.Buttons)
	}
	if code := pageCallout(t, s, "PartnerOrders"); code != http.StatusServiceUnavailable {
		t.Errorf("a callout before Ready: %d, want 503", code)
	}

	// The simulated service owner's buttons appear while it has a say.
	st = b.waitFor("partner_orders PendingAcceptance", func(s pageState) bool {
		return s.Connections["partner_orders"].Status == "PendingAcceptance"
	})
	want := []string{"Sync partner_orders", "Teardown partner_orders", "Accept partner_orders", "Reject partner_orders", "Delete remotely partner_orders"}
	if c := st.Connections["partner_orders"]; !equalStrings(c.Buttons, want) || !strings.HasPrefix(c.Endpoint, "vpce-") {
		t.Errorf("PendingAcceptance offers %q (endpoint %q), want %q", c.Buttons, c.Endpoint, want)
	}
	if c := st.Credentials["PartnerOrders"]; !strings.HasPrefix(c.Traffic, "No — connection_not_ready: partner_orders is PendingAcceptance") {
		t.Errorf("PartnerOrders traffic while PendingAcceptance: %q", c.Traffic)
	}
	b.click("Accept partner_orders")

	// Ready and warming: the countdown falls between two readings.
	var first int
	st = b.waitFor("the warm-up countdown", func(s pageState) bool {
		m := warmingStatus.FindStringSubmatch(s.Connections["partner_orders"].Status)
		if m == nil {
			return false
		}
		mins, _ := strconv.Atoi(m[1])
		first, _ = strconv.Atoi(m[2])
		first += 60 * mins
		return true
	})
	if first > 10 || first < 1 {
		t.Errorf("warm-up countdown starts at %ds, want 1..10", first)
	}
	if c := st.Credentials["PartnerOrders"]; !strings.HasPrefix(c.Traffic, "No — warming_up: partner_orders is warming up, ") {
		t.Errorf("PartnerOrders traffic while warming: %q", c.Traffic)
	}
	if c := st.Connections["partner_orders"]; !equalStrings(c.Buttons, []string{"Sync partner_orders", "Teardown partner_orders", "Reject partner_orders", "Delete remotely partner_orders"}) {
		t.Errorf("Ready offers %q", c.Buttons)
	}
	b.waitFor(fmt.Sprintf("the countdown falling below %ds", first), func(s pageState) bool {
		m := warmingStatus.FindStringSubmatch(s.Connections["partner_orders"].Status)
		if m == nil {
			return s.Connections["partner_orders"].Status == "Ready" // warmed already: it fell to the end
		}
		n, _ := strconv.Atoi(m[2])
		return m[1] == "" && n < first
	})
	full := b.screenshot(shots, "outbound-connections.png", 1280, 800)
	// At 400 px the rows become cards; nothing needs a sideways scroll.
	narrow := b.screenshot(shots, "outbound-connections-narrow.png", 400, 800)
	if over := pageEval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`); over {
		t.Error("at 400 px wide the page scrolls sideways")
	}
	b.do("back to 1280×800", chromedp.EmulateViewport(1280, 800))
	t.Logf("screenshots: %s, %s", full, narrow)

	// Warm: traffic is admitted, the certificate checked, the call counted.
	b.waitFor("partner_orders Ready and admitted", func(s pageState) bool {
		return s.Connections["partner_orders"].Status == "Ready" && s.Credentials["PartnerOrders"].Traffic == "Yes"
	})
	if code := pageCallout(t, s, "PartnerOrders"); code != http.StatusOK {
		t.Errorf("a callout once warm: %d, want 200", code)
	}
	st = b.waitFor("the counts and the certificate check", func(s pageState) bool {
		c := s.Credentials["PartnerOrders"]
		return c.Requests == "2" && c.Refusals == "1" && c.Cert == "OK"
	})
	if c := st.Credentials["Inventory"]; !strings.HasPrefix(c.Traffic, "No — connection_not_ready: inventory is Unprovisioned") || c.Requests != "0" {
		t.Errorf("Inventory: %+v", c)
	}
	// Nothing is in transition: the page polls every 5 seconds.
	if m := regexp.MustCompile(`^Last heard from callgate at \d\d:\d\d:\d\d \((\d+)s ago\)\.$`).FindStringSubmatch(st.Heard); m == nil {
		t.Errorf("last heard: %q", st.Heard)
	} else if n, _ := strconv.Atoi(m[1]); n > 10 {
		t.Errorf("last heard %ds ago, want at most 10s", n)
	}

	// Teardown asks first; Escape cancels and changes nothing.
	b.click("Teardown partner_orders")
	if focused := pageEval[string](b, `document.activeElement.getAttribute('aria-label') || ''`); focused != "Confirm teardown of partner_orders" {
		t.Errorf("after Teardown the focus is on %q, want the confirmation", focused)
	}
	b.do("press Escape", chromedp.KeyEvent("\x1b"))
	b.waitFor("the teardown cancelled", func(s pageState) bool {
		c := s.Connections["partner_orders"]
		return c.Status == "Ready" && len(c.Buttons) > 1 && c.Buttons[1] == "Teardown partner_orders"
	})
	b.click("Teardown partner_orders")
	b.click("Confirm teardown of partner_orders")
	b.waitFor("partner_orders TeardownInProgress", func(s pageState) bool {
		return s.Connections["partner_orders"].Status == "TeardownInProgress"
	})
	st = b.waitFor("partner_orders Unprovisioned", func(s pageState) bool {
		return s.Connections["partner_orders"].Status == "Unprovisioned"
	})
	// A refused action is not offered: Unprovisioned has no Sync or Teardown.
	if c := st.Connections["partner_orders"]; !equalStrings(c.Buttons, []string{"Provision partner_orders"}) {
		t.Errorf("Unprovisioned after teardown offers %q, want Provision alone", c.Buttons)
	}

	// Provision by keyboard: focus the button and press Enter.
	b.do("provision by keyboard",
		chromedp.Focus(chromedp.CSS(`button[aria-label="Provision partner_orders"]`)),
		chromedp.KeyEvent("\r"))
	st = b.waitFor("partner_orders provisioning again", func(s pageState) bool {
		status := s.Connections["partner_orders"].Status
		return status == "Allocating" || status == "PendingAcceptance"
	})
	if !strings.Contains(st.Announce, "Provision partner_orders: done") {
		t.Errorf("after Provision the page says %q", st.Announce)
	}
	if n := pageEval[int](b, `Array.from(document.scripts).filter((s) => !s.src).length`); n != 0 {
		t.Errorf("%d inline scripts", n)
	}
	b.checkConsole()
	t.Logf("browser test ran %s", time.Since(start).Round(100*time.Millisecond))
}

// TestOutboundConnectionsPageToken: with admin.token_file and
// protect_reads the page shows nothing until it has the token, refuses a
// wrong one with a clear error and keeps nothing, keeps the right one in
// sessionStorage only and sends it on the calls, and asks again when
// callgate stops accepting it.
func TestOutboundConnectionsPageToken(t *testing.T) {
	start := time.Now()
	b := newPageBrowser(t)
	tokenPath := filepath.Join(t.TempDir(), "admin-token")
	const token = "page-test-admin-token-0123456789"
	writeFile(t, tokenPath, token+"\n")
	upstream := startUpstream(t).addr
	s := pageServer(t, opsConfig(upstream, "token test",
		"admin:\n  token_file: "+tokenPath+"\n  protect_reads: true\n"))
	pageURL := "http://" + s.AdminAddr() + "/"
	b.navigate(pageURL)

	st := b.waitFor("the token prompt", func(s pageState) bool { return s.TokenForm })
	if len(st.Connections) != 0 || !strings.Contains(st.ConnText, "Enter the admin token") {
		t.Fatalf("without the token the page shows %+v", st)
	}

	b.expect401(true)
	b.do("enter a wrong token", chromedp.SendKeys(chromedp.ID("token-input"), "not-the-token\r"))
	st = b.waitFor("the wrong token refused", func(s pageState) bool { return s.TokenError != "" })
	if !strings.Contains(st.TokenError, "refused this token (401 unauthorized)") || len(st.Connections) != 0 || !st.TokenForm {
		t.Errorf("after a wrong token the page shows %+v", st)
	}
	if n := pageEval[int](b, `sessionStorage.length + localStorage.length`); n != 0 {
		t.Errorf("a refused token was kept (%d items in storage)", n)
	}
	b.checkConsole()

	b.do("enter the token", chromedp.SendKeys(chromedp.ID("token-input"), token+"\r"))
	st = b.waitFor("the rows behind the token", func(s pageState) bool { return s.Connections["orders"].Status == "Ready" })
	if st.TokenForm || !st.TokenHeld || st.TokenError != "" {
		t.Errorf("after the right token: %+v", st)
	}
	if kept := pageEval[string](b, `sessionStorage.getItem('callgate-admin-token') || ''`); kept != token {
		t.Errorf("sessionStorage holds %q", kept)
	}
	if leaks := pageEval[bool](b, `document.documentElement.outerHTML.includes('`+token+`') || document.getElementById('token-input').value !== '' || localStorage.length > 0 || document.cookie !== ''`); leaks {
		t.Error("the token is in the page, the input, localStorage or a cookie")
	}
	b.click("Sync orders")
	b.waitFor("the sync done", func(s pageState) bool { return strings.Contains(s.Announce, "Sync orders: done") })

	// The tab keeps the token across a reload.
	b.navigate(pageURL)
	st = b.waitFor("the rows after a reload", func(s pageState) bool { return s.Connections["orders"].Status == "Ready" })
	if st.TokenForm {
		t.Error("the page asked for the token again after a reload")
	}

	// A rotated token file: the page's token is refused, and it asks again.
	writeFile(t, tokenPath, "rotated-token\n")
	st = b.waitFor("the old token refused", func(s pageState) bool { return s.TokenForm && s.TokenError != "" })
	if !strings.Contains(st.TokenError, "refused the token this tab held (401 unauthorized)") || len(st.Connections) != 0 {
		t.Errorf("after a rotation the page shows %+v", st)
	}
	if n := pageEval[int](b, `sessionStorage.length`); n != 0 {
		t.Error("the refused token stayed in sessionStorage")
	}
	b.do("enter the new token", chromedp.SendKeys(chromedp.ID("token-input"), "rotated-token\r"))
	b.waitFor("the rows with the new token", func(s pageState) bool { return s.Connections["orders"].Status == "Ready" })
	b.expect401(false)

	// Forget the token: the rows go, the prompt comes back.
	b.do("forget the token", chromedp.Click(chromedp.ID("token-forget"), chromedp.NodeVisible))
	b.waitFor("the prompt after forgetting", func(s pageState) bool { return s.TokenForm && len(s.Connections) == 0 })
	b.checkConsole()
	t.Logf("browser test ran %s", time.Since(start).Round(100*time.Millisecond))
}
