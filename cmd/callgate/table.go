package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/callgate/callgate/connstate"
)

// tableWidth is what the default table fits in: a terminal split in two, a
// CI log, an email.
const tableWidth = 100

// printConnections renders the default table: what an operator looks at
// first, within tableWidth columns. Times are ages, and the last error is
// cut to what fits; -o wide and -o json have the rest.
func printConnections(w io.Writer, views []connstate.View, now time.Time) {
	rows := [][]string{{"NAME", "STATUS", "ENDPOINT", "WARM", "LAST SYNC", "LAST ERROR"}}
	for _, v := range views {
		rows = append(rows, []string{v.Name, v.Status.String(), dash(v.VpcEndpointID),
			warmState(v, now), age(v.LastSync, now), dash(oneLine(v.LastError))})
	}
	// The last column gets what the others leave.
	used := 0
	for col := 0; col < len(rows[0])-1; col++ {
		width := 0
		for _, r := range rows {
			width = max(width, utf8.RuneCountInString(r[col]))
		}
		used += width + 2
	}
	room := max(tableWidth-used, len("LAST ERROR"))
	for _, r := range rows {
		r[len(r)-1] = truncate(r[len(r)-1], room)
	}
	writeTable(w, rows)
}

// printConnectionsWide renders every field with full timestamps.
func printConnectionsWide(w io.Writer, views []connstate.View, now time.Time) {
	rows := [][]string{{"NAME", "STATUS", "AWS STATE", "REGION", "ENDPOINT", "ENDPOINT DNS", "READY SINCE", "WARM AT", "LAST SYNC", "LAST ERROR"}}
	for _, v := range views {
		rows = append(rows, []string{v.Name, v.Status.String(), dash(v.AWSState), dash(v.Region),
			dash(v.VpcEndpointID), dash(v.EndpointDNS), stamp(v.ReadySince), warmAt(v.WarmAt, now),
			stamp(v.LastSync), dash(oneLine(v.LastError))})
	}
	writeTable(w, rows)
}

func writeTable(w io.Writer, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// warmState is whether a connection carries traffic: "yes", "in 2m5s"
// while it warms up, "-" when it is not Ready.
func warmState(v connstate.View, now time.Time) string {
	switch {
	case v.WarmAt.IsZero():
		return "-"
	case v.WarmAt.After(now):
		return "in " + v.WarmAt.Sub(now).Round(time.Second).String()
	}
	return "yes"
}

// age is how long ago t was, to the second.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func warmAt(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if t.After(now) {
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second))
	}
	return t.UTC().Format(time.RFC3339)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a multi-line error on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate cuts s to n runes, marking the cut with "...".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}
