// Command callgate is the egress callout gateway: `callgate serve` runs it;
// the other subcommands check a config or talk to a running instance's
// admin API.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: callgate <command> [flags]

commands:
  serve [--config FILE]     run the gateway (without --config: the embedded
                            simulated-AWS default)
  demo                      run the embedded default with a demo upstream and
                            show a call refused, warming up, then succeeding
  check-config FILE         validate a config file without starting
  status                    print the outbound connections table
  provision NAME            provision an outbound connection
  sync NAME                 sync an outbound connection now
  teardown NAME             tear an outbound connection down
  explain URL               what callgate would do with a request to URL, and
                            why, without sending it
  whoami [--config FILE]    print the AWS principal an endpoint service owner
                            must allow-list
  version                   print the version

status, provision, sync, teardown and explain take --admin URL (default
http://127.0.0.1:9090, or $CALLGATE_ADMIN) and --token-file FILE.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(rest, stdout, stderr)
	case "demo":
		return runDemo(rest, stdout, stderr)
	case "check-config":
		return runCheckConfig(rest, stdout, stderr)
	case "status":
		return runStatus(rest, stdout, stderr)
	case "provision", "sync", "teardown":
		return runAction(cmd, rest, stdout, stderr)
	case "whoami":
		return runWhoami(rest, stdout, stderr)
	case "explain":
		return runExplain(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "callgate", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "callgate: unknown command %q\n\n%s", cmd, usage)
	return 2
}
