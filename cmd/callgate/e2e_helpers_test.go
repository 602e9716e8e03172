package main

// Helpers for the end-to-end tests that run the built callgate binary as a
// real subprocess: building it once, starting and stopping it, waiting,
// calling it with the real curl, and a loopback HTTPS upstream.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/testwait"
)

const (
	// e2eWaitMax bounds every wait of the end-to-end tests.
	e2eWaitMax = 30 * time.Second
)

// e2eBin is the callgate binary built for this test process, shared by
// every test that runs callgate as a subprocess; TestMain removes it.
var e2eBin struct {
	mu   sync.Mutex
	dir  string
	path string
}

// e2eBinary builds ./cmd/callgate once (with -race when the tests run with
// -race, so a data race in the subprocess makes it exit non-zero) and
// returns its path.
func e2eBinary(t *testing.T) string {
	t.Helper()
	e2eBin.mu.Lock()
	defer e2eBin.mu.Unlock()
	if e2eBin.path != "" {
		if _, err := os.Stat(e2eBin.path); err == nil {
			return e2eBin.path
		}
	}
	dir, err := os.MkdirTemp("", "callgate-e2e-bin-")
	if err != nil {
		t.Fatal(err)
	}
	e2eBin.dir = dir
	bin := filepath.Join(dir, "callgate")
	args := []string{"build", "-o", bin}
	if e2eRaceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, ".") // go test runs in the package directory
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	e2eBin.path = bin
	return bin
}

