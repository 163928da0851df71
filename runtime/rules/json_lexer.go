package rules

import (
	"strconv"

	"github.com/eventrunner/eventrunner/runtime/jsonscan"
)

// Lexer is the pull-style JSON reader that generated decoders are built on.
// It reads one document held in memory and never uses reflection; the
// scanning itself (strings, numbers, literals, skipped values) is
// runtime/jsonscan's, shared with the CloudEvents codec.
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
		if l.pos = jsonscan.SkipWS(l.data, l.pos); l.pos < len(l.data) {
			l.syntax(l.pos, jsonscan.Trailing)
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

// syntax records the syntax error c at offset off (see fail), in
// encoding/json's words.
func (l *Lexer) syntax(off int, c jsonscan.Code) {
	if l.err == nil {
		l.err = &SyntaxError{Offset: off, Msg: c.Message(l.data, off)}
	}
	l.pos = len(l.data)
}

// peek skips whitespace and returns the next byte, or fails at the end of
// input.
func (l *Lexer) peek() (byte, bool) {
	if l.pos = jsonscan.SkipWS(l.data, l.pos); l.pos < len(l.data) {
		return l.data[l.pos], true
	}
	l.fail(jsonscan.EndOfInput)
	return 0, false
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
	if l.depth > jsonscan.MaxDepth {
		l.fail(jsonscan.TooDeepMessage)
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
			l.syntax(l.pos, jsonscan.BadObjectSep)
			return false
		}
		l.pos++
		if c, ok = l.peek(); !ok {
			return false
		}
	}
	l.first = false
	if c != '"' {
		l.syntax(l.pos, jsonscan.BadKey)
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
		l.syntax(l.pos, jsonscan.BadColon)
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
			l.syntax(l.pos, jsonscan.BadArraySep)
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
	if _, ok := l.peek(); !ok {
		return
	}
	end, c := jsonscan.Skip(l.data, l.pos, l.depth)
	if c != jsonscan.OK {
		l.syntax(end, c)
		return
	}
	l.pos = end
	l.first = false
}

func (l *Lexer) literal(word string) bool {
	end, c := jsonscan.Literal(l.data, l.pos, word)
	if c != jsonscan.OK {
		l.syntax(end, c)
		return false
	}
	l.pos = end
	return true
}

// str scans a string literal at pos (which holds '"') and returns its
// unescaped bytes: a sub-slice of the input when it needs no unescaping,
// else l.buf.
//
// A string that is not valid UTF-8 or holds an unpaired surrogate escape is
// still returned (with encoding/json's U+FFFD replacements), and l.bad says
// why it must be refused, in the words the envelope's attribute checks use
// too (jsonscan.Reason).
func (l *Lexer) str() ([]byte, bool) {
	v, end, bad, c := jsonscan.Value(l.buf[:0], l.data, l.pos)
	if c != jsonscan.OK || bad != 0 || len(v) > 0 && &v[0] != &l.data[l.pos+1] {
		return l.strSlow(v, end, bad, c)
	}
	l.pos, l.bad = end, ""
	return v, true
}

// strSlow is str's rare case, kept out of its common path: a string that
// is malformed, refused or unescaped (into l.buf, which is kept for the
// next).
func (l *Lexer) strSlow(v []byte, end, bad int, c jsonscan.Code) ([]byte, bool) {
	l.bad = ""
	if c != jsonscan.OK {
		l.syntax(end, c)
		return nil, false
	}
	if bad != 0 {
		l.bad = jsonscan.Reason(l.data[l.pos:end], bad)
	}
	if len(v) > 0 && &v[0] != &l.data[l.pos+1] {
		l.buf = v
	}
	l.pos = end
	return v, true
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
	end, sc := jsonscan.Number(l.data, l.pos)
	l.first = false
	if sc != jsonscan.OK {
		l.syntax(end, sc)
		return
	}
	lit := l.data[l.pos:end]
	l.pos = end
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
	end, sc := jsonscan.Number(l.data, l.pos)
	l.first = false
	if sc != jsonscan.OK {
		l.syntax(end, sc)
		return
	}
	lit := l.data[l.pos:end]
	l.pos = end
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
