package matchtest

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"testing"
	"unicode/utf8"
)

// edgeInputs are tried against every matcher: ASCII around the common
// classes, trailing newlines ($ allows none), multi-byte runes whose bytes
// could pass for ASCII only if compared wrongly, and invalid UTF-8.
var edgeInputs = []string{
	"", "a", "b", "x", "ab", "abc", "A", "AB", "ABC", "ES", "E", "ESP", "es",
	"0", "00", "1234", "12345", "123", "1.2.3", "1.2.3.4", "10.20.30", "1..3", ".1.2", "1.2.",
	"dev-abcd", "dev-ab12cd34ef56gh78", "dev-abc", "dev-ABCD", "dev-", "dev-abcd-",
	"BK-10422", "AB-", "---", "A", "@x", "a.b@x", "$1", "^.\\abc", "[]", "][", " \t\nx",
	"\x00", "\x1f", " ", "\x7f", "\x80", "AB12", "1234", "5", "abc12d", "abcd12e",
	"AB\n", "\nAB", "1234\n", "ab\r\n", "x\n",
	"É", "AÉ", "ÉS", "é", "dev-abcé", "12é4", "\u212a", "ſ", "\u00a0", "€", "日本", "😀",
	"\xff", "\xc3", "A\xff", "\xffB", "\xc3\x28", "\xed\xa0\x80", "\xf0\x9f\x98", "12\xc334", "AB\x00",
}

func compiled() []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(matchers))
	for i, m := range matchers {
		res[i] = regexp.MustCompile(m.pattern)
	}
	return res
}

func check(t *testing.T, res []*regexp.Regexp, s string) {
	t.Helper()
	for i, m := range matchers {
		if got, want := m.match(s), res[i].MatchString(s); got != want {
			t.Errorf("%q on %q: generated matcher %v, regexp %v", m.pattern, s, got, want)
		}
	}
}

// TestAgreesWithRegexp compares each matcher with regexp on the edge inputs
// and on strings built from its pattern (so that many match) and then
// mutated by a byte near the edges of its classes.
func TestAgreesWithRegexp(t *testing.T) {
	res := compiled()
	for _, s := range edgeInputs {
		check(t, res, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i, m := range matchers {
		re, err := syntax.Parse(m.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		edges := edgeBytes(re)
		matched := 0
		for range 500 {
			s := string(sample(r, re, nil))
			if res[i].MatchString(s) {
				matched++
			}
			for _, v := range []string{s, mutate(r, s, edges), mutate(r, mutate(r, s, edges), edges)} {
				if got, want := m.match(v), res[i].MatchString(v); got != want {
					t.Errorf("%q on %q: generated matcher %v, regexp %v", m.pattern, v, got, want)
				}
			}
		}
		if matched == 0 {
			t.Errorf("%q: no sample matched; the test exercises only rejection", m.pattern)
		}
	}
}

// FuzzAgreesWithRegexp: every matcher says what regexp says, whatever the
// bytes.
func FuzzAgreesWithRegexp(f *testing.F) {
	for _, s := range edgeInputs {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, m := range matchers {
		re, err := syntax.Parse(m.pattern, syntax.Perl)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(sample(r, re, nil)))
	}
	res := compiled()
	f.Fuzz(func(t *testing.T, s string) {
		check(t, res, s)
	})
}

// sample appends a string that re matches, when it can: repeats run a few
// times past their minimum, classes pick any of their runes.
func sample(r *rand.Rand, re *syntax.Regexp, b []byte) []byte {
	switch re.Op {
	case syntax.OpLiteral:
		for _, c := range re.Rune {
			b = utf8.AppendRune(b, c)
		}
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			k := 2 * r.IntN(len(re.Rune)/2)
			lo, hi := re.Rune[k], min(re.Rune[k+1], 0x10ffff)
			b = utf8.AppendRune(b, lo+rune(r.IntN(int(hi-lo)+1)))
		}
	case syntax.OpConcat, syntax.OpCapture:
		for _, sub := range re.Sub {
			b = sample(r, sub, b)
		}
	case syntax.OpAlternate:
		b = sample(r, re.Sub[r.IntN(len(re.Sub))], b)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		if hi < 0 {
			hi = lo + 4
		}
		for range lo + r.IntN(hi-lo+1) {
			b = sample(r, re.Sub[0], b)
		}
	}
	return b
}

// edgeBytes lists the bytes on and just outside the edges of the pattern's
// literals and classes, plus bytes that begin or continue a multi-byte rune.
func edgeBytes(re *syntax.Regexp) []byte {
	out := []byte{'\n', 0x80, 0xc3, 0xe2, 0xff}
	add := func(r rune) {
		for _, c := range []rune{r - 1, r, r + 1} {
			if c >= 0 && c < 0x100 {
				out = append(out, byte(c))
			}
		}
	}
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		for _, c := range re.Rune {
			add(c)
		}
		for _, sub := range re.Sub {
			walk(sub)
		}
	}
	walk(re)
	return out
}

// mutate inserts, replaces or deletes one byte.
func mutate(r *rand.Rand, s string, edges []byte) string {
	b := []byte(s)
	c := edges[r.IntN(len(edges))]
	k := r.IntN(len(b) + 1)
	switch op := r.IntN(3); {
	case op == 0 || len(b) == 0:
		b = append(b[:k], append([]byte{c}, b[k:]...)...)
	case op == 1 && k < len(b):
		b[k] = c
	default:
		k = min(k, len(b)-1)
		b = append(b[:k], b[k+1:]...)
	}
	return string(b)
}
