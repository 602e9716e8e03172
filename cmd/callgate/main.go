// Command callgate is the egress callout gateway: `callgate serve` runs it;
// the other subcommands check a config or talk to a running instance's
// admin API.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: callgate <command> [flags] [arguments]

commands:
  serve [--config FILE]     run the gateway (without --config: the embedded
                            simulated-AWS default)
  demo                      run the embedded default with a demo upstream and
                            show a call refused, warming up, then succeeding
  check-config FILE         validate a config file without starting
  status [-o wide|json]     print the outbound connections table
  provision NAME            provision an outbound connection
  sync NAME                 sync an outbound connection now
  teardown NAME             tear an outbound connection down
  explain URL               what callgate would do with a request to URL, and
                            why, without sending it
  whoami [--config FILE]    print the AWS principal an endpoint service owner
                            must allow-list
  version                   print the version

status, provision, sync, teardown and explain take --admin URL (default
http://127.0.0.1:9090, or $CALLGATE_ADMIN) and --token-file FILE (or
$CALLGATE_ADMIN_TOKEN_FILE).

'callgate <command> --help' (or 'callgate help <command>') shows a command's
arguments, flags and environment variables.
`

// runners are the subcommands; each parses its own arguments.
var runners = map[string]func(args []string, stdout, stderr io.Writer) int{
	"serve":        runServe,
	"demo":         runDemo,
	"check-config": runCheckConfig,
	"status":       runStatus,
	"provision":    func(a []string, o, e io.Writer) int { return runAction("provision", a, o, e) },
	"sync":         func(a []string, o, e io.Writer) int { return runAction("sync", a, o, e) },
	"teardown":     func(a []string, o, e io.Writer) int { return runAction("teardown", a, o, e) },
	"explain":      runExplain,
	"whoami":       runWhoami,
	"version":      runVersion,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "--version":
		cmd = "version"
	case "help", "-h", "--help":
		if len(rest) == 1 && runners[rest[0]] != nil {
			return runners[rest[0]]([]string{"--help"}, stdout, stderr)
		}
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "callgate help: no command %q\n\n%s", rest[0], usage)
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	if r := runners[cmd]; r != nil {
		return r(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "callgate: unknown command %q\n\n%s", cmd, usage)
	return 2
}

var versionCmd = &command{name: "version", about: "Print callgate's version."}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if _, code, ok := versionCmd.parse(fs, args, stdout, stderr); !ok {
		return code
	}
	fmt.Fprintln(stdout, "callgate", version)
	return 0
}
