//go:build linux

package tunnel

import (
	"errors"
	"sync"
	"syscall"
)

// parker holds the directions of idle tunnels without a goroutine each: a
// parked direction's source socket sits in one process-wide epoll set
// (one-shot), and the parker's single goroutine starts a fresh goroutine
// for the direction when the socket becomes readable or the tunnel ends.
// An idle tunnel thus costs no goroutine stack at all, only its heap
// objects. The goroutine runs only while something is parked.
type parker struct {
	once    sync.Once
	initErr error
	epfd    int
	wakeFd  int // eventfd: tells the loop to look at the set again

	mu      sync.Mutex
	next    uint64
	parked  map[uint64]*direction
	running bool
}

// wakeToken is the epoll token of wakeFd; direction tokens start above it.
const wakeToken = 0

var defaultParker parker

const parkingSupported = true

func (p *parker) init() error {
	p.once.Do(func() {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.initErr = err
			return
		}
		r, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		if errno != 0 {
			_ = syscall.Close(epfd)
			p.initErr = errno
			return
		}
		wakeFd := int(r)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
		setToken(&ev, wakeToken)
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, wakeFd, &ev); err != nil {
			_ = syscall.Close(epfd)
			_ = syscall.Close(wakeFd)
			p.initErr = err
			return
		}
		p.mu.Lock()
		p.epfd, p.wakeFd = epfd, wakeFd
		p.parked = make(map[uint64]*direction)
		p.mu.Unlock()
	})
	return p.initErr
}

func setToken(ev *syscall.EpollEvent, tok uint64) {
	ev.Fd = int32(uint32(tok))
	ev.Pad = int32(uint32(tok >> 32))
}

func tokenOf(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// park puts d to sleep until its source is readable or its tunnel ends,
// and reports whether it did. When it returns false the caller keeps
// running d itself.
func (p *parker) park(d *direction) bool {
	if d.raw == nil || p.init() != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.t.ended.Load() {
		return false // end already looked for parked directions
	}
	p.next++
	tok := p.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	setToken(&ev, tok)
	var ctlErr error
	// Control holds the descriptor open, so the number cannot be reused
	// by another socket while it is registered.
	err := d.raw.rc.Control(func(fd uintptr) {
		op := syscall.EPOLL_CTL_MOD
		if !d.registered {
			op = syscall.EPOLL_CTL_ADD
		}
		ctlErr = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
		switch {
		case errors.Is(ctlErr, syscall.ENOENT):
			ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		case errors.Is(ctlErr, syscall.EEXIST):
			ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		}
	})
	if err != nil || ctlErr != nil {
		return false // closed, or the kernel refused: keep the goroutine
	}
	d.registered = true
	d.parked.Store(true)
	p.parked[tok] = d
	d.token = tok
	if !p.running {
		p.running = true
		go p.loop()
	}
	return true
}

func (p *parker) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// release wakes t's parked directions because t ended; each resumes, sees
// its closed socket and finishes.
func (p *parker) release(t *tunnel) {
	var wake [2]*direction
	p.mu.Lock()
	if p.parked == nil {
		p.mu.Unlock()
		return // never used
	}
	for i, d := range t.dirs {
		if d != nil && d.parked.Load() {
			delete(p.parked, d.token)
			d.parked.Store(false)
			wake[i] = d
		}
	}
	if len(p.parked) == 0 && p.running {
		p.signal()
	}
	p.mu.Unlock()
	for _, d := range wake {
		if d != nil {
			go d.t.runGoroutine(d)
		}
	}
}

// signal wakes the loop; called with p.mu held.
func (p *parker) signal() {
	one := [8]byte{1}
	_, _ = syscall.Write(p.wakeFd, one[:])
}

func (p *parker) loop() {
	events := make([]syscall.EpollEvent, 128)
	var wake []*direction
	var drain [8]byte
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil && err != syscall.EINTR {
			// Cannot happen with a valid set; resume everything rather
			// than strand it.
			n = 0
		}
		wake = wake[:0]
		p.mu.Lock()
		for i := range max(n, 0) {
			tok := tokenOf(&events[i])
			if tok == wakeToken {
				_, _ = syscall.Read(p.wakeFd, drain[:])
				continue
			}
			if d := p.parked[tok]; d != nil {
				delete(p.parked, tok)
				d.parked.Store(false)
				wake = append(wake, d)
			}
		}
		if err != nil && err != syscall.EINTR {
			for tok, d := range p.parked {
				delete(p.parked, tok)
				d.parked.Store(false)
				wake = append(wake, d)
			}
		}
		stop := len(p.parked) == 0
		if stop {
			p.running = false
		}
		p.mu.Unlock()
		for _, d := range wake {
			if d.t.idle != nil {
				d.t.idle.rearm() // watch the woken tunnel closely again
			}
			go d.t.runGoroutine(d)
		}
		clear(wake)
		if stop {
			return
		}
	}
}
