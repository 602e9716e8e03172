package main

import (
	"context"
	"errors"
)

// errShuttingDown answers reload requests that arrive after shutdown began.
var errShuttingDown = errors.New("callgate is shutting down")

// reloader serialises every reload (SIGHUP, file watch, POST /-/reload)
// through one goroutine, so two reloads never interleave and each caller
// gets its own result back (blackbox_exporter's chan chan error).
type reloader struct {
	requests chan chan error
	apply    func() error
}

func newReloader(apply func() error) *reloader {
	return &reloader{requests: make(chan chan error), apply: apply}
}

// run serves reload requests until ctx ends.
func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-r.requests:
			done <- r.apply()
		}
	}
}

// Reload asks for one reload and waits for its result.
func (r *reloader) Reload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case r.requests <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
