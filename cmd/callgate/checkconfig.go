package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/routing"
)

var checkConfigCmd = &command{
	name: "check-config",
	args: []argument{{"FILE", "the config file to validate"}},
	about: `Validate a config file as serve and a reload would, without starting
anything: exit 0 and a summary line, or 1 with every error (file:line: key).
Secret files must exist and *_env variables be set, as at load.`,
	env: []envVar{configEnv},
}

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	pos, code, ok := checkConfigCmd.parse(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	file := pos[0]
	cfg, err := config.Load(file)
	if err == nil {
		// Compile as a reload would, so check-config catches what serve would.
		_, err = routing.Compile(cfg.RoutingCredentials())
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d outbound connections, %d named credentials, sha256 %s)\n",
		file, len(cfg.Connections), len(cfg.NamedCredentials), cfg.Hash)
	return 0
}
