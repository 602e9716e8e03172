package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/certgen"
)

const demoHost = "api.partner.example"

var demoCmd = &command{
	name: "demo",
	about: `Run callgate on its embedded default (simulated AWS) with a demo HTTPS
upstream, and call /callout/PartnerOrders/orders once a second: refused while
the connection comes up, refused while it warms up, then answered. Then it
prints commands to try and serves until Ctrl-C (with --exit it stops at once).`,
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	proxyAddr := fs.String("proxy", "127.0.0.1:3128", "proxy listen `ADDRESS`")
	adminAddr := fs.String("admin", "127.0.0.1:9090", "admin listen `ADDRESS`")
	warmup := fs.Duration("warmup", 10*time.Second, "warm-up window of the demo connection")
	exit := fs.Bool("exit", false, "exit once the call succeeded instead of serving until Ctrl-C")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up if the call has not succeeded by then")
	if _, code, ok := demoCmd.parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if err := demo(*proxyAddr, *adminAddr, *warmup, *exit, *timeout, stdout); err != nil {
		fmt.Fprintln(stderr, "callgate demo:", err)
		return 1
	}
	return 0
}

func demo(proxyAddr, adminAddr string, warmup time.Duration, exit bool, timeout time.Duration, out io.Writer) error {
	dir, err := os.MkdirTemp("", "callgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	upstream, caFile, err := startDemoUpstream(dir)
	if err != nil {
		return err
	}
	defer upstream.Close()

	cfgPath := filepath.Join(dir, "callgate.yaml")
	cfg := strings.NewReplacer(
		"127.0.0.1:3128", proxyAddr,
		"127.0.0.1:9090", adminAddr,
		"warmup: 10s", "warmup: "+warmup.String(),
		"127.0.0.1:9443", upstream.Addr().String(),
	).Replace(string(defaultConfig)) + "    tls:\n      ca_file: " + caFile + "\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "callgate.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, _ := newLogger("info", "json", logFile)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := startServer(ctx, cfgPath, log, serverOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = s.Shutdown(context.Background()) }()

	fmt.Fprintf(out, "Outbound Connections page: http://%s/\n", s.AdminAddr())
	fmt.Fprintf(out, "callgate demo: simulated AWS, warm-up %s.\n", warmup)
	fmt.Fprintf(out, "  proxy  %s   admin %s   demo upstream %s (certificate for %s)\n\n", s.ProxyAddr(), s.AdminAddr(), upstream.Addr(), demoHost)
	url := "http://" + s.ProxyAddr() + "/callout/PartnerOrders/orders"
	fmt.Fprintf(out, "Calling %s once a second:\n", url)

	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	last := ""
	for {
		line, ok := demoCall(client, url)
		conn, _ := s.app.manager.Get("partner_orders")
		line = fmt.Sprintf("connection %-18s %s", conn.Status.String(), line)
		if line != last || ok {
			fmt.Fprintf(out, "  [%5.1fs] %s\n", time.Since(start).Seconds(), line)
			last = line
		}
		if ok {
			break
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("the call did not succeed within %s", timeout)
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(out, "\nThe call went through.\n")
	if exit {
		// The commands below would meet a closed port: callgate, the demo
		// upstream and the CA file go away with this return.
		fmt.Fprintf(out, "callgate stopped (--exit). To try the calls yourself, run the demo without --exit (make demo).\n")
		return nil
	}
	fmt.Fprintf(out, "Try it yourself, while this runs:\n")
	fmt.Fprintf(out, "  curl -s %s\n", url)
	fmt.Fprintf(out, "  curl -s http://%s/v1/connections\n", s.AdminAddr())
	fmt.Fprintf(out, "  curl -s -x http://%s --cacert %s https://%s:8443/v1/orders   # CONNECT tunnel\n", s.ProxyAddr(), caFile, demoHost)
	fmt.Fprintf(out, "  go run ./cmd/callgate status --admin http://%s\n", s.AdminAddr())
	fmt.Fprintf(out, "Serving until Ctrl-C (logs: %s).\n", logFile.Name())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// demoCall makes one callout and describes the answer in a line.
func demoCall(client *http.Client, url string) (string, bool) {
	resp, err := client.Get(url)
	if err != nil {
		return "error: " + err.Error(), false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return fmt.Sprintf("→ %d %s", resp.StatusCode, strings.TrimSpace(string(body))), true
	}
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	line := fmt.Sprintf("→ %d %s", resp.StatusCode, e.Error)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		line += " (Retry-After: " + ra + "s)"
	}
	return line, false
}

// startDemoUpstream serves the partner API over TLS with a certificate for
// demoHost from a CA it writes to dir.
func startDemoUpstream(dir string) (net.Listener, string, error) {
	ca, err := certgen.NewCA("callgate demo CA")
	if err != nil {
		return nil, "", err
	}
	leaf, err := ca.Server(demoHost)
	if err != nil {
		return nil, "", err
	}
	caFile := filepath.Join(dir, "demo-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"service":"partner orders","path":%q,"orders":[{"id":1,"item":"widget"}]}`+"\n", r.URL.Path)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          zap.NewStdLog(zap.NewNop()),
	}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12})
	go func() { _ = srv.Serve(tlsLn) }()
	return tlsLn, caFile, nil
}
