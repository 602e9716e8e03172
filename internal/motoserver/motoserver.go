// Package motoserver runs a real moto (the Python AWS emulator) on a loopback
// port for tests, so connstate/aws is tested with the real aws-sdk-go-v2
// against EC2's and STS's wire formats.
//
// It runs moto's own WSGI app (moto.server.ThreadedMotoServer, the app that
// moto_server serves) from a small Python harness that also opens a control
// port: moto makes every VPC endpoint "available" at once and implements no
// accept/reject, so SetEndpointState and RemoveEndpoint reach into moto's
// EC2 backend to produce the states a real service owner or AWS would.
package motoserver

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed harness.py
var harness []byte

// RequireEnv names the environment variable that turns "moto is not
// installed" from a skip into a failure; CI sets it so a missing emulator
// can never pass silently.
const RequireEnv = "CALLGATE_REQUIRE_MOTO"

// startTimeout bounds how long moto may take to come up (importing moto
// takes about a second; a cold, busy machine more).
const startTimeout = 60 * time.Second

// ErrNotInstalled is returned by Run when moto (its moto_server script and
// a python3 to run it) is not installed.
var ErrNotInstalled = errors.New("moto is not installed")

// Server is a running moto with its control port. Its methods are safe for
// concurrent use.
type Server struct {
	url     string
	control string
	client  *http.Client

	closeOnce sync.Once
	stop      func()
}

// Start runs moto on 127.0.0.1 and stops it (killing its whole process
// group) in t.Cleanup. It skips the test when moto is not installed, unless
// CALLGATE_REQUIRE_MOTO is set, in which case it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Run()
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(s.Close)
	return s
}

// SkipOrFail ends the test for an error from Run: a skip when moto is not
// installed and CALLGATE_REQUIRE_MOTO is unset, a failure otherwise.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	switch {
	case errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) == "":
		t.Skipf("%v; install Python moto 5.x (pip install 'moto[server]') or set %s to make this a failure", err, RequireEnv)
	case errors.Is(err, ErrNotInstalled):
		t.Fatalf("moto is required (%s is set): %v", RequireEnv, err)
	default:
		t.Fatalf("moto: %v", err)
	}
}

// Run starts moto on 127.0.0.1 and returns once it answers; the caller
// must Close it. Tests use Start; Run is for a server shared by a whole
// package (started once, closed after m.Run in TestMain).
func Run() (*Server, error) {
	python, err := findMoto()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	dir, err := os.MkdirTemp("", "callgate-moto-")
	if err != nil {
		return nil, fmt.Errorf("moto harness dir: %w", err)
	}
	script := filepath.Join(dir, "moto_harness.py")
	if err := os.WriteFile(script, harness, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write moto harness: %w", err)
	}

	cmd := exec.Command(python, script)
	// Own process group: Close kills moto and anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = harnessEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("moto stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("moto stdout: %w", err)
	}
	stderr := &limitedBuffer{max: 64 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start moto (%s): %w", python, err)
	}
	s := &Server{
		client: &http.Client{Timeout: 10 * time.Second},
		stop: func() {
			_ = stdin.Close()
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			os.RemoveAll(dir)
		},
	}
	ports, err := readReady(stdout, startTimeout)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("moto did not start: %w; stderr:\n%s", err, stderr.String())
	}
	s.url, s.control = "http://"+ports[0], "http://"+ports[1]
	if err := s.waitAnswering(startTimeout); err != nil {
		s.Close()
		return nil, fmt.Errorf("moto does not answer: %w; stderr:\n%s", err, stderr.String())
	}
	return s, nil
}

// Close stops moto, killing its process group. It is safe to call more
// than once.
func (s *Server) Close() { s.closeOnce.Do(s.stop) }

// URL is moto's base URL (http://127.0.0.1:PORT), to use as the EC2 and STS
// endpoint.
func (s *Server) URL() string { return s.url }

// SetEndpointState sets a VPC endpoint's State inside moto, as a service
// owner accepting or rejecting it, or AWS failing it, would. state is the
// wire string, e.g. "pendingAcceptance", "rejected".
func (s *Server) SetEndpointState(ctx context.Context, endpointID, state string) error {
	return s.post(ctx, "/endpoint-state", url.Values{"id": {endpointID}, "state": {state}})
}

// RemoveEndpoint makes moto forget an endpoint, as AWS eventually forgets a
// deleted one (moto keeps deleted endpoints listed, in state "deleted",
// forever).
func (s *Server) RemoveEndpoint(ctx context.Context, endpointID string) error {
	return s.post(ctx, "/endpoint-remove", url.Values{"id": {endpointID}})
}

// UseTestCredentials points the AWS SDK's default chain at moto's fake
// credentials and away from the developer's own config files, for this test.
func UseTestCredentials(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	// Unset, not empty: an empty AWS_PROFILE names a profile "" to some
	// tools. t.Setenv first so the old values come back after the test.
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
}

// harnessEnv is the environment moto runs with: the test process's, minus
// every AWS_* variable (a test's own settings, such as an unset profile,
// can break botocore), plus moto's fake credentials.
func harnessEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=us-east-1", "PYTHONUNBUFFERED=1")
}

func (s *Server) post(ctx context.Context, path string, q url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.control+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("moto control %s: %w", path, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("moto control %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto control %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitAnswering polls moto's own API until it answers, bounded by timeout.
func (s *Server) waitAnswering(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for i := 0; i < 600 && time.Now().Before(deadline); i++ {
		resp, err := s.client.Get(s.url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("after %s: %w", timeout, last)
}

// findMoto returns the Python interpreter to run the harness with. moto's
// installation is recognised by its moto_server script, as an operator
// would install it; the harness needs the same interpreter's python3.
func findMoto() (string, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return "", fmt.Errorf("moto_server not found in PATH: %w", err)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("python3 not found in PATH: %w", err)
	}
	return python, nil
}

// readReady reads the harness's "READY <moto-port> <control-port>" line.
func readReady(r io.Reader, timeout time.Duration) ([2]string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{line, err}
		// Keep draining so the harness never blocks writing to stdout.
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return [2]string{}, fmt.Errorf("read ready line: %w", res.err)
		}
		f := strings.Fields(res.line)
		if len(f) != 3 || f[0] != "READY" {
			return [2]string{}, fmt.Errorf("unexpected ready line %q", res.line)
		}
		return [2]string{"127.0.0.1:" + f[1], "127.0.0.1:" + f[2]}, nil
	case <-time.After(timeout):
		return [2]string{}, errors.New("timed out waiting for the ready line")
	}
}

// limitedBuffer keeps the first max bytes written to it (moto's stderr,
// shown only when start-up fails).
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
