package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseInteger: JSON Schema integers are whole numbers however written,
// parsed exactly.
func TestParseInteger(t *testing.T) {
	tests := []struct {
		lit  string
		want int64
		err  error
	}{
		{"0", 0, nil}, {"-0", 0, nil}, {"10", 10, nil}, {"10.0", 10, nil}, {"1e1", 10, nil}, {"1E+1", 10, nil},
		{"1000e-2", 10, nil}, {"-0.0e5", 0, nil}, {"0e400", 0, nil}, {"0.000e-400", 0, nil}, {"12.50e1", 125, nil},
		{"9007199254740993", 9007199254740993, nil}, {"9007199254740993.0", 9007199254740993, nil},
		{"9223372036854775807", 1<<63 - 1, nil}, {"9223372036854775807.000", 1<<63 - 1, nil},
		{"922337203685477580.7e1", 1<<63 - 1, nil}, {"-9223372036854775808", -1 << 63, nil},
		{"-92233720368547758.08e2", -1 << 63, nil}, {"00012", 12, nil},
		{"1.5", 0, ErrFraction}, {"1e-1", 0, ErrFraction}, {"1e-400", 0, ErrFraction}, {"10.01e1", 0, ErrFraction},
		{"9223372036854775808", 0, ErrRange}, {"-9223372036854775809", 0, ErrRange}, {"1e400", 0, ErrRange},
		{"12e18", 0, ErrRange}, {"1e19", 0, ErrRange}, {"100000000000000000000e-2", 1e18, nil},
		{"", 0, ErrFraction}, {"1.", 0, ErrFraction}, {"1e", 0, ErrFraction}, {"x", 0, ErrFraction},
	}
	for _, tt := range tests {
		got, err := ParseInteger([]byte(tt.lit))
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseInteger(%q) = %d, %v; want %d, %v", tt.lit, got, err, tt.want, tt.err)
		}
	}
}

// FuzzParseInteger holds ParseInteger to math/big's exact rational value of
// the literal.
func FuzzParseInteger(f *testing.F) {
	for _, s := range []string{"10.0", "1e1", "9007199254740993.0", "1.5", "1e400", "-9223372036854775808.0e0",
		"922337203685477580.8e1", "0.1e1", "123.456e3", "5e-1", "-0", "1e-9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		if !json.Valid([]byte(lit)) || !isNumberLiteral(lit) || strings.TrimSpace(lit) != lit {
			return // the lexer hands ParseInteger a number literal alone
		}
		got, err := ParseInteger([]byte(lit))
		if exponentOver(lit, 4) {
			return // math/big would build a number of 10⁴+ digits
		}
		r, ok := new(big.Rat).SetString(lit)
		if !ok {
			t.Fatalf("big.Rat cannot parse %q", lit)
		}
		switch {
		case !r.IsInt():
			if !errors.Is(err, ErrFraction) {
				t.Fatalf("%q is not an integer, got %d, %v", lit, got, err)
			}
		case !r.Num().IsInt64():
			if !errors.Is(err, ErrRange) {
				t.Fatalf("%q is outside int64, got %d, %v", lit, got, err)
			}
		case err != nil || got != r.Num().Int64():
			t.Fatalf("%q = %s, got %d, %v", lit, r.Num(), got, err)
		}
	})
}

