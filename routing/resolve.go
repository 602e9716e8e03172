package routing

import (
	"fmt"
	"net/netip"
	"strings"
)

// Overrides are static DNS answers for endpoint names, like curl --resolve.
// A key "*.suffix" matches any name under suffix (not suffix itself). The
// zero value and nil resolve nothing.
type Overrides struct {
	exact    map[string]string
	suffixes []suffixRule // longest first, so the most specific wins
}

type suffixRule struct {
	suffix string // ".example.internal"
	addr   string
}

// CompileOverrides validates name → IP pairs.
func CompileOverrides(m map[string]string) (*Overrides, error) {
	o := &Overrides{exact: make(map[string]string, len(m))}
	for name, ip := range m {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, fmt.Errorf("resolve %q: %q is not an IP address", name, ip)
		}
		wild := strings.HasPrefix(name, "*.")
		n, isIP, err := NormalizeHost(strings.TrimPrefix(name, "*."))
		if err != nil || isIP {
			return nil, fmt.Errorf("resolve %q: not a DNS name", name)
		}
		if wild {
			o.suffixes = append(o.suffixes, suffixRule{suffix: "." + n, addr: addr.String()})
		} else {
			o.exact[n] = addr.String()
		}
	}
	sortRules(o.suffixes)
	return o, nil
}

func sortRules(r []suffixRule) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && len(r[j].suffix) > len(r[j-1].suffix); j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// Lookup returns the override for a normalized DNS name.
func (o *Overrides) Lookup(name string) (ip string, ok bool) {
	if o == nil {
		return "", false
	}
	if ip, ok := o.exact[name]; ok {
		return ip, true
	}
	for _, r := range o.suffixes {
		if len(name) > len(r.suffix) && strings.HasSuffix(name, r.suffix) {
			return r.addr, true
		}
	}
	return "", false
}
