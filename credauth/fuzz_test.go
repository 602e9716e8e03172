package credauth

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzCleanSecret: whatever a secret file holds, the value either goes on
// the wire as a valid header value equal to the content minus one line
// ending, or is refused with a fixed error that cannot carry the content.
func FuzzCleanSecret(f *testing.F) {
	for _, s := range []string{"token", "token\n", "token\r\n", "\n", "", "a\nb", "a\x00b", "tab\tok", "ünï", " ", " \t \n", "\t\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := cleanSecret(b)
		if err != nil {
			if !errors.Is(err, errEmptySecret) && !errors.Is(err, errBadSecretBytes) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if strings.TrimSpace(v) == "" || !httpguts.ValidHeaderFieldValue(v) {
			t.Fatalf("accepted an unusable value %q", v)
		}
		trimmed := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if v != string(trimmed) {
			t.Fatalf("value %q from content %q", v, b)
		}
	})
}
