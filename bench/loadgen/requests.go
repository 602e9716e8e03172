package main

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// window is the measured interval; work outside it is warm-up or drain.
type window struct {
	start, end time.Time
}

func (w window) contains(t0, t1 time.Time) bool {
	return !t0.Before(w.start) && !t1.After(w.end)
}

// workerStats is owned by one worker and merged after the run.
type workerStats struct {
	h          hist
	ops        uint64
	errs       uint64
	reconnects uint64
	firstErr   error
}

func (s *workerStats) fail(t1 time.Time, w window, err error) {
	if t1.Before(w.start) || t1.After(w.end) {
		return
	}
	s.errs++
	if s.firstErr == nil {
		s.firstErr = err
	}
}

// measure runs work on n goroutines over warm-up + duration, snapshots the
// proxy's CPU at the window's edges, and merges what the workers saw.
func measure(cfg config, n int, work func(id int, w window, s *workerStats)) result {
	meter := cpuMeter{proxyPID: cfg.pid, originPID: cfg.originPID}
	now := time.Now()
	w := window{start: now.Add(cfg.warmup), end: now.Add(cfg.warmup + cfg.duration)}
	stats := make([]workerStats, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { work(i, w, &stats[i]) })
	}
	time.Sleep(time.Until(w.start))
	c0 := meter.snap()
	time.Sleep(time.Until(w.end))
	c1 := meter.snap()
	wg.Wait()

	var all workerStats
	for i := range stats {
		s := &stats[i]
		all.h.merge(&s.h)
		all.ops += s.ops
		all.errs += s.errs
		all.reconnects += s.reconnects
		if all.firstErr == nil {
			all.firstErr = s.firstErr
		}
	}
	res := result{
		Conns:      n,
		DurationS:  cfg.duration.Seconds(),
		Requests:   all.ops,
		Errors:     all.errs,
		Reconnects: all.reconnects,
		RPS:        float64(all.ops) / cfg.duration.Seconds(),
	}
	if all.firstErr != nil {
		res.FirstError = all.firstErr.Error()
	}
	fillLatency(&res, &all.h)
	res.fillCPU(c0, c1)
	if res.ProxyCPU != nil && all.ops > 0 {
		v := *res.ProxyCPU / float64(all.ops) * 1e6
		res.ProxyCPUPerOpUs = &v
	}
	return res
}

func fillLatency(res *result, h *hist) {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	res.P50us = us(h.quantile(0.50))
	res.P90us = us(h.quantile(0.90))
	res.P99us = us(h.quantile(0.99))
	res.P999us = us(h.quantile(0.999))
	res.MaxUs = us(h.max)
}

// runRequests is the keep-alive figure: absolute-form (or, with t.tunnel,
// origin-form inside CONNECT tunnels) on cfg.conns connections. A
// connection the proxy closes is reopened, and the reopening is part of that
// request's latency, as a client would see it.
func runRequests(cfg config) (result, error) {
	req := cfg.t.request("/")
	var interval time.Duration
	if cfg.rate > 0 {
		interval = time.Duration(float64(cfg.conns) / cfg.rate * float64(time.Second))
	}
	res := measure(cfg, cfg.conns, func(id int, w window, s *workerStats) {
		scratch := make([]byte, 4096)
		deadline := w.end.Add(cfg.timeout)
		var cn *conn
		defer func() {
			if cn != nil {
				cn.close()
			}
		}()
		next := time.Now()
		if interval > 0 {
			// Stagger the paced workers so they do not send in bursts.
			next = next.Add(interval * time.Duration(id) / time.Duration(cfg.conns))
		}
		for {
			now := time.Now()
			if !now.Before(w.end) {
				return
			}
			if interval > 0 {
				if d := next.Sub(now); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				if behind := time.Since(next); behind > interval {
					next = time.Now() // overloaded: do not build a burst backlog
				}
			}
			t0 := time.Now()
			if cn == nil {
				c, err := dial(cfg.t, deadline, 16<<10)
				if err != nil {
					s.fail(time.Now(), w, err)
					time.Sleep(time.Millisecond)
					continue
				}
				cn = c
				if !t0.Before(w.start) {
					s.reconnects++
				}
			}
			keep, _, err := cn.roundTrip(req, scratch)
			if errors.Is(err, errStale) {
				cn.close()
				cn = nil
				if cn, err = dial(cfg.t, deadline, 16<<10); err == nil {
					if !t0.Before(w.start) {
						s.reconnects++
					}
					keep, _, err = cn.roundTrip(req, scratch)
				}
			}
			t1 := time.Now()
			if err != nil {
				s.fail(t1, w, err)
				if cn != nil {
					cn.close()
					cn = nil
				}
				continue
			}
			if w.contains(t0, t1) {
				s.ops++
				s.h.record(t1.Sub(t0))
			}
			if !keep {
				cn.close()
				cn = nil
			}
		}
	})
	res.RateTarget = cfg.rate
	return res, nil
}

// runSetup is the tunnel-setup figure: each worker loops dial, CONNECT, one
// GET, close (direct: dial, GET, close). Latency covers the whole cycle.
func runSetup(cfg config) (result, error) {
	req := cfg.t.request("/")
	res := measure(cfg, cfg.conns, func(id int, w window, s *workerStats) {
		scratch := make([]byte, 4096)
		br := bufio.NewReaderSize(nil, 4096)
		deadline := w.end.Add(cfg.timeout)
		for {
			t0 := time.Now()
			if !t0.Before(w.end) {
				return
			}
			err := setupOnce(cfg.t, deadline, br, req, scratch)
			t1 := time.Now()
			if err != nil {
				s.fail(t1, w, err)
				if isDialError(err) {
					time.Sleep(time.Millisecond)
				}
				continue
			}
			if w.contains(t0, t1) {
				s.ops++
				s.h.record(t1.Sub(t0))
			}
		}
	})
	return res, nil
}

func setupOnce(t target, deadline time.Time, br *bufio.Reader, req, scratch []byte) error {
	d := net.Dialer{Timeout: 5 * time.Second, Deadline: deadline}
	c, err := d.Dial("tcp", t.dialAddr())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	br.Reset(c)
	cn := &conn{c: c, br: br}
	if t.proxy != "" {
		if err := cn.connect(t.origin); err != nil {
			return err
		}
	}
	_, _, err = cn.roundTrip(req, scratch)
	return err
}

// isDialError reports a failed dial (refused, no ephemeral port left), after which
// spinning would only burn the CPU the proxy needs.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
