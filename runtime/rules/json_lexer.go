package rules

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Lexer is the pull-style JSON reader that generated decoders are built on.
// It reads one document held in memory and never uses reflection.
//
// Syntax errors are sticky: the first one is kept (see Err) and every later
// call does nothing, so generated code need not check after each call.
// Values of the wrong JSON type are not errors: the Read methods append a
// violation at the given path, skip the value and go on, so that a decoder
// reports every structural problem of an event.
//
// Strings decode as encoding/json decodes them (escapes, surrogate pairs
// included, are resolved), except that a string encoding/json would mangle
// is refused: invalid UTF-8 (overlong forms and encoded surrogates included)
// and \u escapes of unpaired UTF-16 surrogates, which encoding/json turns
// into U+FFFD, are violations at the string's path, in the words the
// envelope checks (runtime/cloudevents) use. Two values differing only in
// such bytes would otherwise be stored as the same text.
type Lexer struct {
	data  []byte
	pos   int
	err   *SyntaxError
	depth int
	// first is true right after an opening delimiter: the next member or
	// element needs no comma.
	first bool
	key   []byte
	// keyStart and keyEnd delimit the key's literal (quotes included) in
	// data, which extras keep as sent.
	keyStart, keyEnd int
	// keyBad is why the current key is refused (see bad), or "".
	keyBad string
	// bad is why the last string str read is refused, or "": its bytes
	// were replaced as encoding/json replaces them, which must not be
	// stored.
	bad string
	// path is the rendered path of the value CheckValue is at.
	path []byte
	// buf holds unescaped strings. It is allocated on first use only, so
	// that a Lexer on the stack stays there.
	buf []byte
}

// maxDepth is encoding/json's nesting limit, kept so that both accept the
// same documents.
const maxDepth = 10000

// Reset prepares l to read data.
func (l *Lexer) Reset(data []byte) {
	*l = Lexer{data: data, buf: l.buf[:0]}
}

// Err returns the first syntax error, or nil.
func (l *Lexer) Err() error {
	if l.err == nil {
		return nil
	}
	return l.err
}

// Finish checks that nothing but whitespace follows the document and returns
// the first syntax error, or nil.
func (l *Lexer) Finish() error {
	if l.err == nil {
		l.skipWS()
		if l.pos < len(l.data) {
			l.fail("invalid character " + quoteChar(l.data[l.pos]) + " after top-level value")
		}
	}
	return l.Err()
}

func (l *Lexer) fail(msg string) {
	if l.err == nil {
		l.err = &SyntaxError{Offset: l.pos, Msg: msg}
	}
	l.pos = len(l.data)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = strconv.Quote(string([]byte{c}))
	}
	return "'" + s[1:len(s)-1] + "'"
}

