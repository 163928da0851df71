package jsonscan

// MaxDepth is encoding/json's nesting limit. Skip refuses deeper values, so
// that the scanner and encoding/json accept the same documents.
const MaxDepth = 10000

// space marks JSON's four whitespace bytes.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// SkipWS returns the offset of the first byte at or after i that is not
// JSON whitespace (len(d) when there is none).
func SkipWS(d []byte, i int) int {
	for i < len(d) && space[d[i]] {
		i++
	}
	return i
}

// Number scans the number literal at d[i] per JSON's grammar and returns the
// offset after it. A literal that does not start with '-' or a digit is
// BadValue at i; after the minus sign, BadNumber; then BadFraction or
// BadExponent where digits are missing.
func Number(d []byte, i int) (int, Code) {
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	case i > start:
		return i, BadNumber
	default:
		return i, BadValue
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, BadFraction
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
			return i, BadExponent
		}
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	return i, OK
}

// Literal matches word (true, false or null) at d[i] and returns the offset
// after it, or the offset of the first byte that differs and BadLiteral.
func Literal(d []byte, i int, word string) (int, Code) {
	if len(d)-i >= len(word) && string(d[i:i+len(word)]) == word {
		return i + len(word), OK
	}
	for k := 0; k < len(word); k++ {
		if i+k >= len(d) || d[i+k] != word[k] {
			return i + k, BadLiteral
		}
	}
	return i + len(word), OK
}

// LiteralStart is where the literal that Literal or Skip refused at off
// begins (none of true, false and null repeats its first letter).
func LiteralStart(d []byte, off int) int {
	s := min(off, len(d)) - 1
	for s > 0 && d[s] != 't' && d[s] != 'f' && d[s] != 'n' {
		s--
	}
	return max(s, 0)
}

// Skip scans the value at d[i] (no whitespace before it), checking its
// syntax, and returns the offset after it. depth is the number of arrays
// and objects already open around it: a value that would open more than
// MaxDepth is TooDeep at the bracket that does.
func Skip(d []byte, i, depth int) (int, Code) {
	if i >= len(d) {
		return i, BadValue
	}
	switch d[i] {
	case '"':
		return String(d, i)
	case '{':
		return skipObject(d, i, depth)
	case '[':
		return skipArray(d, i, depth)
	case 't':
		return Literal(d, i, "true")
	case 'f':
		return Literal(d, i, "false")
	case 'n':
		return Literal(d, i, "null")
	}
	return Number(d, i)
}

func skipObject(d []byte, i, depth int) (int, Code) {
	if depth >= MaxDepth {
		return i, TooDeep
	}
	i = SkipWS(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, OK
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return i, BadKey
		}
		var c Code
		if i, c = String(d, i); c != OK {
			return i, c
		}
		if i = SkipWS(d, i); i >= len(d) || d[i] != ':' {
			return i, BadColon
		}
		if i, c = Skip(d, SkipWS(d, i+1), depth+1); c != OK {
			return i, c
		}
		switch i = SkipWS(d, i); {
		case i >= len(d):
			return i, BadObjectSep
		case d[i] == '}':
			return i + 1, OK
		case d[i] != ',':
			return i, BadObjectSep
		}
		i = SkipWS(d, i+1)
	}
}

func skipArray(d []byte, i, depth int) (int, Code) {
	if depth >= MaxDepth {
		return i, TooDeep
	}
	i = SkipWS(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, OK
	}
	for {
		var c Code
		if i, c = Skip(d, i, depth+1); c != OK {
			return i, c
		}
		switch i = SkipWS(d, i); {
		case i >= len(d):
			return i, BadArraySep
		case d[i] == ']':
			return i + 1, OK
		case d[i] != ',':
			return i, BadArraySep
		}
		i = SkipWS(d, i+1)
	}
}
