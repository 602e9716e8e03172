package config

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/routing"
)

// want is one expected problem, written in a fixture as
// "# want: LINE KEY MESSAGE" (KEY "-" for none, LINE 0 for none).
type want struct {
	line int
	key  string
	msg  string
}

func readWants(t *testing.T, path string) []want {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []want
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "# want: ")
		if !ok {
			continue
		}
		parts := strings.SplitN(rest, " ", 3)
		if len(parts) != 3 {
			t.Fatalf("%s: bad want line %q", path, sc.Text())
		}
		line, err := strconv.Atoi(parts[0])
		if err != nil {
			t.Fatalf("%s: bad want line %q", path, sc.Text())
		}
		key := parts[1]
		if key == "-" {
			key = ""
		}
		out = append(out, want{line: line, key: key, msg: parts[2]})
	}
	if len(out) == 0 {
		t.Fatalf("%s has no '# want:' line", path)
	}
	return out
}

// splitErrors returns the *Errors joined in err, failing on anything else.
func splitErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]*Error, 0, len(list))
	for _, e := range list {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d invalid fixtures", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wants := readWants(t, file)
			cfg, err := Load(file)
			if err == nil {
				t.Fatalf("Load succeeded, want %d errors", len(wants))
			}
			if cfg != nil {
				t.Errorf("Load returned a config together with errors")
			}
			got := splitErrors(t, err)
			// The password fixtures put in URLs: no error may quote it.
			if strings.Contains(err.Error(), urlTestPassword) {
				t.Errorf("an error quotes a URL's password")
			}
			for _, w := range wants {
				prefix := "config " + file
				if w.line > 0 {
					prefix += ":" + strconv.Itoa(w.line)
				}
				prefix += ": "
				if w.key != "" {
					prefix += w.key + ": "
				}
				found := false
				for _, e := range got {
					s := e.Error()
					if e.Line == w.line && e.Key == w.key && strings.HasPrefix(s, prefix) && strings.Contains(s, w.msg) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("missing error %q ... %q", prefix, w.msg)
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d errors, want %d", len(got), len(wants))
			}
			if t.Failed() {
				t.Logf("all errors:\n%v", err)
			}
		})
	}
}

