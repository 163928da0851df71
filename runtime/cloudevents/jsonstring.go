package cloudevents

import "github.com/eventrunner/eventrunner/runtime/jsonscan"

// unquote decodes the JSON string literal v (quotes included) as
// encoding/json does, except that it refuses what encoding/json would
// silently replace with U+FFFD: invalid UTF-8 (overlong forms, encoded
// surrogates, stray continuation bytes) and \u escapes of unpaired UTF-16
// surrogates. Two ids that differ only in such bytes would otherwise decode
// to the same string and one event would overwrite the other. The reason
// names the offending byte offset within v (jsonscan.Reason, the wording
// the generated decoders use inside data too).
//
// v is usually one parser already scanned, but unquote checks it again, so
// that anything but one well-formed literal is refused, never mangled.
func unquote(v []byte) (string, string) {
	if len(v) < 2 || v[0] != '"' {
		return "", "must be a string"
	}
	var buf [64]byte
	s, end, bad, c := jsonscan.Value(buf[:0], v, 0)
	switch {
	case c != jsonscan.OK || end != len(v):
		return "", "must be a string"
	case bad != 0:
		return "", jsonscan.Reason(v, bad)
	}
	return string(s), ""
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
