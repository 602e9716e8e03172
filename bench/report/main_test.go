package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{3}, 3, true},
		{[]float64{3, 1, 2}, 2, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
	} {
		got, ok := median(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTable(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"table", "testdata/results.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	s := out.String()
	wantLines(t, "table", s,
		// median direct 1100; callgate 500 = 45%, 2.5× squid (the best peer).
		"| absolute-form keep-alive (req/s) | 1100 | 500 | 200 | 100 | 45% | 18% | 9% | 2.50× | ≥ 2× squid, ≥ 40% of direct | yes |",
		"| memory per idle tunnel (KiB) | — | 10.0 | 32.0 | — | — | — | — | 0.31× | ≤ 12 KiB | yes |",
		"| idle tunnels held (worst round) (tunnels) | — | 9000 | 9000 | — | — | — | — | 1.00× | all 9000 | yes |",
		"| p99 latency added at half of own max load (ms) | — | 0.50 | — | — |",
		"| requests inside 64 CONNECT tunnels (req/s) | — | — | — | — |",
	)
}

// wantLines fails t for each of wants that output (named what) lacks.
func wantLines(t *testing.T, what, output string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(output, want) {
			t.Errorf("%s lacks %q\n%s", what, want, output)
		}
	}
}

func TestMedianCommand(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"median", "testdata/results.jsonl", "absolute", "direct", "rps"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if got := strings.TrimSpace(out.String()); got != "1100" {
		t.Fatalf("median = %q, want 1100", got)
	}
	if rc := run([]string{"median", "testdata/results.jsonl", "bulk", "direct", "mb_per_s"}, &out); rc == 0 {
		t.Fatal("median of nothing must fail")
	}
}

// TestReferenceTable: haproxy's lines make a third table (callgate beside
// direct and haproxy), rows in the detail table, and nothing in the main
// table: it is no peer, even where it beats squid.
func TestReferenceTable(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"table", "testdata/haproxy.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	s := out.String()
	top, ref, found := strings.Cut(s, "Reference: HAProxy as a plain relay (not a forward proxy; no CONNECT, no absolute form)")
	if !found {
		t.Fatalf("no reference table\n%s", s)
	}
	wantLines(t, "main and detail tables", top,
		// haproxy's absolute median is 450 (rounds 400, 450, 1000): it beats
		// squid (200), yet the best peer stays squid: 500/200.
		"| absolute-form keep-alive (req/s) | 1000 | 500 | 200 | — | 50% | 20% | — | 2.50× |",
		// 900/800 (squid), not 900/1000 (haproxy).
		"| requests inside 64 CONNECT tunnels (req/s) | 2000 | 900 | 800 | — | 45% | 40% | — | 1.12× |",
		"| bulk through one tunnel (MB/s) | 3000 | 1050 | 600 | — | 35% | 20% | — | 1.75× |",
		"| absolute | haproxy | 3 | 450/s | — | 200 | 1.50 | 33.0 |",
		"| tunnel | haproxy | 1 | 1000/s |",
		"| bulk | haproxy | 1 | 700 MB/s |",
	)
	if !strings.Contains(top, "| figure | direct | callgate | squid | tinyproxy | callgate/direct |") ||
		strings.Contains(strings.SplitN(top, "\n", 2)[0], "haproxy") {
		t.Errorf("main table's columns changed\n%s", top)
	}
	wantLines(t, "reference table", ref,
		"| figure | direct | callgate | haproxy | callgate/direct | haproxy/direct | callgate/haproxy |",
		"| absolute, haproxy(http) (req/s) | 1000 | 500 | 450 | 50% | 45% | 1.11× |",
		"| tunnel, haproxy(tcp) (req/s) | 2000 | 900 | 1000 | 45% | 50% | 0.90× |",
		"| bulk, haproxy(tcp) (MB/s) | 3000 | 1050 | 700 | 35% | 23% | 1.50× |",
		"haproxy(http): a reverse proxy",
		"haproxy(tcp): a plain TCP relay",
	)
}

// TestNoReferenceTable: without haproxy lines there is no third table.
func TestNoReferenceTable(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"table", "testdata/results.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if strings.Contains(out.String(), "Reference:") || strings.Contains(out.String(), "haproxy") {
		t.Errorf("reference table printed without haproxy results\n%s", out.String())
	}
}

// TestEnginesTable: callgate-stdlib lines make a table of the two wire
// engines, with stdlib over fast; the main table's columns stay the same.
func TestEnginesTable(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"table", "testdata/engines.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	s := out.String()
	top, engines, found := strings.Cut(s, "Wire engines: callgate on engine fast (the default)")
	if !found {
		t.Fatalf("no engines table\n%s", s)
	}
	wantLines(t, "main table", top,
		"| figure | direct | callgate | squid | tinyproxy | callgate/direct |",
		"| absolute-form keep-alive (req/s) | 1000 | 400 | 200 | — | 40% | 20% | — | 2.00× |",
		"| absolute | callgate-stdlib | 1 | 300/s |",
	)
	wantLines(t, "engines table", engines,
		"| figure | direct | callgate (fast) | callgate-stdlib | stdlib/fast |",
		"| absolute-form keep-alive (req/s) | 1000 | 400 | 300 | 0.75× |",
		"| CPU per absolute-form request (µs) | — | 50.0 | 75.0 | 1.50× |",
		"| CPU per request, paced (µs) | — | 180 | 220 | 1.22× |",
		// direct's paced medians: p50 150 µs, p99 1500 µs.
		"| p50 latency added, paced (ms) | — | 0.25 | 0.35 | 1.40× |",
		"| p99 latency added, paced (ms) | — | 1.50 | 3.00 | 2.00× |",
	)
	if strings.Contains(engines, "tunnel setups") {
		t.Errorf("engines table shows a figure the run did not measure\n%s", engines)
	}
}

// TestPacedTable: every target measured at the paced rate, direct and
// haproxy included, with the latency added to direct's, and each proxy's
// CPU per request and added latency over callgate's.
func TestPacedTable(t *testing.T) {
	var out bytes.Buffer
	if rc := run([]string{"table", "testdata/engines.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	wantLines(t, "paced table", out.String(),
		"Paced at 1000 req/s (absolute form)",
		"| target | achieved req/s | proxy CPU µs/request | p50 µs | p99 µs | p50 added (ms) | p99 added (ms) | CPU/request × callgate's | p50 added × callgate's | p99 added × callgate's |",
		"| direct | 1000 | — | 150 | 1500 | — | — | — | — | — |",
		"| callgate | 999 | 180.0 | 400 | 3000 | 0.25 | 1.50 | 1.00× | 1.00× | 1.00× |",
		"| callgate-stdlib | 1000 | 220.0 | 500 | 4500 | 0.35 | 3.00 | 1.22× | 1.40× | 2.00× |",
		"| haproxy | 1000 | 40.0 | 250 | 1500 | 0.10 | 0.00 | 0.22× | 0.40× | — |",
	)
	out.Reset()
	if rc := run([]string{"table", "testdata/results.jsonl"}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if strings.Contains(out.String(), "Paced at") || strings.Contains(out.String(), "Wire engines") {
		t.Errorf("paced or engines table printed without their results\n%s", out.String())
	}
}