func TestParseReportsAllErrors(t *testing.T) {
	_, err := Load("testdata/invalid-many.yaml")
	if err == nil {
		t.Fatal("Load succeeded")
	}
	got := splitErrors(t, err)
	if len(got) < 9 {
		t.Fatalf("got %d errors, want at least 9:\n%v", len(got), err)
	}
	for _, kind := range []error{ErrType, ErrUnknownKey, ErrInvalid, ErrDuplicate, ErrReference, ErrMissing} {
		if !errors.Is(err, kind) {
			t.Errorf("errors.Is(err, %v) = false", kind)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Line < got[i-1].Line {
			t.Errorf("errors not in line order: %d after %d", got[i].Line, got[i-1].Line)
		}
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(got) {
		t.Errorf("error text has %d lines for %d errors", lines, len(got))
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-config.yaml")
	if !errors.Is(err, ErrFile) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrFile and fs.ErrNotExist", err)
	}
	if !strings.HasPrefix(err.Error(), "config testdata/no-such-config.yaml: ") {
		t.Errorf("err = %q", err)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:   "testdata/valid-minimal.yaml",
		Hash:   cfg.Hash,
		Listen: Listen{Proxy: "127.0.0.1:3128", Admin: "127.0.0.1:9090"},
		Warmup: 5 * time.Minute,
		Sync:   Sync{Interval: 30 * time.Second},
		AWS: AWS{Mode: "simulated", Region: "us-east-1", Simulated: Simulated{
			Acceptance: "auto",
			Delays:     SimulatedDelays{Allocating: time.Second, PendingAcceptance: 2 * time.Second, Pending: 2 * time.Second, Deleting: time.Second},
		}},
		Timeouts: Timeouts{
			HeaderRead: 10 * time.Second, Dial: 10 * time.Second, TLSHandshake: 10 * time.Second,
			ResponseHeader: 30 * time.Second, IdleTunnel: 5 * time.Minute, IdleConn: 90 * time.Second,
		},
		Engine: EngineFast,
		Limits: Limits{MaxHeaderBytes: 65536, MaxResponseHeaderBytes: 65536},
		ProxyAuth: ProxyAuth{Realm: "callgate", BcryptWait: time.Second, Throttle: AuthThrottle{
			PerSource: FailureRate{FailuresPerSecond: 1, Burst: 10},
			PerUser:   FailureRate{FailuresPerSecond: 5, Burst: 30},
		}},
		Shutdown:         Shutdown{Drain: 30 * time.Second},
		Probe:            Probe{Interval: 5 * time.Minute, Concurrency: 4},
		Connections:      []connstate.Connection{},
		NamedCredentials: []NamedCredential{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *cfg, *want)
	}
	if cfg.TLS.Enabled(ListenerProxy) || cfg.TLS.Enabled(ListenerAdmin) {
		t.Error("TLS enabled by default")
	}
}

// TestNullSectionsKeepDefaults: "timeouts:" with nothing under it is YAML
// null, which must not zero the section.
func TestNullSectionsKeepDefaults(t *testing.T) {
	cfg, err := Parse("null.yaml", []byte("listen:\ntimeouts: ~\naws:\n  simulated:\nwarmup:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.Proxy != DefaultProxyListen || cfg.Timeouts.Dial != 10*time.Second ||
		cfg.AWS.Simulated.Delays.Pending != 2*time.Second || cfg.Warmup != DefaultWarmup {
		t.Errorf("null sections lost defaults: %+v", *cfg)
	}
}

func TestValidFull(t *testing.T) {
	const file = "testdata/valid-full.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if cfg.File != file || cfg.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("File, Hash = %q, %q", cfg.File, cfg.Hash)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
		}
	}
	check("Listen", cfg.Listen, Listen{Proxy: "127.0.0.1:13128", Admin: "[::1]:19090", Names: []string{"callgate.egress.svc", "callgate:3128"}})
	check("Engine", cfg.Engine, EngineStdlib)
	check("Warmup", cfg.Warmup, time.Duration(0))
	check("Sync", cfg.Sync, Sync{Interval: time.Minute})
	check("AWS", cfg.AWS, AWS{
		Mode: "aws", Region: "eu-west-1", EndpointURL: "http://127.0.0.1:5000", VpcID: "vpc-0123456789abcdef0",
		SubnetIDs: []string{"subnet-0abc", "subnet-0def"}, SecurityGroupIDs: []string{"sg-0123"},
		Regions: map[string]Network{"eu-central-1": {
			VpcID: "vpc-0fedcba9876543210", SubnetIDs: []string{"subnet-0c1"}, SecurityGroupIDs: []string{"sg-0c1", "sg-0c2"},
		}},
		Simulated: Simulated{
			Acceptance: "manual",
			Delays:     SimulatedDelays{Allocating: 0, PendingAcceptance: 3 * time.Second, Pending: 4 * time.Second, Deleting: 5 * time.Second},
			Services:   map[string]string{"com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0": "127.0.0.1:9443"},
		},
	})
	check("Resolve", cfg.Resolve, map[string]string{
		"vpce-0123.example.internal": "127.0.0.1", "*.vpce-svc-0123456789abcdef0.example": "::1",
	})
	check("TLS", cfg.TLS, ListenerTLS{Listeners: []string{"proxy", "admin"}, CertFile: "testdata/listener.pem", KeyFile: "testdata/listener.key"})
	if !cfg.TLS.Enabled("proxy") || !cfg.TLS.Enabled("admin") || cfg.TLS.Enabled("other") {
		t.Error("TLS.Enabled")
	}
	check("Timeouts", cfg.Timeouts, Timeouts{
		HeaderRead: time.Second, Dial: 2 * time.Second, TLSHandshake: 3 * time.Second,
		ResponseHeader: 4 * time.Second, IdleTunnel: 5 * time.Second, IdleConn: 6 * time.Second,
	})
	check("Limits", cfg.Limits, Limits{
		MaxHeaderBytes: 8192, MaxResponseHeaderBytes: 16384, MaxTunnels: 1000, MaxRequests: 2000,
		PerCredential: CredentialLimits{MaxTunnels: 100, MaxRequests: 200},
		ClientRate:    Rate{RequestsPerSecond: 50.5, Burst: 100},
	})
	check("ProxyAuth", cfg.ProxyAuth, ProxyAuth{Required: true, Realm: "egress", BcryptWait: 250 * time.Millisecond, Throttle: AuthThrottle{
		PerSource: FailureRate{FailuresPerSecond: 0.5, Burst: 4},
		PerUser:   FailureRate{FailuresPerSecond: 2, Burst: 12},
	}})
	checkValidClients(t, cfg.Clients)
	check("Admin", cfg.Admin, Admin{TokenFile: "testdata/secrets/admin-token", ProtectReads: true, Hosts: []string{
		"callgate-admin.egress.svc", "callgate-admin.egress.svc:8443", "[fd00::5]:9090", "[fd00::6]", "10.0.0.5",
	}})
	check("Shutdown", cfg.Shutdown, Shutdown{Drain: 7 * time.Second, ReadyDelay: 8 * time.Second})
	check("Probe", cfg.Probe, Probe{Interval: 90 * time.Second, Concurrency: 2})
	check("Connections", cfg.Connections, []connstate.Connection{
		{
			Name: "partner_orders", Description: "Orders API over PrivateLink", Type: "AwsPrivateLink",
			ServiceName: "com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0", Region: "eu-central-1",
			Provision: true, VpcEndpointID: "vpce-0123456789abcdef0",
		},
		{Name: "s3-gateway", Type: "AwsPrivateLink", ServiceName: "com.amazonaws.eu-west-1.s3", Region: "eu-west-1"},
	})

	if len(cfg.NamedCredentials) != 9 {
		t.Fatalf("%d named credentials, want 9", len(cfg.NamedCredentials))
	}
	byName := make(map[string]NamedCredential)
	for _, nc := range cfg.NamedCredentials {
		byName[nc.Name] = nc
	}
	po := byName["PartnerOrders"]
	check("PartnerOrders", []string{po.URL, po.Connection, po.CAFile, po.ClientCertFile, po.ClientKeyFile},
		[]string{"https://api.partner.example:8443/v1/", "partner_orders", "testdata/ca.pem", "testdata/client.pem", "testdata/client.key"})
	if po.TLS == nil || po.TLS.RootCAs == nil || len(po.TLS.Certificates) != 1 || po.TLS.MinVersion != tls.VersionTLS12 {
		t.Errorf("PartnerOrders TLS = %+v, want roots, one client certificate, TLS 1.2", po.TLS)
	}
	check("PartnerOrders auth", po.Auth, credauth.Spec{
		Basic:                   &credauth.BasicSpec{Username: "svc", Password: credauth.Secret{File: "testdata/secrets/password"}},
		PassClientAuthorization: true,
	})
	check("BasicEnv auth", byName["BasicEnv"].Auth, credauth.Spec{
		Basic: &credauth.BasicSpec{Username: "svc", Password: credauth.Secret{Env: "PARTNER_PASSWORD"}},
	})
	if b := byName["Bearer"]; b.TLS == nil || b.TLS.RootCAs == nil || len(b.TLS.Certificates) != 0 {
		t.Errorf("Bearer TLS = %+v, want roots only", b.TLS)
	}
	if b := byName["BasicEnv"]; b.TLS != nil {
		t.Errorf("BasicEnv TLS = %+v, want nil (system roots)", b.TLS)
	}
	check("Bearer auth", byName["Bearer"].Auth, credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: "testdata/secrets/token"}}})
	check("BearerEnv auth", byName["BearerEnv"].Auth, credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{Env: "PARTNER_TOKEN"}}})
	check("Headers auth", byName["Headers"].Auth, credauth.Spec{Headers: []credauth.HeaderSpec{
		{Name: "X-Api-Key", Secret: &credauth.Secret{File: "testdata/secrets/header"}},
		{Name: "X-Tenant", Value: "acme"},
		{Name: "X-Signature", Secret: &credauth.Secret{Env: "PARTNER_SIGNATURE"}},
	}})
	check("OAuth auth", byName["OAuth"].Auth, credauth.Spec{OAuth2: &credauth.OAuth2Spec{
		TokenURL: "https://login.partner.example/oauth2/token", ClientID: "callgate",
		ClientSecret: credauth.Secret{File: "testdata/secrets/client-secret"},
		Scopes:       []string{"orders.read", "orders.write"}, Audience: "https://api.partner.example",
		EarlyExpiry: 30 * time.Second,
	}})
	check("OAuthEnv auth", byName["OAuthEnv"].Auth, credauth.Spec{OAuth2: &credauth.OAuth2Spec{
		TokenURL: "https://login.partner.example/oauth2/token", ClientID: "callgate",
		ClientSecret: credauth.Secret{Env: "PARTNER_CLIENT_SECRET"},
	}})
	// aws_sigv4.region defaults to the region of the credential's connection.
	check("SigV4 auth", byName["SigV4"].Auth, credauth.Spec{SigV4: &credauth.SigV4Spec{
		Service: "execute-api", Region: "eu-central-1", RoleARN: "arn:aws:iam::123456789012:role/callgate-invoke",
	}})
	check("SigV4Region auth", byName["SigV4Region"].Auth, credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "lambda", Region: "us-west-2", UnsignedPayload: true}})

	// What the config accepts, routing must accept too.
	table, err := routing.Compile(cfg.RoutingCredentials())
	if err != nil {
		t.Fatalf("routing.Compile: %v", err)
	}
	if d := table.Lookup("api.partner.example", 8443); d == nil || d.Name != "PartnerOrders" || d.BasePath != "/v1" {
		t.Errorf("routing lookup = %+v", d)
	}
	if _, err := routing.CompileOverrides(cfg.Resolve); err != nil {
		t.Errorf("routing.CompileOverrides: %v", err)
	}
}

