package routing

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileAndLookup(t *testing.T) {
	tab, err := Compile([]Credential{
		{Name: "PartnerOrders", URL: "https://api.partner.example:8443/v1/", Connection: "partner"},
		{Name: "Partner443", URL: "https://API.partner.example.", Connection: "partner"},
		{Name: "Inventory", URL: "http://inventory.internal", Connection: "inv"},
		{Name: "Books", URL: "https://bücher.example/api", Connection: "books"},
		{Name: "V6", URL: "http://[2001:db8::1]:8080", Connection: "v6"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := tab.ByName("PartnerOrders")
	if d.Host != "api.partner.example" || d.Port != 8443 || d.Scheme != HTTPS || d.BasePath != "/v1" || d.HostPort != "api.partner.example:8443" {
		t.Fatalf("PartnerOrders = %+v", d)
	}
	if d.TLS.ServerName != "api.partner.example" {
		t.Fatalf("TLS ServerName = %q, want the credential host", d.TLS.ServerName)
	}
	lookups := []struct {
		host string
		port uint16
		want string
	}{
		{"api.partner.example", 8443, "PartnerOrders"},
		{"API.Partner.Example.", 8443, "PartnerOrders"},
		{"api.partner.example", 443, "Partner443"}, // https://h == https://h:443
		{"api.partner.example", 80, ""},
		{"inventory.internal", 80, "Inventory"},
		{"INVENTORY.internal.", 80, "Inventory"},
		{"bücher.example", 443, "Books"},
		{"xn--bcher-kva.example", 443, "Books"},
		{"unknown.example", 443, ""},
	}
	for _, l := range lookups {
		got, err := tab.LookupAuthority(l.host, l.port)
		if err != nil {
			t.Fatalf("LookupAuthority(%q, %d): %v", l.host, l.port, err)
		}
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != l.want {
			t.Errorf("LookupAuthority(%q, %d) = %q, want %q", l.host, l.port, name, l.want)
		}
	}
	// IP literals never match, in any spelling.
	for _, ip := range []string{"127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "169.254.169.254", "[2001:db8::1]", "127.1"} {
		if _, err := tab.LookupAuthority(ip, 443); !errors.Is(err, ErrIPLiteral) {
			t.Errorf("LookupAuthority(%q) error = %v, want ErrIPLiteral", ip, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile([]Credential{
		{Name: "A", URL: "https://h.example"},
		{Name: "B", URL: "https://H.EXAMPLE.:443/other"},
		{Name: "A", URL: "https://other.example"},
		{Name: "C", URL: "ftp://h.example"},
		{Name: "D", URL: "https://user:pw@h2.example"},
		{Name: "E", URL: "https://h3.example/?q=1"},
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`named credential "B": duplicate destination: h.example:443 is also named credential "A"`,
		`named credential "A": duplicate named credential name`,
		`named credential "C"`, `named credential "D"`, `named credential "E"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab, err := Compile([]Credential{{Name: "A", URL: "https://api.partner.example:8443", Connection: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"api.partner.example", "API.Partner.Example.", "unknown.example"} {
		allocs := testing.AllocsPerRun(1000, func() {
			_, _ = tab.LookupAuthority(host, 8443)
		})
		if allocs != 0 {
			t.Errorf("LookupAuthority(%q) allocates %v times", host, allocs)
		}
	}
}

func TestOverrides(t *testing.T) {
	o, err := CompileOverrides(map[string]string{
		"vpce-0123.example.internal":                "127.0.0.1",
		"*.vpce-svc-0123456789abcdef0.example":      "127.0.0.2",
		"*.deep.vpce-svc-0123456789abcdef0.example": "127.0.0.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"vpce-0123.example.internal":                "127.0.0.1",
		"a.vpce-svc-0123456789abcdef0.example":      "127.0.0.2",
		"x.deep.vpce-svc-0123456789abcdef0.example": "127.0.0.3",
		"vpce-svc-0123456789abcdef0.example":        "", // the wildcard covers names under it, not itself
		"other.example":                             "",
	} {
		got, ok := o.Lookup(name)
		if got != want || ok != (want != "") {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, err := CompileOverrides(map[string]string{"x.example": "not-an-ip"}); err == nil {
		t.Error("bad IP accepted")
	}
	if _, err := CompileOverrides(map[string]string{"127.0.0.1": "127.0.0.1"}); err == nil {
		t.Error("IP as a name accepted")
	}
}

// TestCompileUsesParsed: a Parsed destination from ParseDestination of the
// same URL gives the table that parsing gives; one parsed from another
// URL is ignored, and Compile never changes it.
func TestCompileUsesParsed(t *testing.T) {
	urls := []string{"https://api.partner.example:8443/v1/", "http://inventory.internal", "https://bücher.example/api"}
	plain := make([]Credential, len(urls))
	parsed := make([]Credential, len(urls))
	for i, u := range urls {
		plain[i] = Credential{Name: "C" + strings.Repeat("x", i), URL: u, Connection: "c"}
		d, err := ParseDestination(u)
		if err != nil {
			t.Fatal(err)
		}
		parsed[i] = plain[i]
		parsed[i].Parsed = d
	}
	a, errA := Compile(plain)
	b, errB := Compile(parsed)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for i := range urls {
		da, db := a.Destinations()[i], b.Destinations()[i]
		if db.TLS.ServerName != da.TLS.ServerName || db.TLS.MinVersion != da.TLS.MinVersion || db.Name != da.Name || db.Host != da.Host || db.Port != da.Port || db.HostPort != da.HostPort ||
			db.BasePath != da.BasePath || db.Scheme != da.Scheme || db.Connection != da.Connection || db.Index != da.Index {
			t.Errorf("%s: with Parsed %+v, without %+v", urls[i], db, da)
		}
		if db == parsed[i].Parsed || parsed[i].Parsed.Name != "" || parsed[i].Parsed.TLS != nil {
			t.Errorf("%s: Compile used or changed the Parsed destination itself", urls[i])
		}
	}
	// A Parsed destination of another URL is not trusted.
	other, _ := ParseDestination("https://other.example")
	tab, err := Compile([]Credential{{Name: "X", URL: "http://x.example", Connection: "c", Parsed: other}})
	if err != nil || tab.ByName("X").Host != "x.example" {
		t.Fatalf("stale Parsed used: %v %+v", err, tab.ByName("X"))
	}
	if _, err := Compile([]Credential{{Name: "Y", URL: "ftp://y", Connection: "c", Parsed: other}}); err == nil {
		t.Fatal("a bad URL passed with another URL's Parsed")
	}
}
