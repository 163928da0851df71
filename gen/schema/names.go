package schema

import (
	"go/token"
	"strings"
	"unicode"
	"unicode/utf8"
)

// camelParts upper-cases the first rune of every part of s split at runes
// for which sep is true, and joins the parts.
func camelParts(s string, sep func(rune) bool) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, sep) {
		r, n := utf8.DecodeRuneInString(part)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(part[n:])
	}
	return b.String()
}

// goFieldName derives a field's Go name from its JSON property name:
// "orderId" → "OrderId", "unit_price" → "UnitPrice", "x-trace" → "XTrace".
func goFieldName(prop string) string {
	return camelParts(prop, func(r rune) bool { return r == '_' || r == '-' })
}

// goEnumSuffix derives the Go name of an enum value, keeping only letters and
// digits: "bank_transfer" → "BankTransfer", "hPa" → "HPa".
func goEnumSuffix(value string) string {
	return camelParts(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// factGoName names the fact type of an event type and version: the last two
// dotted segments in CamelCase plus "V<N>" (com.acme.order.created v1 →
// "OrderCreatedV1").
func factGoName(eventType string, version string) string {
	segs := strings.Split(eventType, ".")
	if len(segs) > 2 {
		segs = segs[len(segs)-2:]
	}
	return goFieldName(strings.Join(segs, "_")) + "V" + version
}

// isExportedIdent reports whether s can name an exported Go identifier.
func isExportedIdent(s string) bool {
	return token.IsIdentifier(s) && token.IsExported(s)
}

// grlKeywords cannot be field names: GRL's lexer takes them for keywords
// whatever their case, so rules could not reference such a field.
var grlKeywords = []string{"rule", "when", "then", "salience", "true", "false", "nil"}

func isGRLKeyword(s string) bool {
	for _, k := range grlKeywords {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// methodNames are the methods every generated struct has, so no field may be
// called like them.
var methodNames = []string{"SchemaID", "Reset", "DecodeJSON", "AppendJSON", "Validate"}

// reservedIdents are package-level names of the generated registry.
var reservedIdents = []string{"Registry", "Schemas", "KnowledgeBases", "BundleHash"}

// snake converts a Go name to snake case: "OrderCreatedV1" → "order_created_v1",
// "HTTPServerV2" → "http_server_v2".
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// fileSuffixes are the name suffixes (_GOOS, _GOARCH, _test) that the go
// tool reads as build constraints. A file stem ending in one would silently
// drop the file from some builds.
var fileSuffixes = strings.Fields(`aix android darwin dragonfly freebsd hurd illumos ios js linux
	nacl netbsd openbsd plan9 solaris wasip1 windows zos 386 amd64 amd64p32 arm armbe arm64 arm64be
	loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390
	s390x sparc sparc64 wasm test`)

// fileStem names the generated files of a fact type.
func fileStem(goName string) string {
	s := snake(goName)
	last := s[strings.LastIndexByte(s, '_')+1:]
	for _, suf := range fileSuffixes {
		if last == suf {
			return s + "_schema"
		}
	}
	return s
}

// isValidTag mirrors encoding/json's rule for a usable struct tag name: a
// property name outside it would make encoding/json ignore the tag, so the
// generated codec and encoding/json would disagree.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// didYouMean returns the candidate closest to s (by edit distance, ignoring
// case), if it is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	best, bestD := "", 3
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if limit := max(1, len([]rune(c))/3); d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
