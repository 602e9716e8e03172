package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/callgate/callgate/connstate"
)

// adminClient talks to a running callgate's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func adminFlags(fs *flag.FlagSet) (admin, tokenFile *string) {
	def := os.Getenv("CALLGATE_ADMIN")
	if def == "" {
		def = "http://127.0.0.1:9090"
	}
	admin = fs.String("admin", def, "admin API base `URL`")
	tokenFile = fs.String("token-file", os.Getenv("CALLGATE_ADMIN_TOKEN_FILE"), "`FILE` holding the admin bearer token (admin.token_file)")
	return admin, tokenFile
}

func newAdminClient(base, tokenFile string) (*adminClient, error) {
	c := &adminClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// do sends a request and decodes a JSON answer into out; a non-2xx answer
// becomes an error carrying the API's message.
func (c *adminClient) do(method, path string, out any) error {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("admin API %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s (HTTP %d %s)", e.Message, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("admin API %s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("admin API %s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

// connectionArg is the NAME the connection actions take.
var connectionArg = argument{"NAME", "the name of an outbound connection, as callgate status lists them"}

// actionCmds are the admin API's connection actions.
var actionCmds = map[string]*command{
	"provision": {name: "provision", args: []argument{connectionArg}, env: adminEnv, about: `Provision the outbound connection NAME through a running callgate's admin
API: create (or adopt) its VPC endpoint. Allowed while it is Unprovisioned.
Prints the connection's row.`},
	"sync": {name: "sync", args: []argument{connectionArg}, env: adminEnv, about: `Poll AWS for the outbound connection NAME now, through a running callgate's
admin API, instead of waiting for the next sync.interval. Allowed once it is
provisioned. Prints the connection's row.`},
	"teardown": {name: "teardown", args: []argument{connectionArg}, env: adminEnv, about: `Tear the outbound connection NAME down through a running callgate's admin
API: delete the VPC endpoint callgate created (an adopted one is left as it
is). Allowed once it is provisioned; its traffic is refused from then on.
Prints the connection's row.`},
}

func runAction(action string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(action, flag.ContinueOnError)
	admin, tokenFile := adminFlags(fs)
	pos, code, ok := actionCmds[action].parse(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	name := pos[0]
	c, err := newAdminClient(*admin, *tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "callgate %s: %v\n", action, err)
		return 1
	}
	var v connstate.View
	if err := c.do(http.MethodPost, "/v1/connections/"+pathEscape(name)+"/"+action, &v); err != nil {
		fmt.Fprintf(stderr, "callgate %s %s: %v\n", action, name, err)
		return 1
	}
	printConnections(stdout, []connstate.View{v}, time.Now())
	return 0
}

func pathEscape(s string) string { return url.PathEscape(s) }
