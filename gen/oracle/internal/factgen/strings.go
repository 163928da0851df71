package factgen

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf8"
)

const wordAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./ "

func (f *Filler) genString(r *rand.Rand, n *Node, optional bool, lits *Literals) string {
	if len(n.Enum) > 0 {
		if r.IntN(100) < pLiteral {
			if s, ok := literalFor(r, n, lits, optional); ok {
				return s
			}
		}
		return n.Enum[r.IntN(len(n.Enum))]
	}
	if !optional && (n.MinLength == nil || *n.MinLength == 0) && n.Format == "" && n.re == nil && r.IntN(100) < pEmptyReq {
		return ""
	}
	if r.IntN(100) < pLiteral {
		if s, ok := literalFor(r, n, lits, optional); ok {
			return s
		}
	}
	var s string
	switch {
	case n.Format != "":
		s = genFormat(r, n.Format)
	case n.reAST != nil:
		for range 10 {
			if s = genRegexp(r, n.reAST); n.accepts(s) {
				break
			}
		}
	default:
		s = randWord(r, 1+r.IntN(12))
		if r.IntN(4) == 0 {
			s += " " + randWord(r, 1+r.IntN(8))
		}
	}
	return fitLength(r, n, s)
}

// literalFor returns a variant of a GRL string literal that the node accepts
// ("" counts as absent for an optional property, as in `Order.Status == ""`).
func literalFor(r *rand.Rand, n *Node, lits *Literals, optional bool) (string, bool) {
	if len(lits.Strings) == 0 {
		return "", false
	}
	for range 8 {
		s := Variant(r, lits.Strings[r.IntN(len(lits.Strings))])
		if n.Format == "uri" && r.IntN(2) == 0 {
			s = "http://" + strings.TrimPrefix(s, "http://")
		}
		if n.accepts(s) || s == "" && optional {
			return s, true
		}
	}
	return "", false
}

// Variant returns lit itself or a string built around it (prefix, suffix,
// infix, case changes), for conditions such as HasPrefix, Contains and
// ToUpper() ==.
func Variant(r *rand.Rand, lit string) string {
	switch r.IntN(9) {
	case 0, 1, 2:
		return lit
	case 3:
		return lit + randWord(r, 1+r.IntN(6))
	case 8: // fits patterns like ^dev-[a-z0-9]{4,16}$
		return lit + randAlnum(r, 2+r.IntN(8))
	case 4:
		return randWord(r, 1+r.IntN(6)) + lit
	case 5:
		return randWord(r, 1+r.IntN(4)) + lit + randWord(r, 1+r.IntN(4))
	case 6:
		return strings.ToLower(lit)
	default:
		return strings.ToUpper(lit)
	}
}

func randWord(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = wordAlphabet[r.IntN(len(wordAlphabet))]
	}
	return string(b)
}

// randAlnum returns n random lower-case letters and digits.
func randAlnum(r *rand.Rand, n int) string {
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.IntN(len(alnum))]
	}
	return string(b)
}

// fitLength pads or truncates s to the node's length bounds, in runes.
func fitLength(r *rand.Rand, n *Node, s string) string {
	if n.MaxLength != nil && utf8.RuneCountInString(s) > *n.MaxLength {
		s = string([]rune(s)[:*n.MaxLength])
	}
	for n.MinLength != nil && utf8.RuneCountInString(s) < *n.MinLength {
		s += randWord(r, 1)
	}
	return s
}

func genFormat(r *rand.Rand, format string) string {
	switch format {
	case "uuid":
		return UUID(r)
	case "email":
		domains := []string{"example.com", "acme.com", "mail.test"}
		return randAlnum(r, 1+r.IntN(8)) + "@" + domains[r.IntN(len(domains))]
	case "date-time":
		return Time(r)
	case "uri":
		schemes := []string{"https", "https", "http"}
		return schemes[r.IntN(len(schemes))] + "://receipts.example.com/" + UUID(r)[:8]
	}
	return randWord(r, 8)
}

// UUID returns a random canonical lower-case UUID.
func UUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff,
		0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
}

// Time returns a random RFC 3339 timestamp between 2020 and 2030.
func Time(r *rand.Rand) string {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	t := base.Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour))))
	if r.IntN(3) == 0 {
		return t.Format(time.RFC3339Nano)
	}
	return t.Truncate(time.Second).Format(time.RFC3339)
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func validFormat(format, s string) bool {
	switch format {
	case "uuid":
		return uuidRE.MatchString(s)
	case "email":
		return emailRE.MatchString(s)
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "uri":
		u, err := url.Parse(s)
		return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " ")
	}
	return true
}

// genRegexp returns a random string matching a simplified regexp: anchors
// produce nothing, repetitions are short.
func genRegexp(r *rand.Rand, re *syntax.Regexp) string {
	var b strings.Builder
	genRe(r, re, &b)
	return b.String()
}

func genRe(r *rand.Rand, re *syntax.Regexp, b *strings.Builder) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) < 2 {
			return
		}
		i := r.IntN(len(re.Rune)/2) * 2
		lo, hi := re.Rune[i], re.Rune[i+1]
		hi = min(hi, lo+94) // stay near the range start: avoids unprintable runes of [^x]
		b.WriteRune(lo + rune(r.IntN(int(hi-lo)+1)))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(wordAlphabet[r.IntN(62)])
	case syntax.OpCapture:
		genRe(r, re.Sub[0], b)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			genRe(r, s, b)
		}
	case syntax.OpAlternate:
		genRe(r, re.Sub[r.IntN(len(re.Sub))], b)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 3
		switch re.Op {
		case syntax.OpPlus:
			lo, hi = 1, 4
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + 3
			}
		}
		for range lo + r.IntN(hi-lo+1) {
			genRe(r, re.Sub[0], b)
		}
	}
}
