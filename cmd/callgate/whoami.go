package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func runWhoami(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (its aws section picks the mode, region and endpoint)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "callgate whoami:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backend, _, err := newBackend(ctx, cfg, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		fmt.Fprintln(stderr, "callgate whoami:", err)
		return 1
	}
	arn, err := backend.Whoami(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "callgate whoami:", err)
		return 1
	}
	fmt.Fprintln(stdout, arn)
	printRegions(stdout, cfg)
	return 0
}
