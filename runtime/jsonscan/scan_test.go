package jsonscan

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		in   string
		end  int
		code Code
	}{
		{`""`, 2, OK},
		{`"abc" tail`, 5, OK},
		{`"eight by eight bytes, then some more"`, 38, OK},
		{`"ünïcödé, valid UTF-8"`, 26, OK},
		{"\"coll\xff\"", 7, OK},
		{`"a\nb"`, 6, OK},
		{`"\u00e9"`, 8, OK},
		{`"a`, 2, BadString},
		{`"0123456789abcdef`, 17, BadString},
		{"\"a\nb\"", 2, BadString},
		{"\"0123456789\x1f\"", 11, BadString},
		{`"\x"`, 2, BadEscape},
		{`"\`, 2, BadEscape},
		{`"\u12g4"`, 5, BadHex},
		{`"\u12`, 5, BadHex},
	}
	for _, tt := range tests {
		d := []byte(tt.in)
		end, code := String(d, 0)
		if end != tt.end || code != tt.code {
			t.Errorf("String(%q) = %d, %d; want %d, %d", tt.in, end, code, tt.end, tt.code)
		}
		// Value reports the same syntax errors.
		_, vend, _, vcode := Value(nil, d, 0)
		if vend != tt.end || vcode != tt.code {
			t.Errorf("Value(%q) = %d, %d; want %d, %d", tt.in, vend, vcode, tt.end, tt.code)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		in, want, reason string
		aliased          bool
	}{
		{`"abc"`, "abc", "", true},
		{`"ünïcödé and more plain text after it"`, "ünïcödé and more plain text after it", "", true},
		{`"€ 😀 \u00e9"`, "€ 😀 é", "", false},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", "", false},
		{`"\u00e9\u4E2D tail"`, "é中 tail", "", false},
		{`"\ud83d\ude00"`, "😀", "", false},
		{`"\\ud800"`, `\ud800`, "", false},
		{`"\ud800"`, "\uFFFD", `unpaired UTF-16 surrogate \ud800 at offset 1`, false},
		{`"ab\ud800\u0041"`, "ab\uFFFDA", `unpaired UTF-16 surrogate \ud800 at offset 3`, false},
		{`"\uDC00x"`, "\uFFFDx", `unpaired UTF-16 surrogate \uDC00 at offset 1`, false},
		{`"\ud83d\ud83d\ude00"`, "\uFFFD😀", `unpaired UTF-16 surrogate \ud83d at offset 1`, false},
		{"\"coll\xff\"", "coll\uFFFD", `not valid UTF-8: byte 0xff at offset 5`, false},
		{"\"é\xc0\xafé\"", "é\uFFFD\uFFFDé", `not valid UTF-8: byte 0xc0 at offset 3`, false},
		{"\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD", `not valid UTF-8: byte 0xed at offset 1`, false},
		{"\"\\n\xff\"", "\n\uFFFD", `not valid UTF-8: byte 0xff at offset 3`, false},
	}
	for _, tt := range tests {
		d := []byte("[" + tt.in + "]")
		got, end, bad, code := Value([]byte("prefix:"), d, 1)
		var reason string
		if bad != 0 {
			reason = Reason(d[1:end], bad)
		}
		want := tt.want
		if !tt.aliased {
			want = "prefix:" + want
		}
		if code != OK || end != len(d)-1 || string(got) != want || reason != tt.reason {
			t.Errorf("Value(%s) = %q, %d, %q, %d; want %q, %q", tt.in, got, end, reason, code, want, tt.reason)
		}
	}
}

// TestSyntaxErrors pins each code's offset and encoding/json's wording.
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		in   string
		off  int
		code Code
		msg  string
	}{
		{``, 0, BadValue, "unexpected end of JSON input"},
		{`x`, 0, BadValue, "invalid character 'x' looking for beginning of value"},
		{`[1,]`, 3, BadValue, "invalid character ']' looking for beginning of value"},
		{`-`, 1, BadNumber, "unexpected end of JSON input"},
		{`-x`, 1, BadNumber, "invalid character 'x' looking for beginning of value"},
		{`1.e3`, 2, BadFraction, "invalid character 'e' after decimal point in numeric literal"},
		{`1e+x`, 3, BadExponent, "invalid character 'x' in exponent of numeric literal"},
		{`tru`, 3, BadLiteral, "unexpected end of JSON input"},
		{`trux`, 3, BadLiteral, "invalid character 'x' in literal true (expecting 'e')"},
		{`[fAlse]`, 2, BadLiteral, "invalid character 'A' in literal false (expecting 'a')"},
		{`{"a":nulL}`, 8, BadLiteral, "invalid character 'L' in literal null (expecting 'l')"},
		{"\"a\nb\"", 2, BadString, `invalid character '\n' in string literal`},
		{`"\x"`, 2, BadEscape, "invalid character 'x' in string escape code"},
		{`"\u12g4"`, 5, BadHex, `invalid character 'g' in \u hexadecimal character escape`},
		{`{"a":1,}`, 7, BadKey, "invalid character '}' looking for beginning of object key string"},
		{`{1:2}`, 1, BadKey, "invalid character '1' looking for beginning of object key string"},
		{`{"a" 1}`, 5, BadColon, "invalid character '1' after object key"},
		{`{"a":1 "b":2}`, 7, BadObjectSep, `invalid character '"' after object key:value pair`},
		{`{"a":1`, 6, BadObjectSep, "unexpected end of JSON input"},
		{`[1 2]`, 3, BadArraySep, "invalid character '2' after array element"},
		{"[\xff]", 1, BadValue, `invalid character '\xff' looking for beginning of value`},
		{strings.Repeat("[", MaxDepth+1), MaxDepth, TooDeep, "exceeded max depth"},
		{strings.Repeat(`{"a":`, MaxDepth+1), 5 * MaxDepth, TooDeep, "exceeded max depth"},
	}
	for _, tt := range tests {
		d := []byte(tt.in)
		off, code := Skip(d, 0, 0)
		if off != tt.off || code != tt.code || code.Message(d, off) != tt.msg {
			t.Errorf("Skip(%.20q) = %d, %d %q; want %d, %d %q", tt.in, off, code, code.Message(d, off), tt.off, tt.code, tt.msg)
		}
	}
	d := []byte("1 2")
	if got := Trailing.Message(d, SkipWS(d, 1)); got != "invalid character '2' after top-level value" {
		t.Errorf("Trailing: %q", got)
	}
}

func TestSkipDepth(t *testing.T) {
	ok := []byte(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))
	if end, c := Skip(ok, 0, 0); c != OK || end != len(ok) {
		t.Fatalf("at MaxDepth: %d, %d", end, c)
	}
	// depth counts the containers already open around the value.
	if off, c := Skip([]byte("[[]]"), 0, MaxDepth-1); c != TooDeep || off != 1 {
		t.Fatalf("nested in MaxDepth-1: %d, %d", off, c)
	}
}

func TestLiteralStart(t *testing.T) {
	for _, tt := range []struct {
		in        string
		off, want int
	}{{`tru`, 3, 0}, {`[1,fals`, 7, 3}, {`[nux`, 3, 1}, {`[nulx`, 4, 1}, {`{"n":nul`, 8, 5}} {
		if got := LiteralStart([]byte(tt.in), tt.off); got != tt.want {
			t.Errorf("LiteralStart(%q, %d) = %d, want %d", tt.in, tt.off, got, tt.want)
		}
	}
}

func TestSkipWS(t *testing.T) {
	if got := SkipWS([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("SkipWS = %d", got)
	}
	if got := SkipWS([]byte("  "), 1); got != 2 {
		t.Errorf("SkipWS at the end = %d", got)
	}
}
