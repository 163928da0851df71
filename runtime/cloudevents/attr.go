package cloudevents

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReservedExtensions are the extension attributes eventrunner sets on
// processed events (runtime/engine writes them). A producer's event that
// carries one is refused: readers of the processed event could not tell a
// forged erfired or erroute from the engine's own.
var ReservedExtensions = []string{"erkb", "erbundle", "erfired", "ertags", "erroute", "erdropped"}

// IsReserved reports whether name is one of ReservedExtensions.
func IsReserved(name string) bool {
	switch name {
	case "erkb", "erbundle", "erfired", "ertags", "erroute", "erdropped":
		return true
	}
	return false
}

// isMember reports whether name is a context attribute or data member of the
// structured format, which can never be an extension: one set as an
// extension (a ce-data header, a gRPC attribute "data") would be written
// twice in the structured event.
func isMember(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "tenantid", "data", "data_base64":
		return true
	}
	return false
}

// stringProblem says why s is not a CloudEvents String (spec 1.0.2, type
// system): it must be valid UTF-8 without the control characters U+0000–
// U+001F and U+007F–U+009F and without noncharacters. Surrogates cannot
// occur in valid UTF-8 (and unquote refuses their escapes unpaired). It
// returns "" when s is fine; the check costs one pass over ASCII bytes.
func stringProblem(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return "control character " + runeName(rune(c)) + " at byte " + strconv.Itoa(i) + " is not allowed"
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return "not valid UTF-8: byte 0x" + strconv.FormatUint(uint64(c), 16) + " at byte " + strconv.Itoa(i)
		case r <= 0x9f:
			return "control character " + runeName(r) + " at byte " + strconv.Itoa(i) + " is not allowed"
		case r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe:
			return "noncharacter " + runeName(r) + " at byte " + strconv.Itoa(i) + " is not allowed"
		}
		i += n
	}
	return ""
}

func runeName(r rune) string {
	s := strconv.FormatUint(uint64(r), 16)
	return "U+" + strings.Repeat("0", max(0, 4-len(s))) + strings.ToUpper(s)
}

// uriRefProblem says why s is not a URI-reference (RFC 3986 §4.1), or ""
// when it is one. It is strict where the RFC is: no spaces, no '<', '>',
// '"', '{', '}', '|', '\', '^', '`', percent signs only in %XX escapes, a
// scheme of ALPHA *(ALPHA / DIGIT / "+" / "-" / "."), a numeric port,
// bracketed IP literals that parse as IPv6. Characters beyond ASCII are
// allowed in the host, path, query and fragment (as in an IRI, RFC 3987),
// since producers send Unicode paths; s has passed stringProblem already.
// Whatever it accepts, net/url.Parse accepts too (FuzzURIReference).
func uriRefProblem(s string) string {
	rest, frag, hasFrag := strings.Cut(s, "#")
	if hasFrag {
		if p := charsProblem(frag, len(rest)+1, pcharSet|flagSlash|flagQuery); p != "" {
			return p
		}
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery {
		if p := charsProblem(query, len(rest)+1, pcharSet|flagSlash|flagQuery); p != "" {
			return p
		}
	}
	off := 0
	if i := strings.IndexAny(rest, ":/"); i >= 0 && rest[i] == ':' {
		if !validScheme(rest[:i]) {
			return "the part before the first ':' must be a scheme (a letter, then letters, digits, '+', '-' or '.'); a relative reference's first segment cannot contain ':'"
		}
		rest, off = rest[i+1:], i+1
	}
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		path := ""
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, path = auth[:i], auth[i:]
		}
		if p := authorityProblem(auth, off+2); p != "" {
			return p
		}
		return charsProblem(path, off+2+len(auth), pcharSet|flagSlash)
	}
	return charsProblem(rest, off, pcharSet|flagSlash)
}

// Character classes of RFC 3986 as flags.
const (
	flagUnreserved = 1 << iota // ALPHA DIGIT - . _ ~
	flagSubDelim               // ! $ & ' ( ) * + , ; =
	flagColon
	flagAt
	flagSlash
	flagQuery // ?
	flagPct   // %XX escapes
	flagUnicode

	pcharSet = flagUnreserved | flagSubDelim | flagColon | flagAt | flagPct | flagUnicode
)