// e2eRaceEnabled reports whether this test binary was built with -race.
func e2eRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// e2eCleanEnv is this process's environment without AWS_* and proxy
// variables, so neither the developer's AWS profile nor their proxy
// settings reach a subprocess; extra is appended.
func e2eCleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch lk := strings.ToLower(k); {
		case strings.HasPrefix(k, "AWS_"), lk == "http_proxy", lk == "https_proxy", lk == "all_proxy", lk == "no_proxy", k == "CURL_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// e2eSyncBuffer collects a subprocess's output for diagnostics.
type e2eSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 8<<20 { // keep the first 8 MiB
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *e2eSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// e2eProc is one `callgate serve` subprocess.
type e2eProc struct {
	name  string
	cmd   *exec.Cmd
	out   *e2eSyncBuffer // stderr (the JSON log) and stdout
	proxy string         // host:port of the proxy listener
	admin string         // base URL of the admin API
	done  chan struct{}  // closed when the process has exited
}

var e2eStartedLine = regexp.MustCompile(`proxy on (\S+), admin on (\S+)`)

// e2eStartServe runs `callgate serve --config cfgPath` with env, waits for
// its listeners and /readyz, and kills it in t.Cleanup if it still runs
// (printing its log when the test failed).
func e2eStartServe(t *testing.T, name, bin, cfgPath string, env []string) *e2eProc {
	t.Helper()
	p := &e2eProc{name: name, out: &e2eSyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--log.level", "debug")
	p.cmd.Env = env
	p.cmd.Stderr = p.out
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", p.name, p.out.String())
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			fmt.Fprintf(p.out, "[stdout] %s\n", sc.Text())
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		if first {
			close(lines)
		}
	}()
	select {
	case line, ok := <-lines:
		m := e2eStartedLine.FindStringSubmatch(line)
		if !ok || m == nil {
			<-p.done
			t.Fatalf("%s did not start (first stdout line %q):\n%s", name, line, p.out.String())
		}
		p.proxy, p.admin = m[1], "http://"+m[2]
	case <-time.After(e2eWaitMax):
		t.Fatalf("%s printed no start line within %s:\n%s", name, e2eWaitMax, p.out.String())
	}
	testwait.UntilExplained(t, e2eWaitMax, name+" /readyz", func() (bool, string) {
		code, body := e2eGet(p.admin + "/readyz")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	return p
}

// terminate sends SIGTERM and returns the exit code, failing the test if
// the process does not exit within e2eWaitMax.
func (p *e2eProc) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(e2eWaitMax):
		t.Fatalf("%s did not exit within %s of SIGTERM", p.name, e2eWaitMax)
	}
	return p.cmd.ProcessState.ExitCode()
}

// view is GET /v1/connections/{name}.
func (p *e2eProc) view(t *testing.T, name string) connstate.View {
	t.Helper()
	v, err := p.tryView(name)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return v
}

func (p *e2eProc) tryView(name string) (connstate.View, error) {
	var v connstate.View
	code, body := e2eGet(p.admin + "/v1/connections/" + name)
	if code != http.StatusOK {
		return v, fmt.Errorf("GET /v1/connections/%s: %d %s", name, code, body)
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return v, fmt.Errorf("GET /v1/connections/%s: decode %q: %w", name, body, err)
	}
	return v, nil
}

// waitStatus polls the admin API until the connection has status want and
// returns the view; it records every status seen on the way in seen.
func (p *e2eProc) waitStatus(t *testing.T, name string, want connstate.Status, seen map[connstate.Status]bool) connstate.View {
	t.Helper()
	var v connstate.View
	testwait.UntilExplained(t, e2eWaitMax, fmt.Sprintf("%s: connection %s %s", p.name, name, want), func() (bool, string) {
		var err error
		if v, err = p.tryView(name); err != nil {
			return false, err.Error()
		}
		if seen != nil {
			seen[v.Status] = true
		}
		return v.Status == want, fmt.Sprintf("status %s, aws_state %q, last_error %q", v.Status, v.AWSState, v.LastError)
	})
	return v
}

var e2eHTTP = &http.Client{Timeout: 10 * time.Second}

// e2eGet returns a GET's status code and body (code 0 and the error text
// when the request fails).
func e2eGet(url string) (int, string) {
	resp, err := e2eHTTP.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// e2eRefusal is the JSON body of a refusal (docs/refusals.md).
type e2eRefusal struct {
	Error           string `json:"error"`
	Message         string `json:"message"`
	NamedCredential string `json:"named_credential"`
	Connection      string `json:"connection"`
	Status          string `json:"status"`
}

// e2eCallout sends GET /callout/{cred}/{path} to the proxy listener.
func e2eCallout(t *testing.T, proxyAddr, cred, path string) (*http.Response, string) {
	t.Helper()
	resp, err := e2eHTTP.Get("http://" + proxyAddr + "/callout/" + cred + "/" + path)
	if err != nil {
		t.Fatalf("callout %s/%s through %s: %v", cred, path, proxyAddr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("callout %s/%s: read body: %v", cred, path, err)
	}
	return resp, string(b)
}

// e2eRefused asserts a refusal's status code, error code and
// Proxy-Status, and returns its body.
func e2eRefused(t *testing.T, resp *http.Response, body string, status int, code, proxyStatus string) e2eRefusal {
	t.Helper()
	var r e2eRefusal
	if resp.StatusCode != status {
		t.Fatalf("got %s %s, want %d %s", resp.Status, body, status, code)
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("refusal body %q: %v", body, err)
	}
	if r.Error != code {
		t.Fatalf("refusal error %q (body %s), want %q", r.Error, body, code)
	}
	if ps := resp.Header.Get("Proxy-Status"); !strings.Contains(ps, "error="+proxyStatus) {
		t.Fatalf("Proxy-Status %q, want error=%s", ps, proxyStatus)
	}
	return r
}

// e2eCurl runs the real curl with args (never reading a .curlrc, never
// using proxy variables from the environment) and returns its stdout.
func e2eCurl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWaitMax)
	defer cancel()
	full := append([]string{"-q", "-sS", "--max-time", "20"}, args...)
	cmd := exec.CommandContext(ctx, "curl", full...)
	cmd.Env = e2eCleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("curl %s: %w: %s", strings.Join(full, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// e2eNeedCurl skips (or, in CI, fails) when curl is not installed.
func e2eNeedCurl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("curl is required: %v", err)
		}
		t.Skipf("curl not installed: %v", err)
	}
}

// e2ePartner is the end-to-end tests' upstream handler: it answers
// "partner sni=HOST METHOD PATH", naming the TLS server name it was asked
// for.
func e2ePartner(w http.ResponseWriter, r *http.Request) {
	sni := ""
	if r.TLS != nil {
		sni = r.TLS.ServerName
	}
	fmt.Fprintf(w, "partner sni=%s %s %s", sni, r.Method, r.URL.Path)
}
