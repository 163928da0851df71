package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// Code says what a scan found wrong at the offset it stopped at: what was
// expected there. At the end of the input (the offset is len(d)) every code
// means the input ended too early.
type Code uint8

// The codes. OK is no error.
const (
	OK           Code = iota
	BadValue          // looking for the beginning of a value
	BadString         // a control character in a string, or no closing quote
	BadEscape         // a backslash followed by no valid escape character
	BadHex            // a \u escape without four hex digits
	BadNumber         // no digit after a number's minus sign
	BadFraction       // no digit after a number's decimal point
	BadExponent       // no digit in a number's exponent
	BadLiteral        // a misspelled true, false or null
	BadKey            // looking for an object key's string
	BadColon          // looking for the colon after an object key
	BadObjectSep      // looking for ',' or '}' after an object member
	BadArraySep       // looking for ',' or ']' after an array element
	TooDeep           // an array or object nested beyond MaxDepth
	Trailing          // data after the top-level value (for callers that check)
)

// Message's words for TooDeep, and for every code at the end of the input.
const (
	TooDeepMessage = "exceeded max depth"
	EndOfInput     = "unexpected end of JSON input"
)

// Message words c at offset off of d as encoding/json words its syntax
// errors ("invalid character 'x' in string literal", "unexpected end of
// JSON input"). It allocates: call it once an error is known.
func (c Code) Message(d []byte, off int) string {
	if c == TooDeep {
		return TooDeepMessage
	}
	if off >= len(d) {
		return EndOfInput
	}
	ch := "invalid character " + quoteChar(d[off])
	switch c {
	case BadString:
		return ch + " in string literal"
	case BadEscape:
		return ch + " in string escape code"
	case BadHex:
		return ch + " in \\u hexadecimal character escape"
	case BadFraction:
		return ch + " after decimal point in numeric literal"
	case BadExponent:
		return ch + " in exponent of numeric literal"
	case BadLiteral:
		start := LiteralStart(d, off)
		word := "null"
		switch d[start] {
		case 't':
			word = "true"
		case 'f':
			word = "false"
		}
		return ch + " in literal " + word + " (expecting " + quoteChar(word[min(off-start, len(word)-1)]) + ")"
	case BadKey:
		return ch + " looking for beginning of object key string"
	case BadColon:
		return ch + " after object key"
	case BadObjectSep:
		return ch + " after object key:value pair"
	case BadArraySep:
		return ch + " after array element"
	case Trailing:
		return ch + " after top-level value"
	}
	return ch + " looking for beginning of value" // BadValue, BadNumber
}

// quoteChar quotes c as encoding/json's messages do.
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
