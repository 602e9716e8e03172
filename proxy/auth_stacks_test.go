package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/testclient"
)

// oddUser's password needs percent-encoding in a proxy URL.
const (
	oddUser = "app4"
	oddPass = "p@ss:w/rd%1"
)

// TestProxyAuthClientStacks measures what docs/operations.md ("Proxy
// authentication by client stack") says: for each real client stack,
// whether Basic credentials in the proxy URL (percent-encoded where the
// password needs it) and a bearer proxy token reach callgate on CONNECT
// and on the absolute form, and how the callout form is authenticated.
func TestProxyAuthClientStacks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real clients")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true},
		access.Client{Name: "odd", Username: oddUser, Password: []byte(oddPass), Permit: []string{"Plain", "Partner"}}), access.Limits{})
	_, port, _ := strings.Cut(e.addr, ":")
	withUser := func(user, pass string) string {
		return "http://" + url.UserPassword(user, pass).String() + "@127.0.0.1:" + port
	}
	httpsTarget := fmt.Sprintf("https://%s:%d/v1/x", partnerHost, e.good.port)
	httpTarget := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)

	t.Run("curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Fatal("curl is required (.ci/run installs it)")
		}
		// %{http_connect} is the CONNECT's answer, %{http_code} the
		// request's.
		code := func(args ...string) string {
			out, _ := exec.Command(curl, append([]string{"-s", "-o", "/dev/null", "-w", "%{http_connect} %{http_code}", "--cacert", e.caFile}, args...)...).Output()
			return string(out)
		}
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"basic CONNECT", []string{"-x", withUser(oddUser, oddPass), httpsTarget}, "200 200"},
			{"basic absolute", []string{"-x", withUser(oddUser, oddPass), httpTarget}, "000 200"},
			// The bearer client may use Plain, an http upstream: the CONNECT
			// is accepted (200), then TLS to it fails (000).
			{"bearer CONNECT", []string{"-x", "http://" + e.addr, "--proxy-header", "Proxy-Authorization: Bearer " + testclient.BearerToken, fmt.Sprintf("https://plain.partner.example:%d/", e.plain.port)}, "200 000"},
			{"no credentials CONNECT", []string{"-x", "http://" + e.addr, httpsTarget}, "407 000"},
			{"bearer absolute", []string{"-x", "http://" + e.addr, "--proxy-header", "Proxy-Authorization: Bearer " + testclient.BearerToken, httpTarget}, "000 200"},
			{"callout with Proxy-Authorization", []string{"-H", "Proxy-Authorization: Bearer " + testclient.BearerToken, "http://" + e.addr + "/callout/Plain/x"}, "000 200"},
		} {
			if got := code(tc.args...); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
			}
		}
	})

	t.Run("python urllib", func(t *testing.T) {
		python, err := exec.LookPath("python3")
		if err != nil {
			t.Fatal("python3 is required")
		}
		script := `import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": sys.argv[1], "https": sys.argv[1]}), urllib.request.HTTPSHandler(context=ctx))
for u in sys.argv[2].split(","):
    try:
        print(opener.open(u, timeout=10).status)
    except Exception as e:
        print(getattr(e, "code", e))`
		out, err := exec.Command(python, "-c", script, withUser(oddUser, oddPass), httpsTarget+","+httpTarget, e.caFile).CombinedOutput()
		if err != nil || strings.Fields(string(out))[0] != "200" || strings.Fields(string(out))[1] != "200" {
			t.Errorf("urllib with Basic in the proxy URL (CONNECT, absolute): %v %s", err, out)
		}
	})

	t.Run("go net/http", func(t *testing.T) {
		pu, _ := url.Parse(withUser(oddUser, oddPass))
		tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()}}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for _, u := range []string{httpsTarget, httpTarget} {
			res, err := c.Get(u)
			if err != nil || res.StatusCode != 200 {
				t.Errorf("Basic in the proxy URL, %s: %v %v", u, err, res)
				continue
			}
			res.Body.Close()
		}
		// A bearer token: ProxyConnectHeader for CONNECT.
		bare, _ := url.Parse("http://" + e.addr)
		tr2 := &http.Transport{Proxy: http.ProxyURL(bare), TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()},
			ProxyConnectHeader: http.Header{"Proxy-Authorization": {"Bearer " + testclient.BearerToken}}}
		defer tr2.CloseIdleConnections()
		// bearer is permitted Plain and Slow; Slow's upstream is plain HTTP,
		// so the CONNECT is checked by its answer alone.
		res, err := (&http.Client{Transport: tr2, Timeout: 10 * time.Second}).Get(fmt.Sprintf("https://plain.partner.example:%d/", e.plain.port))
		// Accepted, the tunnel reaches the http upstream, where TLS fails.
		if err == nil {
			res.Body.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
			t.Errorf("bearer via ProxyConnectHeader: %v, want the tunnel opened and TLS failing at the http upstream", err)
		}
	})

	t.Run("java HttpClient", func(t *testing.T) {
		javac, err := exec.LookPath("javac")
		if err != nil {
			t.Skip("no JDK on this machine: docs/operations.md gives the Java results as measured with OpenJDK 17")
		}
		java, _ := exec.LookPath("java")
		dir := t.TempDir()
		src := `import java.net.*; import java.net.http.*;
public class P {
  public static void main(String[] a) throws Exception {
    HttpClient c = HttpClient.newBuilder()
      .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[0]))))
      .authenticator(new Authenticator() { protected PasswordAuthentication getPasswordAuthentication() {
        return new PasswordAuthentication(a[1], a[2].toCharArray()); } })
      .build();
    try { System.out.println(c.send(HttpRequest.newBuilder(URI.create(a[3])).build(), HttpResponse.BodyHandlers.discarding()).statusCode()); }
    catch (Exception e) { System.out.println(e.getMessage()); }
  }
}`
		if err := os.WriteFile(filepath.Join(dir, "P.java"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, javac, "-d", dir, filepath.Join(dir, "P.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v %s", err, out)
		}
		keytool, _ := exec.LookPath("keytool")
		store := filepath.Join(dir, "ca.p12")
		if out, err := exec.CommandContext(ctx, keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", e.caFile,
			"-keystore", store, "-storepass", "changeit", "-storetype", "PKCS12").CombinedOutput(); err != nil {
			t.Fatalf("keytool: %v %s", err, out)
		}
		run := func(target string, props ...string) string {
			args := append(props, "-Djavax.net.ssl.trustStore="+store, "-Djavax.net.ssl.trustStorePassword=changeit",
				"-cp", dir, "P", port, oddUser, oddPass, target)
			out, _ := exec.CommandContext(ctx, java, args...).CombinedOutput()
			return strings.TrimSpace(string(out))
		}
		// Absolute form: Basic is answered to the 407 challenge.
		if got := run(httpTarget); got != "200" {
			t.Errorf("java absolute form with an Authenticator: %q, want 200", got)
		}
		// CONNECT: Java leaves Basic out of tunnels unless told otherwise.
		if got := run(httpsTarget); got == "200" {
			t.Errorf("java CONNECT without jdk.http.auth.tunneling.disabledSchemes: %q; the docs say it fails", got)
		}
		if got := run(httpsTarget, "-Djdk.http.auth.tunneling.disabledSchemes="); got != "200" {
			t.Errorf("java CONNECT with jdk.http.auth.tunneling.disabledSchemes=: %q, want 200", got)
		}
	})
}
