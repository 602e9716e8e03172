package access

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAccessImportsPointOneWay: the proxy imports access, never the
// reverse, and access stays free of the config, the connstate backends,
// the AWS SDK and metrics (its caller counts what it reports).
func TestAccessImportsPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/aws/",
			"github.com/prometheus/",
			"github.com/callgate/callgate/proxy",
			"github.com/callgate/callgate/config",
			"github.com/callgate/callgate/connstate",
			"github.com/callgate/callgate/credauth",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("access depends on %s", dep)
			}
		}
	}
}
