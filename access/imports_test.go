package access

import (
	"testing"

	"github.com/callgate/callgate/internal/depcheck"
)

// TestAccessImportsPointOneWay: the proxy imports access, never the
// reverse, and access stays free of the config, the connstate backends,
// the AWS SDK and metrics (its caller counts what it reports).
func TestAccessImportsPointOneWay(t *testing.T) {
	depcheck.Forbid(t, ".",
		"github.com/aws/",
		"github.com/prometheus/",
		"github.com/callgate/callgate/proxy",
		"github.com/callgate/callgate/config",
		"github.com/callgate/callgate/connstate",
		"github.com/callgate/callgate/credauth",
	)
}
