package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var scanSeeds = []string{
	`""`, `"abc"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud800"`, `"\udc00"`,
	`"\ud800\ud800"`, `"\ud800\u0041"`, `"\ud83d\ud83d\ude00"`, `"\\ud800"`, `"\ud83d\\ude00"`, `"\ud83d\u"`, `"\u12g4"`,
	"\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\"", "\"\xf4\x90\x80\x80\"", "\"é, plain and long enough for a word\"",
	"\"\x01\"", "\"\x7f\"", `"\x"`, `"`, `"\`, `"unterminated`,
	`0`, `-0`, `-`, `01`, `1.`, `1.5`, `1.e3`, `1e`, `1e+`, `1E-7`, `-12.5e+03`, `1e400`, `9223372036854775808`, `0.000000000000000000001`,
	`true`, `tru`, `trux`, `false`, `null`, `nul`, `nulL`,
	`{}`, `[]`, ` {"a":[1,2.5e3,true,false,null,"x\u00e9"]} `, `{"a":1,}`, `[1,]`, `{"a" 1}`, `[1 2]`, `{"a":{"b":[{}]}}`, `[[[[]]]]`, `{1:2}`,
}

// FuzzScan holds the scanner to encoding/json: Skip accepts exactly what
// Valid accepts; a string's Value is Unmarshal's, and Value reports a
// problem exactly where the literal is not valid UTF-8 or has an unpaired
// surrogate escape (where Unmarshal substituted U+FFFD); a number literal
// is Unmarshal's json.Number.
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := SkipWS(b, 0)
		end, code := Skip(b, i, 0)
		valid := code == OK && SkipWS(b, end) == len(b)
		if valid != json.Valid(b) {
			t.Fatalf("Skip(%q) = %d, %d; json.Valid = %v", b, end, code, json.Valid(b))
		}
		if code != OK && (end < i || end > len(b) || code.Message(b, end) == "") {
			t.Fatalf("Skip(%q): error at %d, code %d", b, end, code)
		}
		if !valid {
			return
		}
		lit := bytes.TrimRight(b[i:], " \t\r\n")
		switch {
		case lit[0] == '"':
			checkString(t, lit)
		case lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9':
			checkNumber(t, lit)
		}
	})
}

func checkString(t *testing.T, lit []byte) {
	if end, code := String(lit, 0); code != OK || end != len(lit) {
		t.Fatalf("String(%q) = %d, %d; Skip accepted it", lit, end, code)
	}
	var want string
	if err := json.Unmarshal(lit, &want); err != nil {
		t.Fatalf("Unmarshal(%q): %v", lit, err)
	}
	got, end, bad, code := Value(nil, lit, 0)
	if code != OK || end != len(lit) || string(got) != want {
		t.Fatalf("Value(%q) = %q, %d, %d; encoding/json %q", lit, got, end, code, want)
	}
	strict := utf8.Valid(lit) && !loneSurrogate(lit)
	if (bad == 0) != strict {
		t.Fatalf("Value(%q): bad %d, but valid UTF-8 without lone surrogates = %v", lit, bad, strict)
	}
	plain := strict && bytes.IndexByte(lit, '\\') < 0
	if aliased := len(got) > 0 && &got[0] == &lit[1]; aliased != (plain && len(got) > 0) {
		t.Fatalf("Value(%q): aliases the input %v, plain %v", lit, aliased, plain)
	}
	if bad != 0 && !strings.Contains(Reason(lit, bad), "at offset "+strconv.Itoa(bad)) {
		t.Fatalf("Reason(%q, %d) = %q", lit, bad, Reason(lit, bad))
	}
}

// loneSurrogate scans the \u escapes of a well-formed string literal for
// a surrogate that is not the high half of a pair followed by its low half.
func loneSurrogate(lit []byte) bool {
	unit := func(i int) uint64 {
		n, _ := strconv.ParseUint(string(lit[i:i+4]), 16, 32)
		return n
	}
	for i := 1; i < len(lit)-1; i++ {
		if lit[i] != '\\' {
			continue
		}
		i++
		if lit[i] != 'u' {
			continue
		}
		r := unit(i + 1)
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 < len(lit) && lit[i+1] == '\\' && lit[i+2] == 'u' {
				if r2 := unit(i + 3); r2 >= 0xdc00 && r2 <= 0xdfff {
					i += 6
					continue
				}
			}
			return true
		}
	}
	return false
}

func checkNumber(t *testing.T, lit []byte) {
	end, code := Number(lit, 0)
	if code != OK || end != len(lit) {
		t.Fatalf("Number(%q) = %d, %d; Skip accepted it", lit, end, code)
	}
	var n json.Number
	if err := json.Unmarshal(lit, &n); err != nil || string(n) != string(lit) {
		t.Fatalf("Unmarshal(%q) = %q, %v", lit, n, err)
	}
	if _, err := strconv.ParseFloat(string(lit), 64); err != nil && err.(*strconv.NumError).Err != strconv.ErrRange {
		t.Fatalf("ParseFloat(%q): %v", lit, err)
	}
}
