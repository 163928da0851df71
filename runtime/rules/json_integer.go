package rules

import "errors"

// The ways a number literal fails to be an int64 (ParseInteger).
var (
	ErrFraction = errors.New("not an integer: has a fractional part")
	ErrRange    = errors.New("integer outside int64")
)

// ParseInteger parses a JSON number literal whose value is a whole number,
// exactly: "10", "10.0", "1e1", "1000e-2" and "-0.0e5" are integers; "1.5"
// and "1e-1" are not (ErrFraction); a whole number outside int64 is
// ErrRange. The literal must be JSON's number syntax (the lexer's number
// checked it); anything else is ErrFraction.
//
// The value is the literal's digits (integer and fraction part as one
// sequence) times ten to the exponent minus the fraction's length. The
// digits are never converted to float64, so no rounding can turn a
// fraction into an integer or shift a large one (9007199254740993.0).
func ParseInteger(lit []byte) (int64, error) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	intPart, frac, expPart, ok := cutNumber(lit)
	if !ok {
		return 0, ErrFraction
	}
	exp := parseExponent(expPart)
	n := len(intPart) + len(frac)
	digit := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return frac[k-len(intPart)]
	}
	lead, trail := 0, 0
	for lead < n && digit(lead) == '0' {
		lead++
	}
	if lead == n {
		return 0, nil // zero, however written
	}
	for digit(n-1-trail) == '0' {
		trail++
	}
	scale := exp - len(frac) + trail
	if scale < 0 {
		return 0, ErrFraction
	}
	if n-lead-trail+scale > 19 {
		return 0, ErrRange
	}
	var m uint64
	for k := lead; k < n-trail; k++ {
		m = m*10 + uint64(digit(k)-'0')
	}
	for range scale {
		m *= 10
	}
	return signed(m, neg)
}

// signed applies the sign to the magnitude m (at most 19 digits, so below
// 2^64), refusing what int64 cannot hold.
func signed(m uint64, neg bool) (int64, error) {
	if neg {
		if m > 1<<63 {
			return 0, ErrRange
		}
		return -int64(m), nil
	}
	if m > 1<<63-1 {
		return 0, ErrRange
	}
	return int64(m), nil
}

// cutNumber splits an unsigned number literal into its integer digits,
// fraction digits and exponent digits (sign included), each possibly
// empty; ok is false when lit is not of that form.
func cutNumber(lit []byte) (intPart, frac, exp []byte, ok bool) {
	i := skipDigits(lit, 0)
	intPart = lit[:i]
	if i == 0 {
		return nil, nil, nil, false
	}
	if i < len(lit) && lit[i] == '.' {
		j := skipDigits(lit, i+1)
		if j == i+1 {
			return nil, nil, nil, false
		}
		frac, i = lit[i+1:j], j
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		j := i + 1
		if j < len(lit) && (lit[j] == '+' || lit[j] == '-') {
			j++
		}
		k := skipDigits(lit, j)
		if k == j {
			return nil, nil, nil, false
		}
		exp, i = lit[i+1:k], k
	}
	return intPart, frac, exp, i == len(lit)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// maxExponent is where parseExponent saturates: beyond it a nonzero integer
// overflows int64 and a fraction stays one whatever the digits, since a
// literal has fewer digits than a request body has bytes (at most 16 MiB).
const maxExponent = 1 << 30

// parseExponent reads an exponent such as "+5", "-12" or "400" (already
// checked by cutNumber); the empty exponent is 0.
func parseExponent(e []byte) int {
	if len(e) == 0 {
		return 0
	}
	neg := e[0] == '-'
	if e[0] == '+' || e[0] == '-' {
		e = e[1:]
	}
	n := 0
	for _, c := range e {
		n = min(n*10+int(c-'0'), maxExponent)
	}
	if neg {
		return -n
	}
	return n
}