func TestValidACME(t *testing.T) {
	cfg, err := Load("testdata/valid-acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := ListenerTLS{Listeners: []string{"proxy"}, ACME: &ACME{
		CA: "https://127.0.0.1:14000/dir", Email: "ops@callgate.example",
		Domains:    []string{"callgate.example", "proxy.callgate.example"},
		CARootFile: "testdata/ca.pem", StorageDir: "/var/lib/callgate/acme",
		ListenHost: "127.0.0.1", HTTPPort: 8080, TLSALPNPort: 8443,
	}}
	if !reflect.DeepEqual(cfg.TLS, want) {
		t.Errorf("TLS = %+v (ACME %+v), want %+v", cfg.TLS, cfg.TLS.ACME, want)
	}
	if !cfg.TLS.Enabled("proxy") || cfg.TLS.Enabled("admin") {
		t.Error("TLS.Enabled")
	}
}

// TestValidFilesUseEveryKey keeps the valid fixtures complete: a key added
// to the YAML structs must be added to a fixture (and so be decoded once).
func TestValidFilesUseEveryKey(t *testing.T) {
	used := make(map[string]bool)
	for _, file := range []string{"testdata/valid-full.yaml", "testdata/valid-acme.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		c := &compiler{file: file, dir: filepath.Dir(file)}
		if _, ok := c.decode(data); !ok || len(c.errs) > 0 {
			t.Fatalf("%s: %v", file, c.err())
		}
		c.ix.build()
		for _, e := range c.ix.entries {
			if p := genericPath(e.path); !strings.HasSuffix(p, "[]") {
				used[p] = true
			}
		}
	}
	for _, k := range yamlKeys() {
		if !used[k] {
			t.Errorf("key %s is in no valid-*.yaml fixture", k)
		}
	}
}

