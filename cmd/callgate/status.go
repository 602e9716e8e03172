package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/callgate/callgate/connstate"
)

var statusCmd = &command{
	name: "status",
	about: `Print the outbound connections of a running callgate (its admin API's
GET /v1/connections): a table that fits 100 columns, every field with
-o wide, or the API's JSON with -o json.`,
	env: adminEnv,
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	admin, tokenFile := adminFlags(fs)
	output := fs.String("o", "table", "output `FORMAT`: table, wide or json")
	asJSON := fs.Bool("json", false, "same as -o json")
	if _, code, ok := statusCmd.parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if *asJSON {
		*output = "json"
	}
	switch *output {
	case "table", "wide", "json":
	default:
		return statusCmd.usageError(stderr, "-o %q: want table, wide or json", *output)
	}
	c, err := newAdminClient(*admin, *tokenFile)
	if err != nil {
		fmt.Fprintln(stderr, "callgate status:", err)
		return 1
	}
	var views []connstate.View
	if err := c.do(http.MethodGet, "/v1/connections", &views); err != nil {
		fmt.Fprintln(stderr, "callgate status:", err)
		return 1
	}
	switch *output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(views)
	case "wide":
		printConnectionsWide(stdout, views, time.Now())
	default:
		printConnections(stdout, views, time.Now())
	}
	return 0
}
