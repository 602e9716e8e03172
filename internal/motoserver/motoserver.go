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

// Server is a running moto with its control port. Its methods are safe for
// concurrent use.
type Server struct {
	url     string
	control string
	client  *http.Client
}

// Start runs moto on 127.0.0.1 and stops it (killing its whole process
// group) in t.Cleanup. It skips the test when moto is not installed, unless
// CALLGATE_REQUIRE_MOTO is set, in which case it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	python, err := findMoto()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("moto is required (%s is set) but not usable: %v", RequireEnv, err)
		}
		t.Skipf("moto is not installed (%v); install Python moto 5.x (pip install 'moto[server]') or set %s to make this a failure", err, RequireEnv)
	}
	script := filepath.Join(t.TempDir(), "moto_harness.py")
	if err := os.WriteFile(script, harness, 0o600); err != nil {
		t.Fatalf("write moto harness: %v", err)
	}

	cmd := exec.Command(python, script)
	// Own process group: the cleanup kills moto and anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=us-east-1", "PYTHONUNBUFFERED=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("moto stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("moto stdout: %v", err)
	}
	stderr := &limitedBuffer{max: 64 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto (%s): %v", python, err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})

	ports, err := readReady(stdout, startTimeout)
	if err != nil {
		t.Fatalf("moto did not start: %v; stderr:\n%s", err, stderr.String())
	}
	s := &Server{
		url:     "http://" + ports[0],
		control: "http://" + ports[1],
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	if err := s.waitAnswering(startTimeout); err != nil {
		t.Fatalf("moto does not answer: %v; stderr:\n%s", err, stderr.String())
	}
	return s
}

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
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
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