func TestRoutingCredentialsIsACopy(t *testing.T) {
	cfg, err := Load("testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	creds := cfg.RoutingCredentials()
	creds[0].Name = "changed"
	if cfg.NamedCredentials[0].Name != "PartnerOrders" {
		t.Error("RoutingCredentials shares its slice with the config")
	}
}

func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(filepath.Join(dir, "cg.yaml"), []byte("admin: {token_file: token}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "token"); cfg.Admin.TokenFile != want {
		t.Errorf("TokenFile = %q, want %q", cfg.Admin.TokenFile, want)
	}
}

func TestParentPath(t *testing.T) {
	for in, want := range map[string]string{
		"a":                      "",
		"a.b":                    "a",
		"a.b[2]":                 "a.b",
		"a[0].b":                 "a[0]",
		`resolve["x.y[1]"]`:      "resolve",
		`m["a\"b.c"].d`:          `m["a\"b.c"]`,
		`aws.simulated.services`: "aws.simulated",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSyntaxErrorLines: yaml.v3 reports some parse errors one line early
// or at the enclosing construct; the reported line is where the file
// stops being valid.
func TestSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		line int
	}{
		{"warmup: 1m\nlisten:\n  proxy: [1\nsync: {}\n", 3},
		{"warmup: 1m\nlisten:\n  - x\n  y: 2\n", 4},
		{"listen:\n  proxy: a\n admin: b\n", 3},
		{"warmup: 1m\nsync: a: b\n", 2},
		{"warmup: 1m\n\tsync: {}\n", 2},
	} {
		_, err := Parse("s.yaml", []byte(tc.yaml))
		got := splitErrors(t, err)
		if len(got) != 1 || got[0].Line != tc.line || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: got %v, want one syntax error on line %d", tc.yaml, err, tc.line)
		}
	}
}

