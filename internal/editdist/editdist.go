// Package editdist measures how far apart two short names are, for the
// "did you mean" suggestions of config errors and of explain.
package editdist

// maxLen bounds the inputs: names are short, and a long one must not cost
// a quadratic amount of work.
const maxLen = 64

// Distance is the Levenshtein distance of a and b; inputs longer than 64
// bytes are far from everything.
func Distance(a, b string) int {
	if len(a) > maxLen || len(b) > maxLen {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
