package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/testwait"
)

// TestDemo runs what `make demo` runs: the newcomer sees the call refused
// while the connection comes up, refused while it warms, then succeed.
// With --exit, callgate is gone when the command returns, so the output
// offers no commands to try against it, only how to keep it running.
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
			t.Errorf("demo output never showed status %s:\n%s", status, text)
		}
	}
	tail := text[pos:]
	for _, gone := range []string{"curl", "Try it yourself", "status --admin"} {
		if strings.Contains(tail, gone) {
			t.Errorf("demo --exit offers %q against a callgate that has exited:\n%s", gone, tail)
		}
	}
	if !strings.HasSuffix(text, "callgate stopped (--exit). To try the calls yourself, run the demo without --exit (make demo).\n") {
		t.Errorf("demo --exit does not end by saying how to try it:\n%s", tail)
	}
}

// TestDemoTryItYourself runs `callgate demo` as a newcomer does (no
// --exit), waits for its "Try it yourself" commands and types each one:
// the real curl for the callout, the admin API and the CONNECT tunnel, and
// `callgate status`. Then Ctrl-C ends it with exit 0.
func TestDemoTryItYourself(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes ~6s of simulated provisioning")
	}
	e2eNeedCurl(t)
	cmd := exec.Command(e2eBinary(t), "demo", "--warmup", "1s", "--proxy", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--timeout", "60s")
	cmd.Env = e2eCleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var printed e2eSyncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			printed.Write([]byte(sc.Text() + "\n"))
		}
	}()
	testwait.Until(t, 60*time.Second, "the demo's commands", func() bool {
		return strings.Contains(printed.String(), "Serving until Ctrl-C")
	})
	text := printed.String()
	try := text[strings.Index(text, "Try it yourself"):]
	var commands []string
	for _, l := range strings.Split(try, "\n")[1:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		l, _, _ = strings.Cut(l, "#")
		commands = append(commands, strings.TrimSpace(l))
	}
	if len(commands) != 4 {
		t.Fatalf("want 4 commands to try, got %q in:\n%s", commands, text)
	}
	wants := []string{`"orders":[{"id":1`, `"partner_orders"`, `"orders":[{"id":1`}
	for i, c := range commands[:3] {
		f := strings.Fields(c)
		if f[0] != "curl" || f[1] != "-s" {
			t.Fatalf("command %q is not curl -s …", c)
		}
		code, body := runCurl(t, f[2:]...)
		if code != 200 || !strings.Contains(body, wants[i]) {
			t.Errorf("%s: %d %s; want 200 with %s", c, code, body, wants[i])
		}
	}
	// The last is `go run ./cmd/callgate status --admin URL`: the binary
	// stands in for go run.
	_, args, ok := strings.Cut(commands[3], "go run ./cmd/callgate ")
	if !ok {
		t.Fatalf("last command %q is not go run ./cmd/callgate …", commands[3])
	}
	out, errOut, code := cliRun(t, nil, strings.Fields(args)...)
	if code != 0 || !strings.Contains(out, "partner_orders") || !strings.Contains(out, "Ready") {
		t.Errorf("%s: exit %d\n%s%s", commands[3], code, out, errOut)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "the demo to exit after Ctrl-C", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	if c := cmd.ProcessState.ExitCode(); c != 0 {
		t.Errorf("demo exit %d after Ctrl-C, want 0", c)
	}
}
