package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// runIdle opens cfg.tunnels tunnels (each carrying one request, so both legs
// exist and have been used), holds them for cfg.hold, reads the proxy's RSS,
// open fds and threads from /proc, then checks with one more request on each
// that the proxy kept every one of them. The memory is read before that check
// so it reflects idle tunnels only.
func runIdle(cfg config) (result, error) {
	meter := cpuMeter{proxyPID: cfg.pid, originPID: cfg.originPID}
	deadline := time.Now().Add(cfg.duration + cfg.hold + 2*cfg.timeout)
	req := cfg.t.request("/")
	rss0, err := procRSS(cfg.pid)
	if err != nil {
		return result{}, err
	}
	fds0, err := procFDs(cfg.pid)
	if err != nil {
		return result{}, err
	}
	c0 := meter.snap()

	conns := make([]*conn, cfg.tunnels)
	var (
		next     atomic.Int64
		errs     atomic.Uint64
		firstErr atomic.Pointer[error]
	)
	note := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, &err)
	}
	openBy := time.Now().Add(cfg.duration)
	forEach := func(f func(i int)) {
		next.Store(0)
		var wg sync.WaitGroup
		for range min(cfg.concurrency, cfg.tunnels) {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= cfg.tunnels || time.Now().After(openBy.Add(cfg.hold+cfg.timeout)) {
						return
					}
					f(i)
				}
			})
		}
		wg.Wait()
	}
	t0 := time.Now()
	forEach(func(i int) {
		if time.Now().After(openBy) {
			return
		}
		cn, err := dial(cfg.t, deadline, 512)
		if err != nil {
			note(err)
			return
		}
		if _, _, err := cn.roundTrip(req, make([]byte, 64)); err != nil {
			note(err)
			cn.close()
			return
		}
		conns[i] = cn
	})
	openTime := time.Since(t0)
	opened := 0
	for _, c := range conns {
		if c != nil {
			opened++
		}
	}
	fmt.Fprintf(os.Stderr, "loadgen: idle: %d/%d tunnels open in %s; holding %s\n", opened, cfg.tunnels, openTime.Round(time.Millisecond), cfg.hold)
	time.Sleep(cfg.hold)
	rss1, err := procRSS(cfg.pid)
	if err != nil {
		return result{}, err
	}
	fds1, err := procFDs(cfg.pid)
	if err != nil {
		return result{}, err
	}
	threads := procThreads(cfg.pid)
	c1 := meter.snap()

	var alive atomic.Int64
	forEach(func(i int) {
		cn := conns[i]
		if cn == nil {
			return
		}
		if _, _, err := cn.roundTrip(req, make([]byte, 64)); err != nil {
			note(fmt.Errorf("after hold: %w", err))
		} else {
			alive.Add(1)
		}
		cn.close()
	})

	res := result{
		Conns:         cfg.concurrency,
		DurationS:     openTime.Seconds(),
		Requests:      uint64(opened),
		Errors:        errs.Load(),
		Tunnels:       cfg.tunnels,
		TunnelsOpened: opened,
		TunnelsAlive:  int(alive.Load()),
		RSSBefore:     rss0,
		RSSAfter:      rss1,
		FDsBefore:     fds0,
		FDsAfter:      fds1,
		ThreadsAfter:  threads,
	}
	if p := firstErr.Load(); p != nil {
		res.FirstError = (*p).Error()
	}
	if opened > 0 {
		res.BytesPerTunnel = float64(rss1-rss0) / float64(opened)
		res.FDsPerTunnel = float64(fds1-fds0) / float64(opened)
	}
	res.fillCPU(c0, c1)
	return res, nil
}