func TestNotOneMappingDocument(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n", "just a string\n", "- a\n- b\n", "warmup: 1m\n---\nwarmup: 2m\n"} {
		_, err := Parse("d.yaml", []byte(doc))
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrType) {
			t.Errorf("%q: err = %v, want a syntax or type error", doc, err)
		}
	}
	// A document that is not a mapping is reported at its line, a null one
	// (which the decoder hands no unmarshaler) included.
	for doc, line := range map[string]int{"~\n": 1, "# c\n\nnull\n": 3, "# c\njust a string\n": 2, "\n- a\n": 2} {
		_, err := Parse("d.yaml", []byte(doc))
		if got := splitErrors(t, err); len(got) != 1 || got[0].Line != line || !errors.Is(err, ErrType) {
			t.Errorf("%q: err = %v, want a type error on line %d", doc, err, line)
		}
	}
}

// TestHostileInputStaysBounded: a file with thousands of problems, or an
// alias bomb, yields a bounded report.
func TestHostileInputStaysBounded(t *testing.T) {
	var many strings.Builder
	many.WriteString("named_credentials:\n")
	for i := 0; i < 3000; i++ {
		many.WriteString("  - {nme: a, url: ftp://x}\n")
	}
	_, err := Parse("many.yaml", []byte(many.String()))
	got := splitErrors(t, err)
	if len(got) != maxErrors+1 || !strings.Contains(got[maxErrors].Msg, "more problems not shown") {
		t.Errorf("got %d errors, last %v; want %d and a summary", len(got), got[len(got)-1], maxErrors+1)
	}

	bomb := "x: &a {bad: 1}\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\noutbound_connections: *c\n"
	_, err = Parse("bomb.yaml", []byte(bomb))
	if got := splitErrors(t, err); len(got) > 10 {
		t.Errorf("alias bomb: %d errors, want the repeats folded:\n%v", len(got), err)
	}
}

// TestAnchorsAndMergeKeys: YAML anchors, aliases and merge keys decode
// like the same text written out.
func TestAnchorsAndMergeKeys(t *testing.T) {
	const doc = `
aws:
  mode: aws
  vpc_id: vpc-0abc
  subnet_ids: &ids [subnet-0abc, subnet-0def]
  security_group_ids: [sg-0abc]
outbound_connections:
  - &conn
    name: orders
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
    provision: true
  - <<: *conn
    name: billing
named_credentials:
  - name: Orders
    url: https://orders.example
    outbound_network_connection: orders
    auth: &auth {bearer: {token_env: TOKEN}}
  - name: Billing
    url: https://billing.example
    outbound_network_connection: billing
    auth: *auth
`
	cfg, err := Parse("anchors.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) != 2 || cfg.Connections[1].Name != "billing" || !cfg.Connections[1].Provision ||
		cfg.Connections[1].ServiceName != cfg.Connections[0].ServiceName {
		t.Errorf("merge key: %+v", cfg.Connections)
	}
	if len(cfg.AWS.SubnetIDs) != 2 {
		t.Errorf("SubnetIDs = %v", cfg.AWS.SubnetIDs)
	}
	if b := cfg.NamedCredentials[1].Auth.Bearer; b == nil || b.Token.Env != "TOKEN" {
		t.Errorf("alias auth: %+v", cfg.NamedCredentials[1].Auth)
	}
	_, err = Parse("anchors.yaml", []byte("aws: {subnet_ids: &ids [subnet-0abc, bad], security_group_ids: *ids}\n"))
	got := splitErrors(t, err)
	if len(got) != 3 {
		t.Fatalf("got %v, want 3 errors", err)
	}
	for _, e := range got {
		if e.Line != 1 {
			t.Errorf("%v: want line 1", e)
		}
	}
}

func TestMultilineValuesInTypeErrors(t *testing.T) {
	_, err := Parse("m.yaml", []byte("warmup: \"5\\nminutes\"\nlisten:\n  \"pro\\nxy\": x\n"))
	got := splitErrors(t, err)
	if len(got) != 2 || got[0].Key != "warmup" || got[0].Line != 1 || got[1].Key != `listen["pro\nxy"]` || got[1].Line != 3 {
		t.Errorf("got %q", err)
	}
}
