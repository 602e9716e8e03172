// Command loadgen drives the callgate benchmarks: a hand-written HTTP/1.1
// client on raw net.Conn (Go's http.Client costs more CPU per request than
// the proxies under test, and on a 2-core machine that would be the figure).
//
// Modes (each stops by itself after --duration or its count, and prints one
// JSON line on stdout):
//
//	absolute         N keep-alive connections sending absolute-form GETs
//	                 through --proxy (origin-form directly when --proxy is "");
//	                 --rate R paces them to R req/s in total (latency figure)
//	tunnel-requests  N long-lived CONNECT tunnels, origin-form GETs inside
//	tunnel-setup     N workers looping CONNECT + one GET + close
//	bulk             one tunnel, GET /bulk?bytes=--bytes, MB/s
//	idle             open --tunnels tunnels, hold them, report the RSS and
//	                 open fds of --pid per tunnel from /proc
//
// It is a benchmark tool, not part of callgate, and talks to loopback only.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

type config struct {
	mode        string
	t           target
	conns       int
	duration    time.Duration
	warmup      time.Duration
	rate        float64
	pid         int
	originPID   int
	bytes       int64
	tunnels     int
	hold        time.Duration
	concurrency int
	timeout     time.Duration
	quietWait   time.Duration
	figure      string
	name        string
	round       int
}

