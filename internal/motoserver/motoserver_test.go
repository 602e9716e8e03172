package motoserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStartAnswersAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real moto; skipped under -short")
	}
	var addr string
	t.Run("running", func(t *testing.T) {
		s := Start(t)
		u, err := url.Parse(s.URL())
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Fatalf("URL %q is not a loopback URL (%v)", s.URL(), err)
		}
		addr = u.Host
		resp, err := http.Get(s.URL() + "/moto-api/")
		if err != nil {
			t.Fatalf("GET moto-api: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("moto-api answered %s", resp.Status)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = s.SetEndpointState(ctx, "vpce-0000000000000000", "rejected")
		if err == nil || !strings.Contains(err.Error(), "no such endpoint") {
			t.Fatalf("SetEndpointState on an unknown endpoint: err = %v, want 'no such endpoint'", err)
		}
		if err := s.RemoveEndpoint(ctx, "vpce-0000000000000000"); err == nil {
			t.Fatal("RemoveEndpoint on an unknown endpoint: want an error")
		}
	})
	// The subtest's cleanup killed moto: its port must be closed now.
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("moto still listens on %s after cleanup", addr)
	}
}

func TestReadReady(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"good", "READY 1234 5678\n", true},
		{"garbage", "Traceback (most recent call last):\n", false},
		{"eof", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, err := readReady(strings.NewReader(tc.in), time.Second)
			if (err == nil) != tc.ok {
				t.Fatalf("readReady(%q) = %v, %v", tc.in, ports, err)
			}
			if tc.ok && (ports[0] != "127.0.0.1:1234" || ports[1] != "127.0.0.1:5678") {
				t.Fatalf("ports = %v", ports)
			}
		})
	}
}

// fakeTB records how SkipOrFail ended the test.
type fakeTB struct {
	testing.TB
	ended string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Skipf(format string, a ...any)  { f.ended = "skip" }
func (f *fakeTB) Fatalf(format string, a ...any) { f.ended = "fatal" }

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Run()
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Run without moto on PATH = %v, want ErrNotInstalled", err)
	}
	for _, tc := range []struct {
		name, require string
		err           error
		want          string
	}{
		{"skipped", "", err, "skip"},
		{"required", "1", err, "fatal"},
		{"broken", "", errors.New("moto crashed"), "fatal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(RequireEnv, tc.require)
			f := &fakeTB{TB: t}
			SkipOrFail(f, tc.err)
			if f.ended != tc.want {
				t.Fatalf("SkipOrFail ended the test with %q, want %q", f.ended, tc.want)
			}
		})
	}
}
