package jsonscan

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// String scans the string literal at d[i], which must be '"', checking its
// syntax only (Value also decodes it and checks its UTF-8), and returns the
// offset just past its closing quote.
//
// On a syntax error end is the offending byte's offset (len(d) when the
// input ends first) and c is BadString (a control character, or no closing
// quote), BadEscape or BadHex.
func String(d []byte, i int) (end int, c Code) {
	j := i + 1
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character.
		for j+8 <= len(d) && !hasSyntax(binaryWord(d, j)) {
			j += 8
		}
		for j < len(d) && text[d[j]] {
			j++
		}
		if j >= len(d) {
			return len(d), BadString
		}
		switch d[j] {
		case '"':
			return j + 1, OK
		case '\\':
			if j, c = escape(d, j); c != OK {
				return j, c
			}
		default: // a control character
			return j, BadString
		}
	}
}

// text marks the bytes a string literal may hold as they are: all but the
// quote, the backslash and the control characters.
var text = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ascii marks the bytes of text that need no UTF-8 check either.
var ascii = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones     = 0x0101010101010101
	highBits = 0x8080808080808080
)

// hasSyntax reports whether a byte of w is a quote, a backslash or below
// 0x20 (SWAR: each test is exact as a whole, though not per byte).
func hasSyntax(w uint64) bool {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(w-ones*0x20)&^w)&highBits != 0
}

// hasSpecial reports whether a byte of w is not in ascii.
func hasSpecial(w uint64) bool {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(w-ones*0x20)&^w|w)&highBits != 0
}

// binaryWord is the eight bytes at d[i:] as one word.
func binaryWord(d []byte, i int) uint64 { return binary.LittleEndian.Uint64(d[i:]) }

// escape checks the escape whose backslash is at d[j] and returns the offset
// after it.
func escape(d []byte, j int) (int, Code) {
	j++
	if j >= len(d) {
		return j, BadEscape
	}
	switch d[j] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return j + 1, OK
	case 'u':
		for k := j + 1; k < j+5; k++ {
			if k >= len(d) || !isHex(d[k]) {
				return k, BadHex
			}
		}
		return j + 5, OK
	}
	return j, BadEscape
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Value scans the string literal at d[i], which must be '"', as String does
// (same syntax errors, same offsets), and returns its value decoded as
// encoding/json decodes it, escapes and surrogate pairs included. When the
// literal has no escape and is valid UTF-8, v is the bytes between its
// quotes in d, and nothing is copied; otherwise v is dst with the value
// appended.
//
// What encoding/json silently replaces with U+FFFD is replaced too, and
// reported: bad is the offset from d[i] (the opening quote, so never 0
// otherwise) of the first byte that is not valid UTF-8 (overlong forms and
// encoded surrogates included) or of the backslash of the first \u escape
// of an unpaired UTF-16 surrogate; Reason words it.
func Value(dst, d []byte, i int) (v []byte, end, bad int, c Code) {
	j := i + 1
	for j+8 <= len(d) && !hasSpecial(binaryWord(d, j)) {
		j += 8
	}
	for j < len(d) && ascii[d[j]] {
		j++
	}
	if j < len(d) && d[j] == '"' {
		return d[i+1 : j], j + 1, 0, OK
	}
	return value(dst, d, i, j)
}

// value is Value past the plain ASCII prefix d[i+1:j]. Bytes are copied to
// dst only from the first escape or invalid byte on.
func value(dst, d []byte, i, j int) (v []byte, end, bad int, c Code) {
	copying := false
	for {
		k := j
		for k+8 <= len(d) && !hasSpecial(binaryWord(d, k)) {
			k += 8
		}
		for k < len(d) && ascii[d[k]] {
			k++
		}
		if copying {
			dst = append(dst, d[j:k]...)
		}
		if j = k; j >= len(d) {
			return nil, len(d), 0, BadString
		}
		b := d[j]
		switch {
		case b == '"':
			if !copying {
				return d[i+1 : j], j + 1, 0, OK
			}
			return dst, j + 1, bad, OK
		case b < 0x20:
			return nil, j, 0, BadString
		case b >= utf8.RuneSelf:
			n := 2
			if b < 0xc2 || b > 0xdf || j+1 >= len(d) || d[j+1]&0xc0 != 0x80 { // not the common two-byte form
				var r rune
				if r, n = utf8.DecodeRune(d[j:]); r == utf8.RuneError && n == 1 {
					if !copying {
						dst, copying = append(dst, d[i+1:j]...), true
					}
					if bad == 0 {
						bad = j - i
					}
					dst = utf8.AppendRune(dst, utf8.RuneError)
					j++
					continue
				}
			}
			if copying {
				dst = append(dst, d[j:j+n]...)
			}
			j += n
			continue
		}
		// A backslash.
		next, code := escape(d, j)
		if code != OK {
			return nil, next, 0, code
		}
		if !copying {
			dst, copying = append(dst, d[i+1:j]...), true
		}
		if d[j+1] != 'u' {
			dst = append(dst, unescaped[d[j+1]])
			j = next
			continue
		}
		var unpaired bool
		if dst, next, unpaired = unescapeU(dst, d, j); unpaired && bad == 0 {
			bad = j - i
		}
		j = next
	}
}

// unescaped maps the character after a backslash to the byte it stands for.
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// unescapeU appends the character of the \u escape at d[i], already checked,
// (with the low surrogate that follows a high one) and returns the offset
// after it, and whether the escape is an unpaired surrogate (appended as
// U+FFFD).
func unescapeU(dst, d []byte, i int) (out []byte, next int, unpaired bool) {
	r := hex4(d, i+2)
	next = i + 6
	if utf16.IsSurrogate(r) {
		r2 := rune(-1)
		if next+1 < len(d) && d[next] == '\\' && d[next+1] == 'u' {
			r2 = hex4(d, next+2)
		}
		if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
			return utf8.AppendRune(dst, pair), next + 6, false
		}
		return utf8.AppendRune(dst, utf8.RuneError), next, true
	}
	return utf8.AppendRune(dst, r), next, false
}

// hex4 decodes the four hex digits at d[i:], or returns -1.
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
		r = r<<4 | rune(c)
	}
	return r
}

// Reason words why the string literal lit is refused for the offset bad
// that Value reported, in the words eventrunner uses for attributes and
// data alike: "not valid UTF-8: byte 0xff at offset 5" or
// "unpaired UTF-16 surrogate \ud800 at offset 1".
func Reason(lit []byte, bad int) string {
	if lit[bad] == '\\' {
		return "unpaired UTF-16 surrogate \\u" + string(lit[bad+2:bad+6]) + " at offset " + strconv.Itoa(bad)
	}
	return "not valid UTF-8: byte 0x" + strconv.FormatUint(uint64(lit[bad]), 16) + " at offset " + strconv.Itoa(bad)
}
