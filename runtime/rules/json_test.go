package rules

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestAppendStringMatchesEncodingJSON covers the escapes json.Marshal makes.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " backslash \ slash /`, "<a href='x'>&amp;</a>",
		"\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f", "\u2028 \u2029 \u2027", "é😀", "bad \xff\xfe utf8 \xed\xa0\x80",
		strings.Repeat("long plain text ", 10),
	} {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	fs := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e15,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1.0000000000000002, 3.14159e-10}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		fs = append(fs, math.Float64frombits(r.Uint64()))
	}
	for _, f := range fs {
		want, err := json.Marshal(f)
		if err != nil {
			if got := string(AppendFloat(nil, f)); got != "null" {
				t.Errorf("AppendFloat(%v) = %s, want null", f, got)
			}
			continue
		}
		if got := AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestFastFloat checks the exact fast path against strconv.
func TestFastFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lits := []string{"0", "-0", "0.0", "39.95", "-12.5", "0.000001", "123456789012345", "1234567.89012345",
		"0.1234567890123456789012", "9007199254740993", "1234567890123456"}
	for range 20000 {
		mant := r.Int64N(1_000_000_000_000_000)
		s := strconv.FormatInt(mant, 10)
		if p := r.IntN(len(s) + 1); p < len(s) {
			s = s[:p] + "." + s[p:]
			if p == 0 {
				s = "0" + s
			}
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		lits = append(lits, s)
	}
	for _, lit := range lits {
		want, _ := strconv.ParseFloat(lit, 64)
		got, ok := fastFloat([]byte(lit))
		if ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%s) = %v, want %v", lit, got, want)
		}
	}
}

