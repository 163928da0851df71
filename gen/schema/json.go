package schema

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// nodeKind is the JSON kind of a parsed value.
type nodeKind int

const (
	jsonNull nodeKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k nodeKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// node is a JSON value with the byte offset where it starts, so that every
// diagnostic can point at the offending key or value. Object members keep
// their source order and duplicates (the loader refuses duplicates with the
// position of the second one).
type node struct {
	kind    nodeKind
	off     int
	boolean bool
	text    string // string value (decoded) or number literal (as written)
	elems   []*node
	members []member
}

type member struct {
	key    string
	keyOff int
	value  *node
}

// get returns the last member named key (JSON's "last one wins"), or nil.
func (n *node) get(key string) *member {
	for i := len(n.members) - 1; i >= 0; i-- {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

// float returns a number node's value.
func (n *node) float() (float64, error) {
	return strconv.ParseFloat(n.text, 64)
}

// jsonError is a syntax error at a byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 1000

// parseJSON parses one JSON value (RFC 8259) filling the whole input.
func parseJSON(src []byte) (*node, error) {
	p := &parser{src: src}
	p.ws()
	n := p.value(0)
	if p.err == nil {
		p.ws()
		if p.pos < len(p.src) {
			p.fail(p.pos, "unexpected %s after the top-level value", p.describe())
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

type parser struct {
	src []byte
	pos int
	err *jsonError
}

func (p *parser) fail(off int, format string, args ...any) {
	if p.err == nil {
		p.err = &jsonError{off: off, msg: fmt.Sprintf(format, args...)}
	}
}

// describe names the byte at pos for an error message.
func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) *node {
	if depth > maxDepth {
		p.fail(p.pos, "nesting deeper than %d", maxDepth)
		return nil
	}
	if p.pos >= len(p.src) {
		p.fail(p.pos, "unexpected end of input, expected a value")
		return nil
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s := p.str()
		return &node{kind: jsonString, off: start, text: s}
	case c == '-' || (c >= '0' && c <= '9'):
		return &node{kind: jsonNumber, off: start, text: p.number()}
	case p.literal("true"):
		return &node{kind: jsonBool, off: start, boolean: true}
	case p.literal("false"):
		return &node{kind: jsonBool, off: start}
	case p.literal("null"):
		return &node{kind: jsonNull, off: start}
	}
	p.fail(p.pos, "unexpected %s, expected a value", p.describe())
	return nil
}

func (p *parser) literal(word string) bool {
	if strings.HasPrefix(string(p.src[p.pos:min(len(p.src), p.pos+len(word))]), word) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) object(depth int) *node {
	n := &node{kind: jsonObject, off: p.pos}
	p.pos++ // {
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return n
	}
	for p.err == nil {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			p.fail(p.pos, "unexpected %s, expected a property name", p.describe())
			return nil
		}
		keyOff := p.pos
		key := p.str()
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			p.fail(p.pos, "unexpected %s, expected ':'", p.describe())
			return nil
		}
		p.pos++
		p.ws()
		v := p.value(depth + 1)
		if p.err != nil {
			return nil
		}
		n.members = append(n.members, member{key: key, keyOff: keyOff, value: v})
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return n
		}
		p.fail(p.pos, "unexpected %s, expected ',' or '}'", p.describe())
	}
	return nil
}

func (p *parser) array(depth int) *node {
	n := &node{kind: jsonArray, off: p.pos}
	p.pos++ // [
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return n
	}
	for p.err == nil {
		p.ws()
		v := p.value(depth + 1)
		if p.err != nil {
			return nil
		}
		n.elems = append(n.elems, v)
		p.ws()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return n
		}
		p.fail(p.pos, "unexpected %s, expected ',' or ']'", p.describe())
	}
	return nil
}

// str parses a string literal at pos. Schema files are source code, so
// invalid UTF-8 and lone surrogates are errors rather than replaced.
func (p *parser) str() string {
	p.pos++ // "
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			p.fail(p.pos, "unterminated string")
			return ""
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String()
		case c == '\\':
			p.escape(&b)
			if p.err != nil {
				return ""
			}
		case c < 0x20:
			p.fail(p.pos, "control character %#02x in string", c)
			return ""
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				p.fail(p.pos, "invalid UTF-8 in string")
				return ""
			}
			b.WriteRune(r)
			p.pos += size
		}
	}
}

func (p *parser) escape(b *strings.Builder) {
	if p.pos+1 >= len(p.src) {
		p.fail(p.pos, "unterminated string")
		return
	}
	c := p.src[p.pos+1]
	if i := strings.IndexByte(`"\/bfnrt`, c); i >= 0 {
		b.WriteByte("\"\\/\b\f\n\r\t"[i])
		p.pos += 2
		return
	}
	if c != 'u' {
		p.fail(p.pos, "invalid escape %q in string", "\\"+string(rune(c)))
		return
	}
	r, ok := p.hex4(p.pos + 2)
	if !ok {
		p.fail(p.pos, "invalid \\u escape in string")
		return
	}
	p.pos += 6
	if utf16.IsSurrogate(r) {
		r2, ok2 := rune(0), false
		if p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
			r2, ok2 = p.hex4(p.pos + 2)
		}
		dec := utf16.DecodeRune(r, r2)
		if !ok2 || dec == utf8.RuneError {
			p.fail(p.pos-6, "lone surrogate \\u%04x in string", r)
			return
		}
		p.pos += 6
		r = dec
	}
	b.WriteRune(r)
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.src) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.src[at:at+4]), 16, 32)
	return rune(v), err == nil
}

// number scans a number literal per RFC 8259 and returns it as written.
func (p *parser) number() string {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.src[p.pos] == '-' {
		p.pos++
	}
	intStart := p.pos
	if n := digits(); n == 0 {
		p.fail(p.pos, "invalid number: expected a digit")
		return ""
	} else if n > 1 && p.src[intStart] == '0' {
		p.fail(intStart, "invalid number: leading zero")
		return ""
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			p.fail(p.pos, "invalid number: expected a digit after '.'")
			return ""
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			p.fail(p.pos, "invalid number: expected a digit in the exponent")
			return ""
		}
	}
	return string(p.src[start:p.pos])
}

// canonical appends n as canonical JSON: object keys sorted (duplicates
// keep the last, as decoders do), no insignificant whitespace, strings
// escaped minimally, numbers normalised (integers as written, others through
// float64's shortest form), so that reformatting a schema keeps its hash.
func canonical(dst []byte, n *node) []byte {
	switch n.kind {
	case jsonNull:
		return append(dst, "null"...)
	case jsonBool:
		return strconv.AppendBool(dst, n.boolean)
	case jsonNumber:
		return append(dst, canonicalNumber(n.text)...)
	case jsonString:
		return canonicalString(dst, n.text)
	case jsonArray:
		dst = append(dst, '[')
		for i, e := range n.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = canonical(dst, e)
		}
		return append(dst, ']')
	}
	last := map[string]*node{}
	keys := []string{}
	for _, m := range n.members {
		if _, ok := last[m.key]; !ok {
			keys = append(keys, m.key)
		}
		last[m.key] = m.value
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = canonicalString(dst, k)
		dst = append(dst, ':')
		dst = canonical(dst, last[k])
	}
	return append(dst, '}')
}

func canonicalNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0"
		}
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return lit
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func canonicalString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, fmt.Sprintf(`\u%04x`, c)...)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
