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
	"text/tabwriter"
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
	admin = fs.String("admin", def, "admin API base URL")
	tokenFile = fs.String("token-file", os.Getenv("CALLGATE_ADMIN_TOKEN_FILE"), "file holding the admin bearer token")
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

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin, tokenFile := adminFlags(fs)
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := fs.Parse(args); err != nil {
		return 2
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
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(views)
		return 0
	}
	printConnections(stdout, views, time.Now())
	return 0
}

// printConnections renders the table like the Outbound Connections list.
func printConnections(w io.Writer, views []connstate.View, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tENDPOINT\tREADY SINCE\tWARM AT\tLAST SYNC\tLAST ERROR")
	for _, v := range views {
		endpoint := v.VpcEndpointID
		if v.EndpointDNS != "" {
			endpoint += " (" + v.EndpointDNS + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Status, dash(endpoint),
			stamp(v.ReadySince), warmAt(v.WarmAt, now), stamp(v.LastSync), dash(v.LastError))
	}
	_ = tw.Flush()
}

func warmAt(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if t.After(now) {
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second))
	}
	return t.UTC().Format(time.RFC3339)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runAction(action string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin, tokenFile := adminFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Accept flags after the name too (`teardown NAME --admin URL`): flag
	// stops at the first argument that is not a flag.
	name := fs.Arg(0)
	if fs.NArg() >= 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if name == "" || fs.NArg() != 0 {
		fmt.Fprintf(stderr, "usage: callgate %s [--admin URL] NAME\n", action)
		return 2
	}
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
