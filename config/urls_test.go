package config

import (
	"fmt"
	"strings"
	"testing"
)

// urlTestPassword is the password each URL below carries: no error may
// quote it, since config errors reach reload logs and the admin API.
const urlTestPassword = "s3cr3tpw"

// urlKeyConfig puts v in one URL-valued key of an otherwise valid config.
func urlKeyConfig(key, v string) string {
	cred, token, endpoint, acme := "https://orders.example/v1", "https://login.example/token", "", ""
	switch key {
	case "url":
		cred = v
	case "token_url":
		token = v
	case "endpoint_url":
		endpoint = fmt.Sprintf("  endpoint_url: %q\n", v)
	case "ca":
		acme = fmt.Sprintf("tls:\n  listeners: [admin]\n  acme:\n    domains: [callgate.example]\n    ca: %q\n", v)
	}
	return fmt.Sprintf(`aws:
  mode: simulated
%s%soutbound_connections:
  - name: orders
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
named_credentials:
  - name: Orders
    url: %q
    outbound_network_connection: orders
    auth:
      oauth2_client_credentials:
        token_url: %q
        client_id: callgate
        client_secret_env: CLIENT_SECRET
`, endpoint, acme, cred, token)
}

// TestURLErrorsNeverQuoteUserinfo: a URL with userinfo in any URL-valued
// key is refused, and no error, for it or for anything else wrong with
// the URL, quotes the password.
func TestURLErrorsNeverQuoteUserinfo(t *testing.T) {
	keys := map[string]string{
		"url":          "named_credentials[0].url",
		"token_url":    "named_credentials[0].auth.oauth2_client_credentials.token_url",
		"endpoint_url": "aws.endpoint_url",
		"ca":           "tls.acme.ca",
	}
	urls := map[string]string{
		"userinfo":      "https://user:" + urlTestPassword + "@api.example/v1",
		"token as user": "https://" + urlTestPassword + "@api.example/v1",
		"bad scheme":    "ftp://user:" + urlTestPassword + "@api.example/v1",
		"unparsable":    "https://user:" + urlTestPassword + "@api example/v1",
		"bad port":      "https://user:" + urlTestPassword + "@api.example:x/v1",
		"no scheme":     "user:" + urlTestPassword + "@api.example/v1",
		"ip literal":    "https://user:" + urlTestPassword + "@10.0.0.1/v1",
	}
	for short, key := range keys {
		for what, v := range urls {
			t.Run(short+"/"+what, func(t *testing.T) {
				_, err := Parse("cg.yaml", []byte(urlKeyConfig(short, v)))
				if err == nil {
					t.Fatal("the config was accepted")
				}
				if strings.Contains(err.Error(), urlTestPassword) {
					t.Errorf("the error quotes the password:\n%v", err)
				}
				found := false
				for _, e := range splitErrors(t, err) {
					found = found || e.Key == key
				}
				if !found {
					t.Errorf("no error names %s:\n%v", key, err)
				}
			})
		}
	}
}

// TestURLUserinfoRefused: the message says where secrets belong, and
// names the line and key.
func TestURLUserinfoRefused(t *testing.T) {
	_, err := Parse("cg.yaml", []byte(urlKeyConfig("url", "https://user:"+urlTestPassword+"@api.example/v1")))
	if err == nil {
		t.Fatal("the config was accepted")
	}
	want := "config cg.yaml:8: named_credentials[0].url: "
	for _, e := range splitErrors(t, err) {
		if s := e.Error(); strings.HasPrefix(s, want) && strings.Contains(s, "must not contain userinfo") {
			return
		}
	}
	t.Errorf("no %q...must not contain userinfo error:\n%v", want, err)
}

// TestTypeErrorNeverQuotesUserinfo: a URL written where another type
// belongs is quoted in the type error, masked.
func TestTypeErrorNeverQuotesUserinfo(t *testing.T) {
	for _, doc := range []string{
		"warmup: https://user:" + urlTestPassword + "@api.example/v1\n",
		"listen: {proxy: [https://user:" + urlTestPassword + "@api.example/v1]}\n",
		"sync: {interval: \"user:" + urlTestPassword + "@api.example\"}\n",
	} {
		_, err := Parse("cg.yaml", []byte(doc))
		if err == nil {
			t.Fatalf("%q was accepted", doc)
		}
		if strings.Contains(err.Error(), urlTestPassword) {
			t.Errorf("the error quotes the password:\n%v", err)
		}
	}
}

// TestAddressErrorNeverQuotesUserinfo: a URL pasted where host:port
// belongs is quoted masked.
func TestAddressErrorNeverQuotesUserinfo(t *testing.T) {
	for _, doc := range []string{
		"listen: {proxy: \"https://user:" + urlTestPassword + "@api.example:443\"}\n",
		"aws:\n  simulated:\n    services:\n      com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0: \"https://user:" + urlTestPassword + "@api.example:443\"\n",
	} {
		_, err := Parse("cg.yaml", []byte(doc))
		if err == nil {
			t.Fatalf("%q was accepted", doc)
		}
		if strings.Contains(err.Error(), urlTestPassword) || !strings.Contains(err.Error(), "want host:port") {
			t.Errorf("%v", err)
		}
	}
}
