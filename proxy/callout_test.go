package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseCalloutPath(t *testing.T) {
	cases := []struct {
		in, name, rest string
		bad            bool
	}{
		{in: "/callout/Orders", name: "Orders", rest: ""},
		{in: "/callout/Orders/", name: "Orders", rest: "/"},
		{in: "/callout/Orders//", name: "Orders", rest: "/"},
		{in: "/callout/Orders/a/b", name: "Orders", rest: "/a/b"},
		{in: "/callout/Orders/a//b/", name: "Orders", rest: "/a/b/"},
		{in: "/callout/Orders/a%20b/%41", name: "Orders", rest: "/a%20b/%41"},
		{in: "/callout/Orders/v1:list@x;y=1", name: "Orders", rest: "/v1:list@x;y=1"},
		{in: "/callout/Orders/...", name: "Orders", rest: "/..."},
		{in: "/callout/Orders/..a", name: "Orders", rest: "/..a"},
		{in: "/callout/Orders/%252e%252e", name: "Orders", rest: "/%252e%252e"}, // decodes once to "%2e%2e": a literal name
		{in: "/callout/Or%64ers/x", name: "Orders", rest: "/x"},
		{in: "/callout/", bad: true},
		{in: "/callout//x", bad: true},
		{in: "/callout/../x", bad: true},
		{in: "/callout/%2e%2e/x", bad: true},
		{in: "/callout/Orders/..", bad: true},
		{in: "/callout/Orders/../Other", bad: true},
		{in: "/callout/Orders/./x", bad: true},
		{in: "/callout/Orders/%2e", bad: true},
		{in: "/callout/Orders/%2E%2e/x", bad: true},
		{in: "/callout/Orders/.%2e/x", bad: true},
		{in: "/callout/Orders/..;/x", bad: true},
		{in: "/callout/Orders/..;jsessionid=1/x", bad: true},
		{in: "/callout/Orders/a%2Fb", bad: true},
		{in: "/callout/Orders/a%2f..%2f..%2fb", bad: true},
		{in: "/callout/Orders/a%5Cb", bad: true},
		{in: "/callout/Orders/a\\b", bad: true},
		{in: "/callout/Orders/a%00b", bad: true},
		{in: "/callout/Orders/a%0d%0aX:1", bad: true},
		{in: "/callout/Orders/a%zz", bad: true},
		{in: "/callout/Orders/a%4", bad: true},
		{in: "/callout/Orders/a b", bad: true},
		{in: "/callout/Orders/a#b", bad: true},
		{in: "/callout/Orders/é", bad: true},
		{in: "/other/Orders/x", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			name, rest, err := parseCalloutPath(tc.in)
			if tc.bad {
				if err == nil || !errors.Is(err, ErrBadCalloutPath) {
					t.Fatalf("got %q %q %v, want ErrBadCalloutPath", name, rest, err)
				}
				return
			}
			if err != nil || name != tc.name || rest != tc.rest {
				t.Fatalf("got %q %q %v, want %q %q", name, rest, err, tc.name, tc.rest)
			}
		})
	}
}

func TestJoinCalloutPath(t *testing.T) {
	for _, tc := range []struct{ base, rest, want string }{
		{"", "", "/"},
		{"", "/", "/"},
		{"", "/a", "/a"},
		{"/v1", "", "/v1"},
		{"/v1", "/", "/v1/"},
		{"/v1", "/a/b", "/v1/a/b"},
	} {
		if got := joinCalloutPath(tc.base, tc.rest); got != tc.want {
			t.Errorf("joinCalloutPath(%q, %q) = %q, want %q", tc.base, tc.rest, got, tc.want)
		}
	}
}

// FuzzParseCalloutPath: whatever the client sends, an accepted path stays
// under the base path once decoded, with no dot segment and no encoded
// separator.
func FuzzParseCalloutPath(f *testing.F) {
	for _, s := range []string{"/callout/X/a/b", "/callout/X/../y", "/callout/X/%2e%2e/y", "/callout/X/a%2fb", "/callout/X//", "/callout/X/..;/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, rest, err := parseCalloutPath(in)
		if err != nil {
			if !errors.Is(err, ErrBadCalloutPath) {
				t.Fatalf("error %v is not ErrBadCalloutPath", err)
			}
			return
		}
		if name == "" || strings.ContainsAny(name, "/\\") {
			t.Fatalf("name %q", name)
		}
		joined := joinCalloutPath("/base", rest)
		if !strings.HasPrefix(joined, "/base") {
			t.Fatalf("%q left the base path: %q", in, joined)
		}
		dec, err := url.PathUnescape(joined)
		if err != nil {
			t.Fatalf("%q gave an invalid escape %q: %v", in, joined, err)
		}
		for _, seg := range strings.Split(dec, "/") {
			base, _, _ := strings.Cut(seg, ";")
			if base == "." || base == ".." || strings.ContainsAny(seg, "\\\x00\r\n") {
				t.Fatalf("%q decodes to %q with segment %q", in, dec, seg)
			}
		}
		// Decoding must not reveal extra separators the escaped form hid.
		if strings.Count(dec, "/") != strings.Count(joined, "/") {
			t.Fatalf("%q: encoded separator survived: %q", in, joined)
		}
	})
}
