package main

import (
	"fmt"
	"io"

	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/routing"
)

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: callgate check-config FILE")
		return 2
	}
	cfg, err := config.Load(args[0])
	if err == nil {
		// Compile as a reload would, so check-config catches what serve would.
		_, err = routing.Compile(cfg.RoutingCredentials())
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d outbound connections, %d named credentials, sha256 %s)\n",
		args[0], len(cfg.Connections), len(cfg.NamedCredentials), cfg.Hash)
	return 0
}
