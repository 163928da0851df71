package kbyaml

import (
	"fmt"
	"strings"
)

// grlKeywords are GRL's reserved words (case-insensitive in grule's lexer).
var grlKeywords = []string{"rule", "when", "then", "salience", "true", "false", "nil"}

// IsGRLKeyword reports whether s is a GRL reserved word, in any case.
func IsGRLKeyword(s string) bool {
	for _, k := range grlKeywords {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// IsGRLIdent reports whether s lexes as one GRL SIMPLENAME (ASCII subset).
func IsGRLIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

// DidYouMean suggests the candidate closest to got (ignoring case) when it
// is close enough to be a typo, or returns fallback.
func DidYouMean(got string, candidates []string, fallback string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(2, len(got)/3) {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return fallback
}

// editDistance is the Levenshtein distance of two strings (in bytes).
func editDistance(a, b string) int {
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
