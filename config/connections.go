package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/callgate/callgate/connstate"
)

// TypeAwsPrivateLink is the only outbound connection type (docs/operations.md, Connection statuses).
const TypeAwsPrivateLink = "AwsPrivateLink"

var (
	// reEndpointService is a PrivateLink endpoint service name; other
	// com.amazonaws.* names are AWS's own services (e.g. com.amazonaws.us-east-1.s3).
	reEndpointService = regexp.MustCompile(`^com\.amazonaws\.vpce\.[a-z]{2}(-[a-z]+)+-[0-9]+\.vpce-svc-[0-9a-f]{8,17}$`)
	reAWSService      = regexp.MustCompile(`^com\.amazonaws\.[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	reEndpointID      = regexp.MustCompile(`^vpce-[0-9a-f]{1,17}$`)
)

// checkServiceName returns why name is not a VPC endpoint service name, or "".
func checkServiceName(name string) string {
	if strings.HasPrefix(name, "com.amazonaws.vpce.") {
		if !reEndpointService.MatchString(name) {
			return fmt.Sprintf("%q is not an endpoint service name like com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0", name)
		}
		return ""
	}
	if !reAWSService.MatchString(name) {
		return fmt.Sprintf("%q is not a VPC endpoint service name (com.amazonaws.vpce.REGION.vpce-svc-ID, or an AWS service's com.amazonaws.* name)", name)
	}
	return ""
}

// connections compiles outbound_connections. regions maps each name to its
// region (for aws_sigv4 defaults); it is nil when the list could not be
// decoded item by item, so references to it are not judged.
func (c *compiler) connections(raw []rawConnection, aws AWS) ([]connstate.Connection, map[string]string) {
	const list = "outbound_connections"
	if !c.complete(list, len(raw)) {
		return nil, nil
	}
	out := make([]connstate.Connection, 0, len(raw))
	regions := make(map[string]string, len(raw))
	names := make(map[string]int, len(raw))
	endpoints := make(map[string]int, len(raw))
	for i, r := range raw {
		p := fmt.Sprintf("%s[%d]", list, i)
		conn := connstate.Connection{
			Name: r.Name, Description: r.Description, Type: r.Type, ServiceName: r.ServiceName,
			Region: r.Region, Provision: r.Provision, VpcEndpointID: r.VpcEndpointID,
		}
		c.uniqueName(list, i, r.Name, names)
		if conn.Type == "" {
			conn.Type = TypeAwsPrivateLink
		} else if conn.Type != TypeAwsPrivateLink {
			c.errorf(p+".type", ErrInvalid, "want %s (the only type), got %q", TypeAwsPrivateLink, r.Type)
		}
		if r.ServiceName == "" {
			c.errorf(p+".service_name", ErrMissing, "the VPC endpoint service name is required")
		} else if msg := checkServiceName(r.ServiceName); msg != "" {
			c.errorf(p+".service_name", ErrInvalid, "%s", msg)
		}
		if conn.Region == "" {
			conn.Region = aws.Region
		} else {
			c.region(p+".region", conn.Region)
		}
		c.connectionNetwork(p, conn, aws)
		if id := r.VpcEndpointID; id != "" {
			if !reEndpointID.MatchString(id) {
				c.errorf(p+".vpc_endpoint_id", ErrInvalid, "%q is not a VPC endpoint ID (vpce- and hex)", id)
			} else if j, dup := endpoints[id]; dup {
				// Two connections adopting one endpoint would fight over its status.
				c.errorf(p+".vpc_endpoint_id", ErrDuplicate, "%q is also adopted by %s[%d]", id, list, j)
			}
			endpoints[id] = i
		}
		if r.Name != "" {
			regions[r.Name] = conn.Region
		}
		out = append(out, conn)
	}
	return out, regions
}

// uniqueName checks the name of item i of list (required, well formed,
// not used by an earlier item) and records it in names.
func (c *compiler) uniqueName(list string, i int, name string, names map[string]int) {
	p := func() string { return fmt.Sprintf("%s[%d].name", list, i) }
	switch {
	case name == "":
		c.errorf(p(), ErrMissing, "a name is required")
	case !validName(name):
		c.errorf(p(), ErrInvalid, "%q must start with a letter and hold only letters, digits, '_' and '-'", name)
	default:
		if j, dup := names[name]; dup {
			c.errorf(p(), ErrDuplicate, "%q is also %s[%d] (line %d)", name, list, j, c.ix.line(fmt.Sprintf("%s[%d]", list, j)))
		}
		names[name] = i
	}
}

// validName is the shape of connection and named credential names,
// ^[A-Za-z][A-Za-z0-9_-]*$: they appear in URLs (/callout/{Name}/), metric
// labels and AWS tags.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return name != ""
}
