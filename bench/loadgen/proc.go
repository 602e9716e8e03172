package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the user+system CPU seconds that process pid has consumed
// (all threads). pid 0 means this process.
func procCPU(pid int) (float64, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	// The command name (field 2) may contain spaces; fields resume after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse %s: no ')'", path)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse %s: %d fields", path, len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse %s: utime/stime", path)
	}
	return float64(ut+st) / clockTicks, nil
}

// procRSS returns the resident set size of pid in bytes (VmRSS).
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// procFDs counts the open file descriptors of pid.
func procFDs(pid int) (int, error) {
	d, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("read fds: %w", err)
	}
	return len(d), nil
}

// procThreads returns the number of threads of pid (tinyproxy runs one per
// client, which explains its memory).
func procThreads(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
			return n
		}
	}
	return 0
}

// cpuMeter snapshots CPU of the proxy, the origin and this process.
type cpuMeter struct {
	proxyPID, originPID int
	proxy, origin, self float64
	machine             float64
	at                  time.Time
}

func (m *cpuMeter) snap() cpuMeter {
	s := cpuMeter{proxyPID: m.proxyPID, originPID: m.originPID}
	if m.proxyPID > 0 {
		s.proxy, _ = procCPU(m.proxyPID)
	}
	if m.originPID > 0 {
		s.origin, _ = procCPU(m.originPID)
	}
	s.self, _ = procCPU(0)
	s.machine, _ = machineBusy()
	s.at = time.Now()
	return s
}

// fill writes the CPU consumed between a and b into r.
func (r *result) fillCPU(a, b cpuMeter) {
	if a.proxyPID > 0 {
		v := b.proxy - a.proxy
		r.ProxyCPU = &v
	}
	if a.originPID > 0 {
		v := b.origin - a.origin
		r.OriginCPU = &v
	}
	r.LoadgenCPU = b.self - a.self
	// Whatever else ran on the machine meanwhile: noise in the figure.
	other := (b.machine - a.machine) - r.LoadgenCPU
	if r.ProxyCPU != nil {
		other -= *r.ProxyCPU
	}
	if r.OriginCPU != nil {
		other -= *r.OriginCPU
	}
	if el := b.at.Sub(a.at).Seconds(); el > 0 {
		r.OtherCores = max(other, 0) / el
	}
}

// machineBusy returns the CPU seconds all cores of the machine have spent
// busy (user, nice, system, irq, softirq, steal), from /proc/stat.
func machineBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		busy += v
	}
	return float64(busy) / clockTicks, nil
}

// waitQuiet waits, up to limit, for a half-second in which the whole machine
// used less than maxCores of CPU: other work on a 2-core machine (a compiler,
// a test suite) would otherwise be part of the figure. It returns the cores
// in use in the last sample.
func waitQuiet(limit time.Duration, maxCores float64) float64 {
	end := time.Now().Add(limit)
	cores := 0.0
	for {
		a, err := machineBusy()
		if err != nil {
			return 0
		}
		t0 := time.Now()
		time.Sleep(500 * time.Millisecond)
		b, err := machineBusy()
		if err != nil {
			return 0
		}
		cores = (b - a) / time.Since(t0).Seconds()
		if cores < maxCores || time.Now().After(end) {
			return cores
		}
	}
}
