package proxy

import "github.com/callgate/callgate/access"

// lane_test.go names these access types unqualified. It is being
// refactored on another branch, so it is left as it is: qualify its uses
// once that lands, then delete these aliases.
type (
	ProxyAuth = access.ProxyAuth
	Client    = access.Client
	Limits    = access.Limits
)
