package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/callgate/callgate/config"
)

// printRegions lists, after whoami's principal, the regions callgate acts
// in (the default region, every aws.regions entry and every connection's
// region) with the network each creates endpoints in: what a service
// owner per region, or the operator checking the config, needs beside the
// principal. The principal stays alone on the first line for scripts.
func printRegions(w io.Writer, cfg *config.Config) {
	conns := map[string][]string{cfg.AWS.Region: nil}
	for r := range cfg.AWS.Regions {
		conns[r] = nil
	}
	for _, c := range cfg.Connections {
		conns[c.Region] = append(conns[c.Region], c.Name)
	}
	regions := make([]string, 0, len(conns))
	for r := range conns {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	fmt.Fprintln(w, "regions:")
	for _, r := range regions {
		line := "  " + r
		if r == cfg.AWS.Region {
			line += " (aws.region)"
		}
		if n, ok := cfg.AWS.Network(r); ok {
			line += fmt.Sprintf(": vpc %s, subnets %s, security groups %s",
				orNone(n.VpcID), orNone(strings.Join(n.SubnetIDs, " ")), orNone(strings.Join(n.SecurityGroupIDs, " ")))
		} else {
			line += ": no network settings"
		}
		if len(conns[r]) > 0 {
			line += "; connections " + strings.Join(conns[r], " ")
		}
		fmt.Fprintln(w, line)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
