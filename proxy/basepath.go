package proxy

import (
	"net/url"
	"strings"
)

// withinBasePath resolves the dot segments of escaped, an absolute-form
// request's escaped path (RFC 3986 §5.2.4), and returns the result, still
// escaped, when it lies under base, a named credential's escaped base path
// ("" for the root, which admits every path unchanged). ok is false when
// the path leaves base, climbs above the root, or has a segment that hides
// a separator ("%2F", "%5C") or a dot segment behind ";params" ("..;"),
// which some servers would decode or strip into a way out of base.
func withinBasePath(base, escaped string) (clean string, ok bool) {
	if base == "" {
		return escaped, true
	}
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, seg := range segs {
		dec, err := url.PathUnescape(seg)
		if err != nil || strings.ContainsAny(dec, "/\\") {
			return "", false
		}
		name, _, _ := strings.Cut(dec, ";")
		last := i == len(segs)-1
		switch name {
		case ".":
			trailing = last
			continue
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			trailing = last
			continue
		}
		out = append(out, seg)
		trailing = false
	}
	baseSegs := strings.Split(strings.TrimPrefix(base, "/"), "/")
	if len(out) < len(baseSegs) {
		return "", false
	}
	for i, b := range baseSegs {
		bd, err1 := url.PathUnescape(b)
		od, err2 := url.PathUnescape(out[i])
		if err1 != nil || err2 != nil || bd != od {
			return "", false
		}
	}
	clean = "/" + strings.Join(out, "/")
	if trailing {
		clean += "/"
	}
	return clean, true
}
