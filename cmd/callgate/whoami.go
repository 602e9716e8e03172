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

var whoamiCmd = &command{
	name: "whoami",
	about: `Print the AWS principal callgate runs as: the ARN an endpoint service owner
must allow-list before they accept callgate's endpoints (an assumed-role
session comes out as its role). In aws mode it asks STS, with the AWS SDK's
default credential chain and the region of the config's aws.region; in
simulated mode it prints the simulated principal. The first line is the
principal alone; the lines after it are the regions callgate acts in, each
with its network settings and connections.`,
	env: append([]envVar{configEnv}, awsEnv...),
}

func runWhoami(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	path := fs.String("config", "", "config `FILE` (its aws section picks the mode, region and endpoint; default: the embedded simulated default)")
	if _, code, ok := whoamiCmd.parse(fs, args, stdout, stderr); !ok {
		return code
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
	if cfg.AWS.Mode == "aws" {
		if err := checkAWSCredentials(ctx, cfg.AWS.Region); err != nil {
			fmt.Fprintln(stderr, "callgate whoami:", err)
			return 1
		}
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