func (l *Lexer) skipWS() {
	for l.pos < len(l.data) {
		switch l.data[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or fails at the end of
// input.
func (l *Lexer) peek() (byte, bool) {
	l.skipWS()
	if l.pos >= len(l.data) {
		if l.err == nil {
			l.fail("unexpected end of JSON input")
		}
		return 0, false
	}
	return l.data[l.pos], true
}

// kindOf names the JSON type of the value starting with c.
func kindOf(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return "number"
}

// wrongType records that the value at p is not of the wanted type, and skips
// it.
func (l *Lexer) wrongType(c byte, want string, p *JSONPath, v *Violations) {
	l.Skip()
	if l.err == nil {
		v.Add(p.String(), "must be "+want+", got "+kindOf(c))
	}
}

// BeginObject starts reading an object. When the next value is not an
// object, it records a violation at p, skips the value and returns false.
func (l *Lexer) BeginObject(p *JSONPath, v *Violations) bool {
	c, ok := l.peek()
	if !ok {
		return false
	}
	if c != '{' {
		l.wrongType(c, "an object", p, v)
		return false
	}
	return l.open()
}

// BeginArray starts reading an array, like BeginObject.
func (l *Lexer) BeginArray(p *JSONPath, v *Violations) bool {
	c, ok := l.peek()
	if !ok {
		return false
	}
	if c != '[' {
		l.wrongType(c, "an array", p, v)
		return false
	}
	return l.open()
}

func (l *Lexer) open() bool {
	l.depth++
	if l.depth > maxDepth {
		l.fail("exceeded max depth")
		return false
	}
	l.pos++
	l.first = true
	return true
}

// NextKey advances to the next member of the current object and reads its
// key (see Key) and colon. It returns false at the closing brace or on a
// syntax error.
func (l *Lexer) NextKey() bool {
	c, ok := l.peek()
	if !ok {
		return false
	}
	if c == '}' && l.first {
		return l.close()
	}
	if !l.first {
		if c == '}' {
			return l.close()
		}
		if c != ',' {
			l.fail("invalid character " + quoteChar(c) + " after object key:value pair")
			return false
		}
		l.pos++
		if c, ok = l.peek(); !ok {
			return false
		}
	}
	l.first = false
	if c != '"' {
		l.fail("invalid character " + quoteChar(c) + " looking for beginning of object key string")
		return false
	}
	l.keyStart = l.pos
	key, ok := l.str()
	if !ok {
		return false
	}
	l.key, l.keyEnd, l.keyBad = key, l.pos, l.bad
	if c, ok = l.peek(); !ok {
		return false
	}
	if c != ':' {
		l.fail("invalid character " + quoteChar(c) + " after object key")
		return false
	}
	l.pos++
	return true
}

// Key is the key NextKey read, unescaped. It is valid until the next call.
func (l *Lexer) Key() []byte { return l.key }

// NextItem advances to the next element of the current array. It returns
// false at the closing bracket or on a syntax error.
func (l *Lexer) NextItem() bool {
	c, ok := l.peek()
	if !ok {
		return false
	}
	if c == ']' {
		return l.close()
	}
	if !l.first {
		if c != ',' {
			l.fail("invalid character " + quoteChar(c) + " after array element")
			return false
		}
		l.pos++
		if _, ok = l.peek(); !ok {
			return false
		}
	}
	l.first = false
	return true
}

func (l *Lexer) close() bool {
	l.pos++
	l.depth--
	l.first = false
	return false
}

// IsNull reports whether the next value is null (without consuming it).
func (l *Lexer) IsNull() bool {
	c, ok := l.peek()
	return ok && c == 'n'
}

// Skip reads and discards one value of any type, checking its syntax.
func (l *Lexer) Skip() {
	c, ok := l.peek()
	if !ok {
		return
	}
	switch c {
	case '{':
		if !l.open() {
			return
		}
		for l.NextKey() {
			l.Skip()
		}
	case '[':
		if !l.open() {
			return
		}
		for l.NextItem() {
			l.Skip()
		}
	case '"':
		l.str()
	case 't':
		l.literal("true")
	case 'f':
		l.literal("false")
	case 'n':
		l.literal("null")
	default:
		l.number()
	}
	l.first = false
}

func (l *Lexer) literal(word string) bool {
	if len(l.data)-l.pos >= len(word) && string(l.data[l.pos:l.pos+len(word)]) == word {
		l.pos += len(word)
		return true
	}
	for i := 0; i < len(word); i++ {
		if l.pos >= len(l.data) {
			l.fail("unexpected end of JSON input")
			return false
		}
		if l.data[l.pos] != word[i] {
			l.fail("invalid character " + quoteChar(l.data[l.pos]) + " in literal " + word + " (expecting " + quoteChar(word[i]) + ")")
			return false
		}
		l.pos++
	}
	return true
}

// number scans a number literal and returns it.
func (l *Lexer) number() ([]byte, bool) {
	start := l.pos
	d := l.data
	i := l.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	default:
		return l.badNumber(i, "looking for beginning of value")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return l.badNumber(i, "after decimal point in numeric literal")
		}
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return l.badNumber(i, "in exponent of numeric literal")
		}
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	l.pos = i
	return d[start:i], true
}

func (l *Lexer) badNumber(i int, where string) ([]byte, bool) {
	l.pos = i
	if i >= len(l.data) {
		l.fail("unexpected end of JSON input")
	} else {
		l.fail("invalid character " + quoteChar(l.data[i]) + " " + where)
	}
	return nil, false
}

// str scans a string literal at pos (which holds '"') and returns its
// unescaped bytes: a sub-slice of the input when it needs no unescaping,
// else l.buf.
//
// A string that is not valid UTF-8 or holds an unpaired surrogate escape is
// still returned (with encoding/json's U+FFFD replacements), and l.bad says
// why it must be refused.
func (l *Lexer) str() ([]byte, bool) {
	l.bad = ""
	d := l.data
	start := l.pos + 1
	i := start
	// Eight bytes at a time while none is special (a quote, a backslash, a
	// control character or non-ASCII).
	for i+8 <= len(d) && !hasSpecial(binary.LittleEndian.Uint64(d[i:])) {
		i += 8
	}
	for i < len(d) && plainByte[d[i]] {
		i++
	}
	if i < len(d) && d[i] == '"' {
		l.pos = i + 1
		return d[start:i], true
	}
	// Slow path: non-ASCII, escapes or an error.
	for j := i; j < len(d); {
		c := d[j]
		switch {
		case c == '"':
			l.pos = j + 1
			return d[start:j], true
		case c == '\\':
			return l.unescape(start)
		case c < 0x20:
			l.pos = j
			l.fail("invalid character " + quoteChar(c) + " in string literal")
			return nil, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, n := utf8.DecodeRune(d[j:])
			if r == utf8.RuneError && n == 1 {
				return l.unescape(start)
			}
			j += n
		}
	}
	l.pos = len(d)
	l.fail("unexpected end of JSON input")
	return nil, false
}

// plainByte marks the bytes a string holds as they are: printable ASCII
// other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hasSpecial reports whether any byte of w is not plain (SWAR: a quote, a
// backslash, a byte below 0x20 or one with the high bit set).
func hasSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zeroIn := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	return (zeroIn(w^(ones*'"')) | zeroIn(w^(ones*'\\')) | ((w - ones*0x20) &^ w & highs) | (w & highs)) != 0
}

