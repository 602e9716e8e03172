package main

import (
	"fmt"
	"strconv"
	"time"
)

// runBulk fetches cfg.bytes through one tunnel (directly: one connection)
// and reports MB/s (10^6 bytes) from the request's first byte to the body's
// last. The origin sends zeros in 256 KiB writes; the client reads in 1 MiB.
func runBulk(cfg config) (result, error) {
	meter := cpuMeter{proxyPID: cfg.pid, originPID: cfg.originPID}
	deadline := time.Now().Add(cfg.duration + cfg.timeout)
	cn, err := dial(cfg.t, deadline, 64<<10)
	if err != nil {
		return result{Mode: cfg.mode, Errors: 1, FirstError: err.Error()}, nil
	}
	defer cn.close()
	req := cfg.t.request("/bulk?bytes=" + strconv.FormatInt(cfg.bytes, 10))
	scratch := make([]byte, 1<<20)
	c0 := meter.snap()
	t0 := time.Now()
	_, n, err := cn.roundTrip(req, scratch)
	el := time.Since(t0)
	c1 := meter.snap()
	res := result{Conns: 1, DurationS: el.Seconds(), Bytes: n}
	if err == nil && n != cfg.bytes {
		err = fmt.Errorf("got %d of %d bytes", n, cfg.bytes)
	}
	if err != nil {
		res.Errors, res.FirstError = 1, err.Error()
	} else {
		res.Requests = 1
		res.MBps = float64(n) / el.Seconds() / 1e6
	}
	res.fillCPU(c0, c1)
	return res, nil
}
