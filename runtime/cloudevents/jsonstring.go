package cloudevents

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// unquote decodes the JSON string literal v (quotes included) as
// encoding/json does, except that it refuses what encoding/json would
// silently replace with U+FFFD: invalid UTF-8 (overlong forms, encoded
// surrogates, stray continuation bytes) and \u escapes of unpaired UTF-16
// surrogates. Two ids that differ only in such bytes would otherwise decode
// to the same string and one event would overwrite the other. The reason
// names the offending byte offset within v.
//
// v must already have passed skipString; unquote still bounds-checks every
// access so that a malformed literal is an error, never a panic.
func unquote(v []byte) (string, string) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", "must be a string"
	}
	inner := v[1 : len(v)-1]
	i := 0
	for i < len(inner) && inner[i] != '\\' && inner[i] < utf8.RuneSelf {
		i++
	}
	if i == len(inner) {
		return string(inner), ""
	}
	b := make([]byte, 0, len(inner))
	b = append(b, inner[:i]...)
	for i < len(inner) {
		c := inner[i]
		switch {
		case c == '\\':
			var why string
			if b, i, why = unescape(b, inner, i); why != "" {
				return "", why
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(inner[i:])
			if r == utf8.RuneError && n == 1 {
				return "", "not valid UTF-8: byte 0x" + strconv.FormatUint(uint64(c), 16) + " at offset " + strconv.Itoa(i+1)
			}
			b = append(b, inner[i:i+n]...)
			i += n
		}
	}
	return string(b), ""
}

// unescape appends the character of the escape at inner[i] (a backslash)
// and returns the index after it.
func unescape(b, inner []byte, i int) ([]byte, int, string) {
	if i+1 >= len(inner) {
		return b, i, "unterminated escape at offset " + strconv.Itoa(i+1)
	}
	switch e := inner[i+1]; e {
	case '"', '\\', '/':
		return append(b, e), i + 2, ""
	case 'b':
		return append(b, '\b'), i + 2, ""
	case 'f':
		return append(b, '\f'), i + 2, ""
	case 'n':
		return append(b, '\n'), i + 2, ""
	case 'r':
		return append(b, '\r'), i + 2, ""
	case 't':
		return append(b, '\t'), i + 2, ""
	case 'u':
	default:
		return b, i, "invalid escape at offset " + strconv.Itoa(i+1)
	}
	r, ok := hex4(inner, i+2)
	if !ok {
		return b, i, "invalid \\u escape at offset " + strconv.Itoa(i+1)
	}
	next := i + 6
	if utf16.IsSurrogate(r) {
		lone := "unpaired UTF-16 surrogate \\u" + string(inner[i+2:i+6]) + " at offset " + strconv.Itoa(i+1)
		if r >= 0xdc00 || next+1 >= len(inner) || inner[next] != '\\' || inner[next+1] != 'u' {
			return b, i, lone
		}
		r2, ok := hex4(inner, next+2)
		if !ok || r2 < 0xdc00 || r2 > 0xdfff {
			return b, i, lone
		}
		r, next = utf16.DecodeRune(r, r2), next+6
	}
	return utf8.AppendRune(b, r), next, ""
}

// hex4 reads the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendStringVerbatim appends s as a JSON string, escaping what JSON
// requires but copying every other byte as it is, invalid UTF-8 included:
// attributes taken from headers are kept unmangled until Check refuses
// them, naming the attribute.
func appendStringVerbatim(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