func isNumberLiteral(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

// exponentOver reports whether lit's exponent has more than n digits.
func exponentOver(lit string, n int) bool {
	i := strings.IndexAny(lit, "eE")
	if i < 0 {
		return false
	}
	return len(strings.TrimLeft(strings.TrimLeft(lit[i+1:], "+-"), "0")) > n
}

// readExtras decodes an object whose every member is an extra, as a
// generated decoder does for a schema allowing additional properties.
func readExtras(data []byte) (*Extra, []string, error) {
	var e Extra
	var v Violations
	var l Lexer
	l.Reset(data)
	if l.BeginObject(nil, &v) {
		for l.NextKey() {
			l.ReadExtra(&e, nil, &v)
		}
	}
	err := l.Finish()
	var got []string
	for _, x := range v.List {
		got = append(got, x.String())
	}
	return &e, got, err
}

// TestReadExtra: extras are kept in order as sent, and what the stored event
// must not hold is refused at its path.
func TestReadExtra(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)
	tests := []struct {
		name, in, out string
		violations    []string
	}{
		{"kept as sent", `{"altitude": 12.50, "tags":["a", {"b":null}], "x\u00e9": "\u00e9"}`,
			`"altitude":12.50,"tags":["a", {"b":null}],"x\u00e9":"\u00e9"`, nil},
		{"nested 1000 deep", `{"d":` + deep + `}`, `"d":` + deep, nil},
		{"duplicate extra", `{"a":1,"b":2,"\u0061":3}`, `"a":1,"b":2`, []string{`$.a: appears more than once`}},
		{"duplicate inside", `{"a":{"k":[{"z":1,"z":2}]}}`, ``, []string{`$.a.k[0].z: appears more than once`}},
		{"bad value", "{\"a\":[\"ok\",\"\xff\"]}", ``, []string{`$.a[1]: not valid UTF-8: byte 0xff at offset 1`}},
		{"bad nested name", `{"a":{"\ud800":1}}`, ``, []string{`$.a["\\ud800"]: unpaired UTF-16 surrogate \ud800 at offset 1`}},
		{"bad name", "{\"n\xc0\xaf\":1,\"ok\":true}", `"ok":true`, []string{`$["n\xc0\xaf"]: not valid UTF-8: byte 0xc0 at offset 2`}},
		{"many members", `{` + manyMembers(40) + `,"m7":0}`, manyMembers(40), []string{`$.m7: appears more than once`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, got, err := readExtras([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if out := string(e.AppendMembers(nil, false)); out != tt.out {
				t.Errorf("members:\n got %s\nwant %s", out, tt.out)
			}
			if strings.Join(got, "\n") != strings.Join(tt.violations, "\n") {
				t.Errorf("violations:\n got %q\nwant %q", got, tt.violations)
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `":0`)
	}
	return strings.ReplaceAll(b.String(), `"m0`, `"m`)
}

// TestExtraAccessors: names unescaped, values raw, Reset keeps capacity.
func TestExtraAccessors(t *testing.T) {
	e, v, err := readExtras([]byte(`{"x\u00e9" : [1, 2] ,"b":"s"}`))
	if err != nil || len(v) > 0 {
		t.Fatal(err, v)
	}
	if e.Len() != 2 || e.Name(0) != "xé" || string(e.Value(0)) != "[1, 2]" || e.Name(1) != "b" || string(e.Value(1)) != `"s"` {
		t.Fatalf("got %d members: %q=%s %q=%s", e.Len(), e.Name(0), e.Value(0), e.Name(1), e.Value(1))
	}
	if got := string(e.AppendMembers([]byte(`{"k":1`), true)); got != `{"k":1,"x\u00e9":[1, 2],"b":"s"` {
		t.Errorf("AppendMembers: %s", got)
	}
	c := cap(e.raw)
	e.Reset()
	if e.Len() != 0 || cap(e.raw) != c || len(e.AppendMembers(nil, true)) != 0 {
		t.Errorf("Reset: %d members, cap %d of %d", e.Len(), cap(e.raw), c)
	}
}

// TestDepthInsideData: an extra may nest as deep as the envelope allows
// (10 000 levels, as encoding/json); beyond, the document is malformed.
func TestDepthInsideData(t *testing.T) {
	ok := `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`
	if _, v, err := readExtras([]byte(ok)); err != nil || len(v) > 0 {
		t.Errorf("9999 levels inside the object: %v %v", err, v)
	}
	over := `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	_, _, err := readExtras([]byte(over))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Msg != "exceeded max depth" {
		t.Errorf("10001 levels: got %v, want exceeded max depth", err)
	}
}

// TestFirst: a property's second occurrence, however spelled, is refused.
func TestFirst(t *testing.T) {
	var l Lexer
	var v Violations
	l.Reset([]byte(`{"deviceId":"a","device\u0049d":"b","deviceid":"c"}`))
	var word uint64
	var got string
	l.BeginObject(nil, &v)
	for l.NextKey() {
		if string(l.Key()) == "deviceId" {
			if l.First(&word, 1, nil, &v) {
				l.ReadString(&got, nil, &v)
			}
			continue
		}
		l.ReadExtra(&Extra{}, nil, &v)
	}
	if err := l.Finish(); err != nil || got != "a" || v.Len() != 1 || v.List[0].String() != "$.deviceId: appears more than once" {
		t.Errorf("got %q, %v, %v", got, err, v.List)
	}
}

// FuzzCheckValue: CheckValue accepts exactly what encoding/json accepts as
// syntax, refuses invalid UTF-8 and duplicate members, and finds nothing
// wrong in valid UTF-8 without duplicates or surrogate escapes.
func FuzzCheckValue(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"a":{"b":1,"\u0062":2}}`, "\"\xff\"", `"\ud800"`, `"\ud83d\ude00"`,
		`[{"a":[1,{"a":1}]},{"a":2}]`, `{"é":1,"\u00e9":2}`, "{\"\xed\xa0\x80\":1}", `[1,]`, `{"a" 1}`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Lexer
		var v Violations
		l.Reset(data)
		l.CheckValue(nil, &v)
		err := l.Finish()
		if (err == nil) != json.Valid(data) {
			t.Fatalf("lexer says %v, json.Valid says %v for %q", err, json.Valid(data), data)
		}
		if err != nil {
			return
		}
		dup := hasDuplicate(t, data)
		if v.Len() == 0 && (!utf8.Valid(data) || dup) {
			t.Fatalf("no violation in %q (valid UTF-8 %v, duplicate %v)", data, utf8.Valid(data), dup)
		}
		surrogate := bytes.Contains(bytes.ToLower(data), []byte(`\ud`))
		if v.Len() > 0 && utf8.Valid(data) && !dup && !surrogate {
			t.Fatalf("violations %v in %q", v.List, data)
		}
	})
}

// hasDuplicate reports whether an object in data (valid JSON) has a member
// twice, by encoding/json's token stream.
func hasDuplicate(t *testing.T, data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("token stream of valid JSON %q: %v", data, err)
		}
		top := func() *frame {
			if len(stack) == 0 {
				return nil
			}
			return stack[len(stack)-1]
		}()
		if top != nil && top.object && top.key {
			if s, ok := tok.(string); ok {
				if top.keys[s] {
					return true
				}
				top.keys[s] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if p := top; p != nil {
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
		}
	}
}
