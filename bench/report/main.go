// Command report turns the JSON lines that bench/run.sh collected from
// loadgen into the benchmark table: medians per figure and target, ratios
// to direct and to the best peer, and whether callgate met its target. When
// the run measured callgate's stdlib engine ("callgate-stdlib"), a table sets
// the two wire engines side by side; when it measured the paced figure, a
// table gives every target's CPU per request and added latency at that rate;
// when it measured haproxy (a reference, not a peer: a reverse proxy and a
// plain TCP relay, no forward proxy), a table sets callgate beside it.
//
//	report table   RESULTS.jsonl   markdown tables on stdout
//	report median  RESULTS.jsonl FIGURE TARGET FIELD   one number (for the runner)
//
// It is a benchmark tool, not part of callgate.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// sample is the part of a loadgen line the report reads.
type sample map[string]any

func (s sample) str(k string) string {
	v, _ := s[k].(string)
	return v
}

func (s sample) num(k string) (float64, bool) {
	v, ok := s[k].(float64)
	return v, ok
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, out io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report table FILE | report median FILE FIGURE TARGET FIELD")
		return 2
	}
	samples, err := load(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
		return 1
	}
	switch args[0] {
	case "table":
		writeTables(out, samples)
		return 0
	case "median":
		if len(args) != 5 {
			fmt.Fprintln(os.Stderr, "usage: report median FILE FIGURE TARGET FIELD")
			return 2
		}
		v, ok := median(values(samples, args[2], args[3], args[4]))
		if !ok {
			fmt.Fprintf(os.Stderr, "report: no %s for %s/%s\n", args[4], args[2], args[3])
			return 1
		}
		fmt.Fprintf(out, "%.0f\n", v)
		return 0
	}
	fmt.Fprintf(os.Stderr, "report: unknown command %q\n", args[0])
	return 2
}

func load(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var s sample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, errors.New("no results")
	}
	return out, nil
}

