//go:build !linux

package tunnel

// Parking needs epoll; elsewhere an idle direction keeps its goroutine.
type parker struct{}

var defaultParker parker

const parkingSupported = false

func (p *parker) park(*direction) bool { return false }

func (p *parker) release(*tunnel) {}

func (p *parker) count() int { return 0 }
