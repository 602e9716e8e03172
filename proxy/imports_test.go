package proxy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProxyImportsStayOnTheDataPlane: the proxy never depends on the AWS
// SDK, the config package or the connstate backends (STYLE: imports point
// one way; AWS lives behind the connstate backend interface).
func TestProxyImportsStayOnTheDataPlane(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/aws/",
			"github.com/callgate/callgate/config",
			"github.com/callgate/callgate/connstate/aws",
			"github.com/callgate/callgate/connstate/simulated",
			"github.com/callgate/callgate/credauth",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("proxy depends on %s", dep)
			}
		}
	}
}
