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
// CI log, an email. Only a very long connection name can push a row past
// it.
const tableWidth = 100

// printConnections renders the default table: what an operator looks at
// first, within tableWidth columns. Times are ages; a connection's last
// error, the one field of unbounded length, goes on lines of its own under
// its row, wrapped rather than cut, since its cause is at its end. -o wide
// and -o json have the rest.
func printConnections(w io.Writer, views []connstate.View, now time.Time) {
	rows := [][]string{{"NAME", "STATUS", "ENDPOINT", "WARM", "LAST SYNC"}}
	for _, v := range views {
		rows = append(rows, []string{v.Name, v.Status.String(), dash(v.VpcEndpointID),
			warmState(v, now), age(v.LastSync, now)})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for i, r := range rows {
		var b strings.Builder
		for j, cell := range r {
			b.WriteString(cell)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, b.String())
		if i > 0 && views[i-1].LastError != "" {
			for _, l := range wrap("last error: "+oneLine(views[i-1].LastError), tableWidth-4) {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
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

// wrap breaks s at spaces into lines of at most n runes; a word longer
// than n is split.
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > n {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			r := []rune(word)
			lines = append(lines, string(r[:n]))
			word = string(r[n:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
