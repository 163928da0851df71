package schema

import (
	"regexp/syntax"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// CompilePattern compiles a pattern, which must already compile with
// regexp, to steps that a validator matches byte by byte (see ir.Matcher).
// It does so only for a simple pattern: ^, then ASCII literals and ASCII
// character classes, each optionally repeated ({n,m}, +, *, ?), then $.
// Anything else returns nil and the validator keeps regexp: alternation,
// groups, ., non-ASCII, case folding, multi-line anchors, a pattern not
// anchored at both ends, and any repeat whose class shares a byte with what
// may follow it (then greedy matching could take a byte a later step needs,
// and only backtracking would find the match).
//
// The pattern is parsed with the flags regexp.Compile uses, so ^ and $ are
// the start and end of the text (no allowance for a trailing newline, as
// in ECMA-262 without the m flag) and \d, \w, \s are ASCII.
func CompilePattern(pattern string) *ir.Matcher {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	subs := flatten(re, nil)
	n := len(subs)
	if n < 2 || subs[0].Op != syntax.OpBeginText || subs[n-1].Op != syntax.OpEndText {
		return nil
	}
	m := &ir.Matcher{}
	for _, sub := range subs[1 : n-1] {
		st, ok := matchStep(sub)
		switch {
		case !ok:
			return nil
		case st.Max == 0: // x{0} matches the empty string
			continue
		}
		if n := len(m.Steps); n > 0 && st.Literal != "" && m.Steps[n-1].Literal != "" {
			m.Steps[n-1].Literal += st.Literal
			m.Steps[n-1].Src += st.Src
			continue
		}
		m.Steps = append(m.Steps, st)
	}
	if !countsForced(m.Steps) {
		return nil
	}
	return m
}

// flatten appends the operands of nested concatenations to out.
func flatten(re *syntax.Regexp, out []*syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			out = flatten(sub, out)
		}
	case syntax.OpEmptyMatch:
	default:
		out = append(out, re)
	}
	return out
}

// matchStep converts a literal, a class or a repeat of a one-byte literal
// or class.
func matchStep(re *syntax.Regexp) (ir.MatchStep, bool) {
	st := ir.MatchStep{Min: 1, Max: 1, Src: re.String()}
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return st, false
		}
		b := make([]byte, 0, len(re.Rune))
		for _, r := range re.Rune {
			if r >= 0x80 {
				return st, false
			}
			b = append(b, byte(r))
		}
		st.Literal = string(b)
		return st, true
	case syntax.OpStar:
		st.Min, st.Max = 0, -1
	case syntax.OpPlus:
		st.Min, st.Max = 1, -1
	case syntax.OpQuest:
		st.Min, st.Max = 0, 1
	case syntax.OpRepeat:
		st.Min, st.Max = re.Min, re.Max
	default:
		var ok bool
		st.Ranges, ok = byteRanges(re)
		return st, ok
	}
	var ok bool
	st.Ranges, ok = byteRanges(re.Sub[0])
	return st, ok
}

// byteRanges returns the bytes a one-character literal or class matches,
// when they are ASCII and not case-folded.
func byteRanges(re *syntax.Regexp) ([]ir.ByteRange, bool) {
	if re.Flags&syntax.FoldCase != 0 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) != 1 || re.Rune[0] >= 0x80 {
			return nil, false
		}
		b := byte(re.Rune[0])
		return []ir.ByteRange{{Lo: b, Hi: b}}, true
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return nil, false
		}
		var out []ir.ByteRange
		for i := 0; i < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= 0x80 {
				return nil, false
			}
			out = append(out, ir.ByteRange{Lo: byte(re.Rune[i]), Hi: byte(re.Rune[i+1])})
		}
		return out, true
	}
	return nil, false
}

// countsForced reports whether every step with a choice of count is followed
// only by bytes outside its class: by the steps up to and including the
// next one that must match at least once, or by the end of the text. Then
// the count of every step is the length of the run of its bytes (or there
// is no match), and greedy matching is exact.
func countsForced(steps []ir.MatchStep) bool {
	for i, st := range steps {
		if st.Min == st.Max {
			continue
		}
		for _, next := range steps[i+1:] {
			if overlap(st.Ranges, firstBytes(next)) {
				return false
			}
			if next.Min > 0 {
				break
			}
		}
	}
	return true
}

func firstBytes(st ir.MatchStep) []ir.ByteRange {
	if st.Literal != "" {
		return []ir.ByteRange{{Lo: st.Literal[0], Hi: st.Literal[0]}}
	}
	return st.Ranges
}

func overlap(a, b []ir.ByteRange) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Lo <= y.Hi && y.Lo <= x.Hi {
				return true
			}
		}
	}
	return false
}
