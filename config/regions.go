package config

import (
	"strconv"

	"github.com/callgate/callgate/connstate"
)

// networks checks where endpoints go: the default region's keys (aws.vpc_id,
// aws.subnet_ids, aws.security_group_ids) and each aws.regions entry. In
// mode aws a network is all three or nothing, since CreateVpcEndpoint needs
// them together; the default region's may be left out only when aws.regions
// names other regions (a deployment that creates nothing in its API region).
func (c *compiler) networks(r rawAWS) map[string]Network {
	def := rawNetwork{VpcID: r.VpcID, SubnetIDs: r.SubnetIDs, SecurityGroupIDs: r.SecurityGroupIDs}
	defSet := def.VpcID != "" || len(def.SubnetIDs) > 0 || len(def.SecurityGroupIDs) > 0
	c.network("aws.", def, r.Mode == ModeAWS && (defSet || len(r.Regions) == 0))
	if len(r.Regions) == 0 {
		return nil
	}
	out := make(map[string]Network, len(r.Regions))
	for _, name := range sortedKeys(r.Regions) {
		p := "aws.regions[" + strconv.Quote(name) + "]"
		c.region(p, name)
		if name == r.Region && defSet {
			c.errorf(p, ErrDuplicate, "%s is aws.region, whose network is aws.vpc_id, aws.subnet_ids and aws.security_group_ids; give it in one place", name)
		}
		n := r.Regions[name]
		c.network(p+".", n, r.Mode == ModeAWS)
		out[name] = Network(n)
	}
	return out
}

// network checks one region's settings under prefix ("aws." or
// `aws.regions["R"].`); required says all three must be there.
func (c *compiler) network(prefix string, n rawNetwork, required bool) {
	if n.VpcID != "" && !reVpcID.MatchString(n.VpcID) {
		c.errorf(prefix+"vpc_id", ErrInvalid, "%q is not a VPC ID (vpc- and hex)", n.VpcID)
	}
	c.idList(prefix+"subnet_ids", n.SubnetIDs, reSubnet, "a subnet ID (subnet- and hex)")
	c.idList(prefix+"security_group_ids", n.SecurityGroupIDs, reSG, "a security group ID (sg- and hex)")
	if !required {
		return
	}
	if n.VpcID == "" {
		c.errorf(prefix+"vpc_id", ErrMissing, "required when aws.mode is aws")
	}
	if len(n.SubnetIDs) == 0 {
		c.errorf(prefix+"subnet_ids", ErrMissing, "at least one subnet is required when aws.mode is aws")
	}
	if len(n.SecurityGroupIDs) == 0 {
		c.errorf(prefix+"security_group_ids", ErrMissing, "at least one security group is required when aws.mode is aws")
	}
}

// connectionNetwork refuses, in mode aws, a connection callgate would
// create an endpoint for in a region without network settings: its
// CreateVpcEndpoint could only fail. An adopted endpoint (vpc_endpoint_id)
// is only described, which needs no network.
func (c *compiler) connectionNetwork(p string, conn connstate.Connection, a AWS) {
	if a.Mode != ModeAWS || conn.VpcEndpointID != "" {
		return
	}
	if _, ok := a.Network(conn.Region); ok {
		return
	}
	if conn.Region == a.Region {
		if len(a.Regions) == 0 {
			return // aws.vpc_id and the others are reported missing already
		}
		c.errorf(p+".region", ErrMissing, "region %s (aws.region) has no network settings to create the endpoint in: set aws.vpc_id, aws.subnet_ids and aws.security_group_ids, or list %s under aws.regions", conn.Region, conn.Region)
		return
	}
	c.errorf(p+".region", ErrMissing, "region %s has no network settings to create the endpoint in: list %s under aws.regions with vpc_id, subnet_ids and security_group_ids", conn.Region, conn.Region)
}