// TestLexerStrings: decoded strings equal encoding/json's, escapes
// included; what encoding/json would replace with U+FFFD is refused with the
// envelope's wording, at the string's path.
func TestLexerStrings(t *testing.T) {
	for _, lit := range []string{
		`""`, `"abc"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"eight by eight bytes long plain"`,
		"\"ünïcödé and more plain text after it\"", `"tail\u0041"`, "\"\uFFFD is U+FFFD \xef\xbf\xbd\"", `"\u0000"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var l Lexer
		l.Reset([]byte(lit))
		var got string
		var v Violations
		l.ReadString(&got, nil, &v)
		if err := l.Finish(); err != nil || got != want || v.Len() > 0 {
			t.Errorf("%s: got %q (%v %v), want %q", lit, got, err, v.List, want)
		}
	}
	refused := []struct{ lit, why string }{
		{`"\ud800"`, `unpaired UTF-16 surrogate \ud800 at offset 1`},
		{`"ab\ud800\u0041"`, `unpaired UTF-16 surrogate \ud800 at offset 3`},
		{`"\udc00x"`, `unpaired UTF-16 surrogate \udc00 at offset 1`},
		{`"\ud83d\ud83d\ude00"`, `unpaired UTF-16 surrogate \ud83d at offset 1`},
		{"\"coll\xff\"", `not valid UTF-8: byte 0xff at offset 5`},
		{"\"\xc0\xaf\"", `not valid UTF-8: byte 0xc0 at offset 1`},
		{"\"\xe0\x80\xaf\"", `not valid UTF-8: byte 0xe0 at offset 1`},
		{"\"\xed\xa0\x80\"", `not valid UTF-8: byte 0xed at offset 1`},
		{"\"\\n\xff\"", `not valid UTF-8: byte 0xff at offset 3`},
	}
	for _, tt := range refused {
		var l Lexer
		l.Reset([]byte(tt.lit))
		got := "unchanged"
		var v Violations
		l.ReadString(&got, nil, &v)
		if err := l.Finish(); err != nil || got != "unchanged" || v.Len() != 1 || v.List[0].String() != "$: "+tt.why {
			t.Errorf("%q: got %q (%v %v), want the violation $: %s", tt.lit, got, err, v.List, tt.why)
		}
	}
}

// TestLexerValues: numbers, wrong types and their messages.
func TestLexerValues(t *testing.T) {
	tests := []struct {
		in, kind, want, violation string
	}{
		{`42`, "int", "42", ""},
		{`-9223372036854775808`, "int", "-9223372036854775808", ""},
		{`9223372036854775808`, "int", "0", "$: must be an integer within int64, got 9223372036854775808"},
		{`1.0`, "int", "1", ""},
		{`1e2`, "int", "100", ""},
		{`1.5`, "int", "0", "$: must be an integer, got 1.5"},
		{`1e400`, "int", "0", "$: must be an integer within int64, got 1e400"},
		{`"1"`, "int", "0", "$: must be an integer, got string"},
		{`null`, "int", "0", "$: must be an integer, got null"},
		{`-0`, "float", "-0", ""},
		{`1e400`, "float", "0", "$: must be a number within float64, got 1e400"},
		{`2.5e-3`, "float", "0.0025", ""},
		{`true`, "float", "0", "$: must be a number, got boolean"},
		{`true`, "bool", "true", ""},
		{`{"a":[1]}`, "bool", "false", "$: must be a boolean, got object"},
		{`"x"`, "string", "x", ""},
		{`[]`, "string", "", "$: must be a string, got array"},
	}
	for _, tt := range tests {
		var l Lexer
		var v Violations
		l.Reset([]byte(tt.in))
		var got string
		switch tt.kind {
		case "int":
			var n int64
			l.ReadInt(&n, nil, &v)
			got = strconv.FormatInt(n, 10)
		case "float":
			var f float64
			l.ReadFloat(&f, nil, &v)
			got = strconv.FormatFloat(f, 'g', -1, 64)
		case "bool":
			var b bool
			l.ReadBool(&b, nil, &v)
			got = strconv.FormatBool(b)
		case "string":
			l.ReadString(&got, nil, &v)
		}
		if err := l.Finish(); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		var viol string
		if v.Len() > 0 {
			viol = v.List[0].String()
		}
		if got != tt.want || viol != tt.violation {
			t.Errorf("%s as %s: got %s %q, want %s %q", tt.in, tt.kind, got, viol, tt.want, tt.violation)
		}
	}
}

// TestLexerSyntaxErrors: offsets and messages of malformed input.
func TestLexerSyntaxErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{``, 0, "unexpected end of JSON input"},
		{`{"a":1,}`, 7, "invalid character '}' looking for beginning of object key string"},
		{`{"a" 1}`, 5, "invalid character '1' after object key"},
		{`{"a":1 "b":2}`, 7, "invalid character '\"' after object key:value pair"},
		{`[1,]`, 3, "invalid character ']' looking for beginning of value"},
		{`[1 2]`, 3, "invalid character '2' after array element"},
		{`{} {}`, 3, "invalid character '{' after top-level value"},
		{`tru`, 3, "unexpected end of JSON input"},
		{`trux`, 3, "invalid character 'x' in literal true (expecting 'e')"},
		{`-`, 1, "unexpected end of JSON input"},
		{`01`, 1, "invalid character '1' after top-level value"},
		{`1.e3`, 2, "invalid character 'e' after decimal point in numeric literal"},
		{`"a` + "\n" + `"`, 2, "invalid character '\\n' in string literal"},
		{`"\x"`, 2, "invalid character 'x' in string escape code"},
		{`"\u12g4"`, 5, "invalid character 'g' in \\u hexadecimal character escape"},
		{strings.Repeat("[", 10001), 10000, "exceeded max depth"},
	}
	for _, tt := range tests {
		var l Lexer
		l.Reset([]byte(tt.in))
		l.Skip()
		err := l.Finish()
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.offset || se.Msg != tt.msg {
			t.Errorf("%.20q: got %v, want offset %d %q", tt.in, err, tt.offset, tt.msg)
		}
		if json.Valid([]byte(tt.in)) {
			t.Errorf("%.20q is valid JSON for encoding/json", tt.in)
		}
	}
}

// FuzzLexerSkip: the lexer accepts exactly the documents encoding/json
// accepts.
func FuzzLexerSkip(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e3,true,false,null,"x\u00e9"]}`, `[1,]`, `"\ud800"`, `{"a":1,}`, ` 1 `, `01`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Lexer
		l.Reset(data)
		l.Skip()
		err := l.Finish()
		if (err == nil) != json.Valid(data) {
			t.Fatalf("lexer says %v, json.Valid says %v for %q", err, json.Valid(data), data)
		}
	})
}

func TestJSONPath(t *testing.T) {
	var root *JSONPath
	items := root.Key("items")
	i2 := items.Index(2)
	sku := i2.Key("sku")
	odd := sku.Key("unit price")
	if got := sku.String(); got != "$.items[2].sku" {
		t.Errorf("got %s", got)
	}
	if got := odd.String(); got != `$.items[2].sku["unit price"]` {
		t.Errorf("got %s", got)
	}
	if got := root.String(); got != "$" {
		t.Errorf("got %s", got)
	}
	var v Violations
	v.AddIndex(&items, 0, "m")
	v.AddKey(nil, "x", "n")
	if v.List[0].String() != "$.items[0]: m" || v.List[1].String() != "$.x: n" {
		t.Errorf("got %v", v.List)
	}
}

func TestKeepCap(t *testing.T) {
	if KeepCap([]int{}) != nil || KeepCap[int](nil) != nil {
		t.Error("a slice without capacity must become nil")
	}
	s := KeepCap(make([]int, 3, 8))
	if len(s) != 0 || cap(s) != 8 {
		t.Errorf("len %d cap %d", len(s), cap(s))
	}
}