// result is the one JSON line a run prints. Pointers and omitempty leave out
// what a mode does not measure.
type result struct {
	Figure     string  `json:"figure,omitempty"`
	Target     string  `json:"target,omitempty"`
	Round      int     `json:"round,omitempty"`
	Mode       string  `json:"mode"`
	Conns      int     `json:"conns,omitempty"`
	DurationS  float64 `json:"duration_s"`
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Reconnects uint64  `json:"reconnects,omitempty"`
	RateTarget float64 `json:"rate_target,omitempty"`
	RPS        float64 `json:"rps,omitempty"`
	Bytes      int64   `json:"bytes,omitempty"`
	MBps       float64 `json:"mb_per_s,omitempty"`
	P50us      float64 `json:"p50_us,omitempty"`
	P90us      float64 `json:"p90_us,omitempty"`
	P99us      float64 `json:"p99_us,omitempty"`
	P999us     float64 `json:"p999_us,omitempty"`
	MaxUs      float64 `json:"max_us,omitempty"`

	ProxyCPU        *float64 `json:"proxy_cpu_s,omitempty"`
	ProxyCPUPerOpUs *float64 `json:"proxy_cpu_us_per_op,omitempty"`
	OriginCPU       *float64 `json:"origin_cpu_s,omitempty"`
	LoadgenCPU      float64  `json:"loadgen_cpu_s"`
	// OtherCores is the CPU the rest of the machine used during the run, in
	// cores (kernel work not charged to a process, other programs): noise.
	OtherCores float64 `json:"other_cores"`
	// QuietCores is the machine's CPU use just before the run started.
	QuietCores float64 `json:"quiet_cores"`

	Tunnels        int     `json:"tunnels,omitempty"`
	TunnelsOpened  int     `json:"tunnels_opened,omitempty"`
	TunnelsAlive   int     `json:"tunnels_alive,omitempty"`
	RSSBefore      int64   `json:"rss_before_bytes,omitempty"`
	RSSAfter       int64   `json:"rss_after_bytes,omitempty"`
	BytesPerTunnel float64 `json:"rss_bytes_per_tunnel,omitempty"`
	FDsBefore      int     `json:"fds_before,omitempty"`
	FDsAfter       int     `json:"fds_after,omitempty"`
	FDsPerTunnel   float64 `json:"fds_per_tunnel,omitempty"`
	ThreadsAfter   int     `json:"threads_after,omitempty"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&cfg.mode, "mode", "absolute", "absolute | tunnel-requests | tunnel-setup | bulk | idle")
	fs.StringVar(&cfg.t.proxy, "proxy", "", "proxy host:port; empty sends directly to --target")
	fs.StringVar(&cfg.t.origin, "target", "", "origin authority host:port as the client names it")
	fs.IntVar(&cfg.conns, "conns", 64, "connections, tunnels or workers")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time (bulk, idle: upper bound)")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured load before the measured time")
	fs.Float64Var(&cfg.rate, "rate", 0, "absolute/tunnel-requests: total req/s to pace to; 0 = as fast as possible")
	fs.IntVar(&cfg.pid, "pid", 0, "proxy PID whose CPU (and for idle: RSS, fds) is read from /proc")
	fs.IntVar(&cfg.originPID, "origin-pid", 0, "origin PID whose CPU is read from /proc")
	fs.Int64Var(&cfg.bytes, "bytes", 1<<30, "bulk: bytes to fetch through the tunnel")
	fs.IntVar(&cfg.tunnels, "tunnels", 9000, "idle: tunnels to open and hold")
	fs.DurationVar(&cfg.hold, "hold", 3*time.Second, "idle: how long to hold the tunnels before measuring")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "idle: tunnels opened in parallel")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "grace after the run for in-flight I/O")
	fs.DurationVar(&cfg.quietWait, "quiet-wait", 0, "wait up to this long for the machine to be idle (< 0.3 cores busy) before starting")
	fs.StringVar(&cfg.figure, "figure", "", "label copied into the JSON")
	fs.StringVar(&cfg.name, "name", "", "target label copied into the JSON")
	fs.IntVar(&cfg.round, "round", 0, "round number copied into the JSON")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := validate(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		return 2
	}
	var (
		res   result
		err   error
		quiet float64
	)
	if cfg.quietWait > 0 {
		quiet = waitQuiet(cfg.quietWait, 0.3)
	}
	switch cfg.mode {
	case "absolute":
		res, err = runRequests(cfg)
	case "tunnel-requests":
		cfg.t.tunnel = true
		res, err = runRequests(cfg)
	case "tunnel-setup":
		cfg.t.tunnel = true
		res, err = runSetup(cfg)
	case "bulk":
		cfg.t.tunnel = true
		res, err = runBulk(cfg)
	case "idle":
		cfg.t.tunnel = true
		res, err = runIdle(cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", cfg.mode, err)
		return 1
	}
	res.Mode, res.Figure, res.Target, res.Round = cfg.mode, cfg.figure, cfg.name, cfg.round
	res.QuietCores = quiet
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		return 1
	}
	return 0
}

var errConfig = errors.New("bad flags")

func validate(cfg config) error {
	switch cfg.mode {
	case "absolute", "tunnel-requests", "tunnel-setup", "bulk", "idle":
	default:
		return fmt.Errorf("%w: unknown --mode %q", errConfig, cfg.mode)
	}
	if cfg.t.origin == "" {
		return fmt.Errorf("%w: --target is required", errConfig)
	}
	if err := loopbackOnly(cfg.t.dialAddr(), true); err != nil {
		return err
	}
	if err := loopbackOnly(cfg.t.origin, false); err != nil {
		return err
	}
	if cfg.conns < 1 || cfg.conns > 20000 || cfg.tunnels < 1 || cfg.concurrency < 1 {
		return fmt.Errorf("%w: --conns, --tunnels, --concurrency out of range", errConfig)
	}
	if cfg.duration <= 0 || cfg.duration > time.Hour || cfg.warmup < 0 {
		return fmt.Errorf("%w: --duration must be in (0, 1h]", errConfig)
	}
	if cfg.mode == "idle" && cfg.pid <= 0 {
		return fmt.Errorf("%w: idle needs --pid", errConfig)
	}
	return nil
}

// loopbackOnly refuses any address that is not on this machine's loopback:
// the benchmark never sends traffic elsewhere. The address this process dials
// must be a loopback IP literal (or localhost); a name is allowed only as the
// origin named through a proxy (callgate's origin.bench.internal), which the
// proxy, not this process, maps to an address.
func loopbackOnly(addr string, dialed bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", errConfig, addr, err)
	}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && !ip.IsLoopback():
		return fmt.Errorf("%w: %s is not a loopback address", errConfig, addr)
	case ip == nil && dialed && host != "localhost":
		return fmt.Errorf("%w: %s: the dialled address must be a loopback IP literal", errConfig, addr)
	}
	return nil
}