func charClass(c byte) int {
	switch {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		return flagUnreserved
	case c >= utf8.RuneSelf:
		return flagUnicode
	}
	switch c {
	case '-', '.', '_', '~':
		return flagUnreserved
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return flagSubDelim
	case ':':
		return flagColon
	case '@':
		return flagAt
	case '/':
		return flagSlash
	case '?':
		return flagQuery
	case '%':
		return flagPct
	}
	return 0
}

// charsProblem checks that every byte of s is in allowed; off is where s
// starts in the whole reference, for the message.
func charsProblem(s string, off int, allowed int) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		cls := charClass(c)
		if cls&allowed == 0 {
			return "character " + strconv.QuoteRune(rune(c)) + " at byte " + strconv.Itoa(off+i) + " is not allowed in a URI-reference (percent-encode it)"
		}
		if cls == flagPct {
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
				return "'%' at byte " + strconv.Itoa(off+i) + " does not start a %XX escape"
			}
			i += 2
		}
	}
	return ""
}

func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if charClass(c) != flagUnreserved && c != '+' || c == '_' || c == '~' {
			return false
		}
	}
	return true
}

// authorityProblem checks [ userinfo "@" ] host [ ":" port ].
func authorityProblem(a string, off int) string {
	if i := strings.IndexByte(a, '@'); i >= 0 {
		if p := charsProblem(a[:i], off, flagUnreserved|flagSubDelim|flagColon|flagPct); p != "" {
			return p
		}
		a, off = a[i+1:], off+i+1
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "the IP literal at byte " + strconv.Itoa(off) + " has no closing ']'"
		}
		// Zones (RFC 6874) are refused: nothing an event source needs.
		if ip, err := netip.ParseAddr(a[1:end]); err != nil || !ip.Is6() || ip.Zone() != "" {
			return "the IP literal at byte " + strconv.Itoa(off) + " is not an IPv6 address"
		}
		host, port = "", a[end+1:]
		if port != "" && port[0] != ':' {
			return "unexpected " + strconv.QuoteRune(rune(port[0])) + " after the IP literal at byte " + strconv.Itoa(off+end+1)
		}
	} else if i := strings.IndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i:]
	}
	if port != "" {
		for i := 1; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "the port after byte " + strconv.Itoa(off+len(a)-len(port)) + " must be digits"
			}
		}
	}
	// net/url allows %XX in a host only for bytes beyond ASCII.
	for i := 0; i+2 < len(host); i++ {
		if host[i] == '%' && isHexDigit(host[i+1]) && host[i+1] < '8' {
			return "the host at byte " + strconv.Itoa(off) + " percent-encodes an ASCII character"
		}
	}
	return charsProblem(host, off, flagUnreserved|flagSubDelim|flagPct|flagUnicode)
}

// extensionProblem says why the JSON value v of an extension is not a
// CloudEvents scalar in the JSON format: a string (a CloudEvents String), an
// integer in the spec's Integer range (-2^31 .. 2^31-1) written without
// fraction or exponent, or a boolean. Objects and arrays are refused: the
// spec's extension values are scalars, and an array nested 1000 deep would
// otherwise be carried into every processed event.
func extensionProblem(v []byte) string {
	if len(v) == 0 {
		return "has no value"
	}
	switch c := v[0]; {
	case c == '"':
		s, why := unquote(v)
		if why != "" {
			return why
		}
		return stringProblem(s)
	case c == 't' || c == 'f':
		if string(v) == "true" || string(v) == "false" {
			return ""
		}
	case c == '-' || c >= '0' && c <= '9':
		if _, err := strconv.ParseInt(string(v), 10, 32); err != nil {
			return "integer values must be whole numbers from -2147483648 to 2147483647 written without fraction or exponent, got " + strconv.Quote(truncate(string(v), 40))
		}
		return ""
	case c == '{':
		return "must be a string, integer or boolean, not an object (CloudEvents extension values are scalars)"
	case c == '[':
		return "must be a string, integer or boolean, not an array (CloudEvents extension values are scalars)"
	}
	return "must be a string, integer or boolean"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
