package main

import (
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/callgate/callgate/config"
)

// listen opens one of callgate's own listeners (which is "proxy" or
// "admin").
func listen(cfg *config.Config, which, addr string, log *zap.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen.%s %s: %w", which, addr, err)
	}
	return ln, nil
}