// unescape decodes the string starting at start into l.buf, as
// encoding/json does, and records in l.bad the first byte or escape it had
// to replace.
func (l *Lexer) unescape(start int) ([]byte, bool) {
	d := l.data
	b := l.buf[:0]
	for i := start; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			l.pos = i + 1
			l.buf = b
			return b, true
		case c < 0x20:
			l.pos = i
			l.fail("invalid character " + quoteChar(c) + " in string literal")
			return nil, false
		case c == '\\':
			if i+1 >= len(d) {
				l.pos = len(d)
				l.fail("unexpected end of JSON input")
				return nil, false
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r := hex4(d, i+2)
				if r < 0 {
					l.pos = min(i+2, len(d))
					for l.pos < len(d) && l.pos < i+6 && isHex(d[l.pos]) {
						l.pos++
					}
					if l.pos >= len(d) {
						l.fail("unexpected end of JSON input")
					} else {
						l.fail("invalid character " + quoteChar(d[l.pos]) + " in \\u hexadecimal character escape")
					}
					return nil, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						r2 = hex4(d, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						i += 6
						break
					}
					l.refuse(UnpairedSurrogate(d[i-4:i], i-6-(start-1)))
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				l.pos = i + 1
				l.fail("invalid character " + quoteChar(e) + " in string escape code")
				return nil, false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && n == 1 {
				l.refuse(NotUTF8(c, i-(start-1)))
			}
			b = utf8.AppendRune(b, r)
			i += n
		}
	}
	l.pos = len(d)
	l.fail("unexpected end of JSON input")
	return nil, false
}

// refuse records why the string being read must be refused, keeping the
// first reason.
func (l *Lexer) refuse(why string) {
	if l.bad == "" {
		l.bad = why
	}
}

// NotUTF8 is the reason a string is refused for byte c at offset off of its
// literal (the opening quote is offset 0), worded as runtime/cloudevents
// words it for attributes.
func NotUTF8(c byte, off int) string {
	return "not valid UTF-8: byte 0x" + strconv.FormatUint(uint64(c), 16) + " at offset " + strconv.Itoa(off)
}

