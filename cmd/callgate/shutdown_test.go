package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/testwait"
)

// startProcess runs `callgate serve` and returns its proxy and admin
// addresses, read from the line it prints once listening.
func startProcess(t *testing.T, cfgPath string, flags ...string) (*exec.Cmd, string, string) {
	t.Helper()
	cmd := exec.Command(e2eBinary(t), append([]string{"serve", "--config", cfgPath}, flags...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	addrs := make(chan [2]string, 1)
	go func() {
		for lines.Scan() {
			// "callgate VERSION: proxy on ADDR, admin on ADDR"
			if f := strings.Fields(lines.Text()); len(f) == 8 && f[2] == "proxy" {
				addrs <- [2]string{strings.TrimSuffix(f[4], ","), f[7]}
			}
		}
	}()
	select {
	case a := <-addrs:
		return cmd, a[0], a[1]
	case <-time.After(20 * time.Second):
		t.Fatal("callgate did not print its addresses")
	}
	return nil, "", ""
}

func waitReady(t *testing.T, adminAddr string) {
	t.Helper()
	testwait.UntilExplained(t, 20*time.Second, "/readyz to answer 200", func() (bool, string) {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// TestGracefulShutdown: on SIGTERM /readyz turns 503 first, new
// connections are refused, the slow request in flight completes, and the
// process exits 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	upstream := startUpstream(t, upSlow(2*time.Second)).addr
	_, port := mustSplit(t, upstream)
	cfg := opsConfig(upstream, "shutdown", "") + "shutdown: {ready_delay: 500ms, drain: 10s}\n"
	cmd, proxyAddr, adminAddr := startProcess(t, tempConfig(t, cfg))
	waitReady(t, adminAddr)

	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+proxyAddr))}}
	target := "http://orders.internal:" + port
	testwait.UntilExplained(t, 20*time.Second, "the connection to carry traffic", func() (bool, string) {
		resp, err := client.Get(target + "/warm")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})

	// A slow request (the upstream takes 2s) is in flight when SIGTERM comes.
	slow := make(chan error, 1)
	go func() {
		resp, err := client.Get(target + "/slow")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "ok /slow" {
				err = errors.New("slow request answered " + resp.Status + " " + string(body))
			}
		}
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond)

	// Watch /readyz and the proxy listener from the moment of the signal.
	var readyz503, proxyRefused time.Time
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			now := time.Now()
			if readyz503.IsZero() {
				if resp, err := http.Get("http://" + adminAddr + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == 503 {
						readyz503 = now
					}
				}
			}
			if proxyRefused.IsZero() {
				if c, err := net.DialTimeout("tcp", proxyAddr, time.Second); err != nil {
					proxyRefused = now
				} else {
					c.Close()
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-slow; err != nil {
		t.Fatalf("the in-flight request did not complete: %v", err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("exit: %v, want code 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("callgate did not exit after SIGTERM")
	}
	stopWatch()
	<-watched
	if readyz503.IsZero() {
		t.Fatal("/readyz never answered 503 during shutdown")
	}
	if proxyRefused.IsZero() {
		t.Fatal("the proxy listener never refused a new connection")
	}
	if !readyz503.Before(proxyRefused) {
		t.Fatalf("/readyz turned 503 at %v, after the proxy listener closed at %v", readyz503, proxyRefused)
	}
	if _, err := net.DialTimeout("tcp", proxyAddr, time.Second); err == nil {
		t.Fatal("a new connection was accepted after shutdown")
	}
}

// TestSIGHUPReloadsAndKeepsRunning: SIGHUP is a reload, never a shutdown.
func TestSIGHUPReloadsAndKeepsRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	upstream := startUpstream(t).addr
	path := tempConfig(t, opsConfig(upstream, "before", ""))
	cmd, _, adminAddr := startProcess(t, path, "--config.watch=false")
	waitReady(t, adminAddr)
	time.Sleep(4 * watchDebounce) // were the watch on, it would have fired by now
	writeFile(t, path, opsConfig(upstream, "after hup", ""))
	time.Sleep(4 * watchDebounce)
	if body := getBody(t, "http://"+adminAddr+"/v1/connections/orders"); strings.Contains(body, "after hup") {
		t.Fatal("reloaded without SIGHUP although the watch is off")
	}
	for i := 0; i < 3; i++ {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	testwait.UntilExplained(t, 10*time.Second, "SIGHUP to reload", func() (bool, string) {
		resp, err := http.Get("http://" + adminAddr + "/v1/connections/orders")
		if err != nil {
			t.Fatalf("callgate stopped after SIGHUP: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), "after hup"), string(body)
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func mustSplit(t *testing.T, hostport string) (string, string) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