func values(samples []sample, figure, target, field string) []float64 {
	var v []float64
	for _, s := range samples {
		if s.str("figure") != figure || s.str("target") != target {
			continue
		}
		x, ok := s.num(field)
		if !ok {
			x = 0 // omitted means zero (e.g. no requests completed)
		}
		v = append(v, x)
	}
	return v
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func sum(samples []sample, figure, target, field string) float64 {
	var t float64
	for _, x := range values(samples, figure, target, field) {
		t += x
	}
	return t
}

var (
	// targets are the main table's columns; "callgate" is callgate on its
	// default wire engine.
	targets = []string{"direct", "callgate", "squid", "tinyproxy"}
	peers   = []string{"squid", "tinyproxy"}
	// stdlib is callgate on its other wire engine (engine: stdlib), in the
	// engines table and the detail and paced tables.
	stdlib = "callgate-stdlib"
	// reference is measured for the reference table only: never a peer,
	// never a column of the main table.
	reference     = "haproxy"
	detailTargets = []string{"direct", "callgate", stdlib, "squid", "tinyproxy", reference}
)

// row is one line of the main table. higher says which way is better.
type row struct {
	label  string
	unit   string
	higher bool
	vals   map[string]float64 // target → median; missing = not measured
	goal   string
	met    func(v map[string]float64) (bool, bool) // met, known
}

func writeTables(w io.Writer, samples []sample) {
	rows := mainRows(samples)
	fmt.Fprintln(w, "| figure | direct | callgate | squid | tinyproxy | callgate/direct | squid/direct | tinyproxy/direct | callgate/best peer | target for callgate | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, r := range rows {
		cells := []string{r.label + " (" + r.unit + ")"}
		for _, t := range targets {
			cells = append(cells, fmtVal(r.vals, t))
		}
		d, hasD := r.vals["direct"]
		for _, t := range []string{"callgate", "squid", "tinyproxy"} {
			v, ok := r.vals[t]
			if !ok || !hasD || d == 0 {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, fmt.Sprintf("%.0f%%", 100*v/d))
		}
		cells = append(cells, bestPeerRatio(r))
		cells = append(cells, r.goal)
		met, known := false, false
		if r.met != nil {
			met, known = r.met(r.vals)
		}
		switch {
		case !known:
			cells = append(cells, "—")
		case met:
			cells = append(cells, "yes")
		default:
			cells = append(cells, "**no**")
		}
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintln(w)
	writeNoise(w, samples)
	writeDetails(w, samples)
	writeEngines(w, samples)
	writePaced(w, samples)
	writeReference(w, samples)
}

// writeEngines sets callgate's two wire engines side by side, when the run
// measured the stdlib one: throughput and the proxy's CPU per operation of
// each figure, and the latency added at half of each one's own maximum.
func writeEngines(w io.Writer, samples []sample) {
	if len(values(samples, "absolute", stdlib, "mode")) == 0 && len(values(samples, "paced", stdlib, "mode")) == 0 {
		return
	}
	which := []string{"direct", "callgate", stdlib}
	type engineRow struct {
		label, figure, field string
		scale                float64
	}
	rows := []engineRow{
		{"absolute-form keep-alive (req/s)", "absolute", "rps", 1},
		{"CPU per absolute-form request (µs)", "absolute", "proxy_cpu_us_per_op", 1},
		{"requests inside CONNECT tunnels (req/s)", "tunnel", "rps", 1},
		{"CPU per request inside a tunnel (µs)", "tunnel", "proxy_cpu_us_per_op", 1},
		{"tunnel setups (/s)", "setup", "rps", 1},
		{"CPU per tunnel setup (µs)", "setup", "proxy_cpu_us_per_op", 1},
		{"bulk through one tunnel (MB/s)", "bulk", "mb_per_s", 1},
		{"memory per idle tunnel (KiB)", "idle", "rss_bytes_per_tunnel", 1.0 / 1024},
		{"CPU per request, paced (µs)", "paced", "proxy_cpu_us_per_op", 1},
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Wire engines: callgate on engine fast (the default) and on engine stdlib (net/http's server and http.Transport for every request)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| figure | direct | callgate (fast) | callgate-stdlib | stdlib/fast |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	line := func(label string, v map[string]float64) {
		cells := []string{label}
		for _, t := range which {
			cells = append(cells, fmtVal(v, t))
		}
		ratio := "—" // also for an added latency at or below zero: no ratio means anything there
		if f, ok1 := v["callgate"]; ok1 && f > 0 {
			if s, ok2 := v[stdlib]; ok2 && s > 0 {
				ratio = fmt.Sprintf("%.2f×", s/f)
			}
		}
		fmt.Fprintln(w, "| "+strings.Join(append(cells, ratio), " | ")+" |")
	}
	for _, r := range rows {
		v := medians(samples, r.figure, r.field, r.scale, which)
		if r.field == "proxy_cpu_us_per_op" {
			delete(v, "direct") // no proxy
		}
		if _, ok := v["callgate"]; !ok {
			if _, ok := v[stdlib]; !ok {
				continue
			}
		}
		line(r.label, v)
	}
	added := map[string]float64{}
	for _, p := range []string{"callgate", stdlib} {
		fig := "latency-" + p
		pv, ok1 := median(values(samples, fig, p, "p99_us"))
		dv, ok2 := median(values(samples, fig, "direct", "p99_us"))
		if ok1 && ok2 {
			added[p] = (pv - dv) / 1000
		}
	}
	if len(added) > 0 {
		line("p99 latency added at half of own max load (ms)", added)
	}
	for _, q := range []string{"p50", "p99"} {
		if v := addedPaced(samples, q+"_us", []string{"callgate", stdlib}); len(v) > 0 {
			line(q+" latency added, paced (ms)", v)
		}
	}
}

// addedPaced is, per target, the median of field (a latency in µs) in the
// paced figure minus direct's, in ms.
func addedPaced(samples []sample, field string, which []string) map[string]float64 {
	out := map[string]float64{}
	dv, ok := median(values(samples, "paced", "direct", field))
	if !ok {
		return out
	}
	for _, t := range which {
		if v, ok := median(values(samples, "paced", t, field)); ok {
			out[t] = (v - dv) / 1000
		}
	}
	return out
}

// writePaced prints the paced figure: every target, direct included, at the
// same absolute-form rate. Its CPU per request is what a deployment that is
// far from saturated pays; the added latency is against direct at that rate.
// Beside the medians, each proxy's CPU per request and added latency as a
// multiple of callgate's, from the same rounds.
func writePaced(w io.Writer, samples []sample) {
	var which []string
	for _, t := range detailTargets {
		if len(values(samples, "paced", t, "mode")) > 0 {
			which = append(which, t)
		}
	}
	if len(which) == 0 {
		return
	}
	rate, _ := median(values(samples, "paced", which[0], "rate_target"))
	p50 := addedPaced(samples, "p50_us", which)
	p99 := addedPaced(samples, "p99_us", which)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Paced at %.0f req/s (absolute form): CPU per request and the latency each target adds to direct's at the same rate\n", rate)
	fmt.Fprintln(w)
	cpu := map[string]float64{}
	for _, t := range which {
		if v, ok := median(values(samples, "paced", t, "proxy_cpu_us_per_op")); ok {
			cpu[t] = v
		}
	}
	fmt.Fprintln(w, "| target | achieved req/s | proxy CPU µs/request | p50 µs | p99 µs | p50 added (ms) | p99 added (ms) | CPU/request × callgate's | p50 added × callgate's | p99 added × callgate's |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, t := range which {
		med := func(field, format string) string {
			v, ok := median(values(samples, "paced", t, field))
			if !ok || v == 0 {
				return "—"
			}
			return fmt.Sprintf(format, v)
		}
		added := func(v map[string]float64) string {
			if t == "direct" {
				return "—"
			}
			x, ok := v[t]
			if !ok {
				return "—"
			}
			return fmt.Sprintf("%.2f", x)
		}
		// times is t's value over callgate's; "—" for direct (no proxy)
		// and where either is missing or not above zero (a latency no
		// higher than direct's is noise, and no multiple of anything).
		times := func(v map[string]float64) string {
			x, ok := v[t]
			c, cok := v["callgate"]
			if t == "direct" || !ok || !cok || x <= 0 || c <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f×", x/c)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t,
			med("rps", "%.0f"), med("proxy_cpu_us_per_op", "%.1f"), med("p50_us", "%.0f"), med("p99_us", "%.0f"),
			added(p50), added(p99), times(cpu), times(p50), times(p99))
	}
}

// writeReference prints callgate beside haproxy, when the run measured it.
// haproxy is no forward proxy: for the absolute figure it is a reverse proxy
// (the client sends it origin-form requests), for the tunnel and bulk
// figures a plain TCP relay (the tunnel modes without the CONNECT; a
// tunnel's bytes after the CONNECT are exactly a relay's).
func writeReference(w io.Writer, samples []sample) {
	which := []string{"direct", "callgate", reference}
	rows := []struct {
		label, figure, field string
	}{
		{"absolute, haproxy(http) (req/s)", "absolute", "rps"},
		{"tunnel, haproxy(tcp) (req/s)", "tunnel", "rps"},
		{"bulk, haproxy(tcp) (MB/s)", "bulk", "mb_per_s"},
	}
	measured := false
	for _, r := range rows {
		if len(values(samples, r.figure, reference, "mode")) > 0 {
			measured = true
		}
	}
	if !measured {
		return
	}
	ratio := func(v map[string]float64, a, b string, format string, scale float64) string {
		x, ok1 := v[a]
		y, ok2 := v[b]
		if !ok1 || !ok2 || y == 0 {
			return "—"
		}
		return fmt.Sprintf(format, scale*x/y)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Reference: HAProxy as a plain relay (not a forward proxy; no CONNECT, no absolute form)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| figure | direct | callgate | haproxy | callgate/direct | haproxy/direct | callgate/haproxy |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		v := medians(samples, r.figure, r.field, 1, which)
		cells := []string{r.label}
		for _, t := range which {
			cells = append(cells, fmtVal(v, t))
		}
		cells = append(cells,
			ratio(v, "callgate", "direct", "%.0f%%", 100),
			ratio(v, reference, "direct", "%.0f%%", 100),
			ratio(v, "callgate", reference, "%.2f×", 1))
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "haproxy(http): a reverse proxy in front of the origin (origin-form requests, keep-alive both sides, http-reuse always), for the absolute row; haproxy(tcp): a plain TCP relay to the origin, the floor for a tunnel's bytes, for the tunnel and bulk rows. One thread.")
}

// noisyCores is the CPU other programs may use during a run before its
// figure is called unreliable: a tenth of one of the two cores.
const noisyCores = 0.2

// writeNoise says how busy the rest of the machine was: on two cores, a
// compiler or test suite running alongside moves every figure.
func writeNoise(w io.Writer, samples []sample) {
	var all []float64
	noisy := 0
	for _, s := range samples {
		if v, ok := s.num("other_cores"); ok {
			all = append(all, v)
			if v > noisyCores {
				noisy++
			}
		} else if _, isRun := s.num("loadgen_cpu_s"); isRun {
			all = append(all, 0)
		}
	}
	m, ok := median(all)
	if !ok {
		return
	}
	fmt.Fprintf(w, "Other programs used a median of %.2f cores during the runs; %d of %d runs had more than %.1f (unreliable figures).\n\n",
		m, noisy, len(all), noisyCores)
}

func fmtVal(vals map[string]float64, t string) string {
	v, ok := vals[t]
	if !ok {
		return "—"
	}
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// bestPeerRatio is callgate over the better of squid and tinyproxy ("2.1×"
// means callgate is 2.1 times the best peer's figure, whichever way is better).
func bestPeerRatio(r row) string {
	cg, ok := r.vals["callgate"]
	if !ok {
		return "—"
	}
	best, found := 0.0, false
	for _, p := range peers {
		v, ok := r.vals[p]
		if !ok {
			continue
		}
		if !found || (r.higher && v > best) || (!r.higher && v < best) {
			best, found = v, true
		}
	}
	if !found || best == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", cg/best)
}

func medians(samples []sample, figure, field string, scale float64, which []string) map[string]float64 {
	m := map[string]float64{}
	for _, t := range which {
		if v, ok := median(values(samples, figure, t, field)); ok {
			m[t] = v * scale
		}
	}
	return m
}

func mainRows(samples []sample) []row {
	ratioTo := func(v map[string]float64, base string, min float64) (bool, bool) {
		cg, ok1 := v["callgate"]
		b, ok2 := v[base]
		if !ok1 || !ok2 || b == 0 {
			return false, false
		}
		return cg >= min*b, true
	}
	var rows []row
	rows = append(rows, row{
		label: "absolute-form keep-alive", unit: "req/s", higher: true,
		vals: medians(samples, "absolute", "rps", 1, targets),
		goal: "≥ 2× squid, ≥ 40% of direct",
		met: func(v map[string]float64) (bool, bool) {
			a, k1 := ratioTo(v, "squid", 2)
			b, k2 := ratioTo(v, "direct", 0.40)
			return a && b, k1 && k2
		},
	}, row{
		label: "requests inside 64 CONNECT tunnels", unit: "req/s", higher: true,
		vals: medians(samples, "tunnel", "rps", 1, targets),
		goal: "≥ 75% of direct",
		met:  func(v map[string]float64) (bool, bool) { return ratioTo(v, "direct", 0.75) },
	}, row{
		label: "tunnel setups (CONNECT + GET + close)", unit: "/s", higher: true,
		vals: medians(samples, "setup", "rps", 1, targets),
		goal: "≥ 2× squid",
		met:  func(v map[string]float64) (bool, bool) { return ratioTo(v, "squid", 2) },
	}, row{
		label: "bulk through one tunnel", unit: "MB/s", higher: true,
		vals: medians(samples, "bulk", "mb_per_s", 1, targets),
		goal: "≥ 85% of direct",
		met:  func(v map[string]float64) (bool, bool) { return ratioTo(v, "direct", 0.85) },
	})
	idle := medians(samples, "idle", "rss_bytes_per_tunnel", 1.0/1024, targets)
	fds := medians(samples, "idle", "fds_per_tunnel", 1, targets)
	held := map[string]float64{}
	for _, t := range targets {
		if v := values(samples, "idle", t, "tunnels_alive"); len(v) > 0 {
			held[t] = slices.Min(v) // the worst round: all must have held
		}
	}
	want := 0.0
	for _, t := range targets {
		if v := values(samples, "idle", t, "tunnels"); len(v) > 0 {
			want = max(want, slices.Max(v))
		}
	}
	rows = append(rows, row{
		label: "memory per idle tunnel", unit: "KiB", higher: false, vals: idle,
		goal: "≤ 12 KiB",
		met: func(v map[string]float64) (bool, bool) {
			cg, ok := v["callgate"]
			return cg <= 12, ok
		},
	}, row{
		label: "fds per idle tunnel", unit: "fds", higher: false, vals: fds,
		goal: "exactly 2",
		met: func(v map[string]float64) (bool, bool) {
			cg, ok := v["callgate"]
			return math.Abs(cg-2) < 0.01, ok
		},
	}, row{
		label: "idle tunnels held (worst round)", unit: "tunnels", higher: true, vals: held,
		goal: fmt.Sprintf("all %.0f", want),
		met: func(v map[string]float64) (bool, bool) {
			cg, ok := v["callgate"]
			return cg >= want && want > 0, ok
		},
	})
	added := map[string]float64{}
	for _, p := range []string{"callgate", "squid", "tinyproxy"} {
		fig := "latency-" + p
		pv, ok1 := median(values(samples, fig, p, "p99_us"))
		dv, ok2 := median(values(samples, fig, "direct", "p99_us"))
		if ok1 && ok2 {
			added[p] = (pv - dv) / 1000
		}
	}
	rows = append(rows, row{
		label: "p99 latency added at half of own max load", unit: "ms", higher: false, vals: added,
		goal: "≤ 1 ms",
		met: func(v map[string]float64) (bool, bool) {
			cg, ok := v["callgate"]
			return cg <= 1, ok
		},
	})
	return rows
}

// writeDetails prints, per figure and target, what explains the figure:
// latency percentiles, the proxy's CPU per operation, errors and rounds.
func writeDetails(w io.Writer, samples []sample) {
	var figures []string
	for _, s := range samples {
		if f := s.str("figure"); f != "" && !slices.Contains(figures, f) {
			figures = append(figures, f)
		}
	}
	fmt.Fprintln(w, "| figure | target | rounds | median rate | p50 µs | p99 µs | proxy CPU s | proxy CPU µs/op | origin CPU s | loadgen CPU s | other cores | errors (all rounds) | first error |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, f := range figures {
		for _, t := range detailTargets {
			n := len(values(samples, f, t, "mode"))
			if n == 0 {
				continue
			}
			rate := "—"
			if v, ok := median(values(samples, f, t, "rps")); ok && v > 0 {
				rate = fmt.Sprintf("%.0f/s", v)
			}
			if v, ok := median(values(samples, f, t, "mb_per_s")); ok && v > 0 {
				rate = fmt.Sprintf("%.0f MB/s", v)
			}
			if f == "idle" {
				if v, ok := median(values(samples, f, t, "rss_bytes_per_tunnel")); ok {
					rate = fmt.Sprintf("%.1f KiB/tunnel", v/1024)
				}
			}
			med := func(field string, format string) string {
				v, ok := median(values(samples, f, t, field))
				if !ok || v == 0 {
					return "—"
				}
				return fmt.Sprintf(format, v)
			}
			first := ""
			for _, s := range samples {
				if s.str("figure") == f && s.str("target") == t && s.str("first_error") != "" {
					first = strings.ReplaceAll(s.str("first_error"), "|", "/")
					if len(first) > 80 {
						first = first[:80] + "…"
					}
					break
				}
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %s |\n",
				f, t, n, rate, med("p50_us", "%.0f"), med("p99_us", "%.0f"),
				med("proxy_cpu_s", "%.2f"), med("proxy_cpu_us_per_op", "%.1f"),
				med("origin_cpu_s", "%.2f"), med("loadgen_cpu_s", "%.2f"), med("other_cores", "%.2f"),
				sum(samples, f, t, "errors"), first)
		}
	}
}