// UnpairedSurrogate is the reason a string is refused for the \u escape of
// the four hex digits hex at offset off of its literal.
func UnpairedSurrogate(hex []byte, off int) string {
	return "unpaired UTF-16 surrogate \\u" + string(hex) + " at offset " + strconv.Itoa(off)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hex4 decodes four hex digits at d[i:], or returns -1.
func hex4(d []byte, i int) rune {
	if i+4 > len(d) {
		return -1
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// ReadString reads a string into dst. Other values are violations.
func (l *Lexer) ReadString(dst *string, p *JSONPath, v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	if c != '"' {
		l.wrongType(c, "a string", p, v)
		return
	}
	if s, ok := l.str(); ok {
		if l.bad != "" {
			v.Add(p.String(), l.bad)
		} else {
			*dst = string(s)
		}
	}
	l.first = false
}

// ReadEnum reads a string like ReadString, but a value found in values is
// assigned from there, without allocating.
func (l *Lexer) ReadEnum(dst *string, values []string, p *JSONPath, v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	if c != '"' {
		l.wrongType(c, "a string", p, v)
		return
	}
	if s, ok := l.str(); ok {
		if l.bad != "" {
			v.Add(p.String(), l.bad)
		} else {
			*dst = intern(s, values)
		}
	}
	l.first = false
}

func intern(s []byte, values []string) string {
	for _, e := range values {
		if string(s) == e {
			return e
		}
	}
	return string(s)
}

// ReadInt reads an integer into dst. JSON Schema's integer is a number with
// no fractional part, however written (2020-12, "integer"), so 10.0 and 1e1
// are 10: the literal is parsed exactly (ParseInteger), never through
// float64, so that 9007199254740993.0 stays 9007199254740993. A fraction
// (1.5) or a value outside int64 (1e400, 9223372036854775808) is a
// violation.
func (l *Lexer) ReadInt(dst *int64, p *JSONPath, v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	if c != '-' && (c < '0' || c > '9') {
		l.wrongType(c, "an integer", p, v)
		return
	}
	lit, ok := l.number()
	l.first = false
	if !ok {
		return
	}
	n, err := ParseInteger(lit)
	switch err {
	case nil:
		*dst = n
	case ErrFraction:
		v.Add(p.String(), "must be an integer, got "+string(lit))
	default:
		v.Add(p.String(), "must be an integer within int64, got "+string(lit))
	}
}

// ReadFloat reads a number into dst. Numbers outside float64 are violations.
func (l *Lexer) ReadFloat(dst *float64, p *JSONPath, v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	if c != '-' && (c < '0' || c > '9') {
		l.wrongType(c, "a number", p, v)
		return
	}
	lit, ok := l.number()
	l.first = false
	if !ok {
		return
	}
	if f, ok := fastFloat(lit); ok {
		*dst = f
		return
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		v.Add(p.String(), "must be a number within float64, got "+string(lit))
		return
	}
	*dst = f
}

// fastFloat converts the common literals exactly without strconv: at most
// 15 significant digits, at most 22 after the point and no exponent, so the
// mantissa and the power of ten are exact float64s and one division rounds
// correctly (Clinger's fast path); ParseFloat handles the rest.
func fastFloat(lit []byte) (float64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var mant uint64
	digits, frac := 0, -1
	for i, c := range lit {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			if mant != 0 {
				digits++
			}
		case c == '.':
			frac = i
		default:
			return 0, false
		}
	}
	if digits > 15 {
		return 0, false
	}
	f := float64(mant)
	if frac >= 0 {
		n := len(lit) - frac - 1
		if n > 22 {
			return 0, false
		}
		f /= pow10[n]
	}
	if neg {
		f = -f
	}
	return f, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// ReadBool reads a boolean into dst.
func (l *Lexer) ReadBool(dst *bool, p *JSONPath, v *Violations) {
	c, ok := l.peek()
	if !ok {
		return
	}
	switch c {
	case 't':
		if l.literal("true") {
			*dst = true
		}
	case 'f':
		if l.literal("false") {
			*dst = false
		}
	default:
		l.wrongType(c, "a boolean", p, v)
		return
	}
	l.first = false
}

// UnknownKey records that the current key is not allowed in the object at
// p, and skips its value.
func (l *Lexer) UnknownKey(p *JSONPath, v *Violations) {
	kp := l.keyPath(p)
	l.Skip()
	if l.err != nil {
		return
	}
	if l.keyBad != "" {
		v.Add(kp.String(), l.keyBad)
		return
	}
	v.Add(kp.String(), "unknown property")
}

// Duplicate is the reason a member is refused when its name appears twice in
// one object (after unescaping, so "id" and "\u0069d" are the same name):
// encoding/json keeps the last, other parsers the first, so readers of the
// stored event would disagree.
const Duplicate = "appears more than once"

// First marks the current key as seen in the bit set word (bit is the
// property's bit) and reports whether this is its first occurrence in the
// object at p. A repeated member, or one whose name is refused (see
// Lexer), is a violation and its value is skipped; the caller reads the
// value only when First returns true.
func (l *Lexer) First(word *uint64, bit uint64, p *JSONPath, v *Violations) bool {
	if *word&bit == 0 && l.keyBad == "" {
		*word |= bit
		return true
	}
	why := l.keyBad
	if why == "" {
		why = Duplicate
	}
	kp := l.keyPath(p)
	l.Skip()
	if l.err == nil {
		v.Add(kp.String(), why)
	}
	return false
}

// keyPath is the path of the current member in the object at p. A refused
// name is given as written between its quotes, escapes and invalid bytes
// as they are, since its unescaped form has U+FFFD where they were.
func (l *Lexer) keyPath(p *JSONPath) JSONPath {
	if l.keyBad != "" {
		return p.Key(string(l.data[l.keyStart+1 : l.keyEnd-1]))
	}
	return p.Key(string(l.key))
}
