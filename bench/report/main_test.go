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
	for _, want := range []string{
		// median direct 1100; callgate 500 = 45%, 2.5× squid (the best peer).
		"| absolute-form keep-alive (req/s) | 1100 | 500 | 200 | 100 | 45% | 18% | 9% | 2.50× | ≥ 2× squid, ≥ 40% of direct | yes |",
		"| memory per idle tunnel (KiB) | — | 10.0 | 32.0 | — | — | — | — | 0.31× | ≤ 12 KiB | yes |",
		"| idle tunnels held (worst round) (tunnels) | — | 9000 | 9000 | — | — | — | — | 1.00× | all 9000 | yes |",
		"| p99 latency added at half of own max load (ms) | — | 0.50 | — | — |",
		"| requests inside 64 CONNECT tunnels (req/s) | — | — | — | — |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q\n%s", want, s)
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
