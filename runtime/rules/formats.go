package rules

import (
	"strconv"
	"unicode/utf8"
)

// Format checks used by generated validators. They do not allocate.

// IsDateTime reports whether s is an RFC 3339 date-time
// (e.g. 2024-05-01T12:30:00.5+02:00), calendar and clock ranges included
// (leap years; second 60 for leap seconds). "T" and "Z" may be lower case,
// as RFC 3339 allows.
func IsDateTime(s string) bool {
	// yyyy-mm-ddThh:mm:ss
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 60 {
		return false
	}
	i := 19
	if s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start || i >= len(s) {
			return false
		}
	}
	switch s[i] {
	case 'Z', 'z':
		return i+1 == len(s)
	case '+', '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return false
		}
		oh, ok1 := digits(s, i+1, 2)
		om, ok2 := digits(s, i+4, 2)
		return ok1 && ok2 && oh <= 23 && om <= 59
	}
	return false
}

func digits(s string, at, n int) (int, bool) {
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form
// (either case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// IsEmail reports whether s is a plausible addr-spec: a dot-atom local part
// (RFC 5322 atext, at most 64 bytes), "@", and a domain of letter-digit-hyphen
// labels or a bracketed IPv4 literal, at most 254 bytes in all. Quoted local
// parts and comments, legal but unused in practice, are refused.
func IsEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	at := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at < 1 || at > 64 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	prevDot := true
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case !isAtext(c):
			return false
		}
		prevDot = false
	}
	if prevDot {
		return false
	}
	if len(domain) > 2 && domain[0] == '[' && domain[len(domain)-1] == ']' {
		return isIPv4(domain[1 : len(domain)-1])
	}
	return isHostname(domain)
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

// isHostname checks dot-separated labels of 1–63 letters, digits and inner
// hyphens.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	n := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n == 0 || n > 63 || s[i-1] == '-' || s[i-n] == '-' {
				return false
			}
			n = 0
			continue
		}
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
		n++
	}
	return true
}

func isIPv4(s string) bool {
	parts, n, v := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if n == 0 || v > 255 || (n > 1 && s[i-n] == '0') {
				return false
			}
			parts++
			n, v = 0, 0
			continue
		}
		if s[i] < '0' || s[i] > '9' || n == 3 {
			return false
		}
		v = v*10 + int(s[i]-'0')
		n++
	}
	return parts == 4
}

// IsURI reports whether s is an absolute URI (RFC 3986): a scheme, ":", and
// the rest made of unreserved, reserved and percent-encoded characters only.
func IsURI(s string) bool {
	colon := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' {
			colon = i
			break
		}
		isAlpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 0 && !isAlpha || !(isAlpha || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	if colon < 1 {
		return false
	}
	for i := colon + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			switch c {
			case '-', '.', '_', '~', ':', '/', '?', '#', '[', ']', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
			default:
				return false
			}
		}
	}
	return true
}

// QuoteValue quotes a string for a violation message, cutting it after 64
// runes so that a huge value does not flood logs.
func QuoteValue(s string) string {
	const limit = 64
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == limit {
			return strconv.Quote(s[:i]) + "..."
		}
		n++
	}
	return strconv.Quote(s)
}

// FormatFloat renders a number in a violation message.
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// FormatInt renders an integer in a violation message.
func FormatInt(n int64) string { return strconv.FormatInt(n, 10) }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
