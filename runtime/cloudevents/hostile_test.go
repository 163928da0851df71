package cloudevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostileEvents are structured events a hostile producer sends, with the
// attribute the refusal must name and a part of its reason ("" attribute:
// accepted). They seed FuzzParseEvent too.
var hostileEvents = []struct {
	name, in, attr, reason string
}{
	{"invalid UTF-8 in id", "{\"specversion\":\"1.0\",\"id\":\"coll\xff\",\"source\":\"/s\",\"type\":\"t\"}", "id", "not valid UTF-8"},
	{"other invalid byte, same prefix", "{\"specversion\":\"1.0\",\"id\":\"coll\xfe\",\"source\":\"/s\",\"type\":\"t\"}", "id", "not valid UTF-8"},
	{"overlong NUL in id", "{\"specversion\":\"1.0\",\"id\":\"a\xc0\x80\",\"source\":\"/s\",\"type\":\"t\"}", "id", "not valid UTF-8"},
	{"overlong slash in source", "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/\xe0\x80\xaf\",\"type\":\"t\"}", "source", "not valid UTF-8"},
	{"UTF-8 encoded surrogate", "{\"specversion\":\"1.0\",\"id\":\"\xed\xa0\x80\",\"source\":\"/s\",\"type\":\"t\"}", "id", "not valid UTF-8"},
	{"lone high surrogate escape", `{"specversion":"1.0","id":"x\ud800","source":"/s","type":"t"}`, "id", `unpaired UTF-16 surrogate \ud800`},
	{"lone low surrogate escape", `{"specversion":"1.0","id":"1","source":"/s\udc00","type":"t"}`, "source", "unpaired UTF-16 surrogate"},
	{"high then non-low", `{"specversion":"1.0","id":"\ud800\u0041","source":"/s","type":"t"}`, "id", "unpaired"},
	{"surrogate in subject", `{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"\udfff"}`, "subject", "unpaired"},
	{"surrogate pair is fine", `{"specversion":"1.0","id":"\ud83d\ude00","source":"/s","type":"t"}`, "", ""},
	{"escaped backslash before u", `{"specversion":"1.0","id":"\\ud800","source":"/s","type":"t"}`, "", ""},
	{"invalid UTF-8 in extension", "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\",\"region\":\"eu\xff\"}", "region", "not valid UTF-8"},
	{"lone surrogate in extension", `{"specversion":"1.0","id":"1","source":"/s","type":"t","region":"\ud800"}`, "region", "unpaired"},
	{"invalid UTF-8 in a member name", "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\",\"r\xff\":\"x\"}", "r\uFFFD", "member name: not valid UTF-8"},
	{"NUL in id", `{"specversion":"1.0","id":"a\u0000b","source":"/s","type":"t"}`, "id", "control character U+0000"},
	{"newline in id", `{"specversion":"1.0","id":"a\nb","source":"/s","type":"t"}`, "id", "control character U+000A"},
	{"DEL in source", `{"specversion":"1.0","id":"1","source":"/s\u007f","type":"t"}`, "source", "control character U+007F"},
	{"C1 control in type", `{"specversion":"1.0","id":"1","source":"/s","type":"t\u0085"}`, "type", "control character U+0085"},
	{"noncharacter in id", `{"specversion":"1.0","id":"\uffff","source":"/s","type":"t"}`, "id", "noncharacter U+FFFF"},
	{"NUL in extension", `{"specversion":"1.0","id":"1","source":"/s","type":"t","region":"\u0000"}`, "region", "control character"},
	{"U+FFFD itself is a character", `{"specversion":"1.0","id":"\ufffd","source":"/s","type":"t"}`, "", ""},
	{"erfired", `{"specversion":"1.0","id":"1","source":"/s","type":"t","erfired":"forged-rule"}`, "erfired", "set by eventrunner"},
	{"ertags", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ertags":"vip"}`, "ertags", "producers cannot send it"},
	{"erroute", `{"specversion":"1.0","id":"1","source":"/s","type":"t","erroute":"billing"}`, "erroute", "set by eventrunner"},
	{"erkb", `{"specversion":"1.0","id":"1","source":"/s","type":"t","erkb":"x@1"}`, "erkb", "set by eventrunner"},
	{"erdropped", `{"specversion":"1.0","id":"1","source":"/s","type":"t","erdropped":false}`, "erdropped", "set by eventrunner"},
	{"erbundle", `{"specversion":"1.0","id":"1","source":"/s","type":"t","erbundle":"b"}`, "erbundle", "set by eventrunner"},
	{"an er prefix alone is fine", `{"specversion":"1.0","id":"1","source":"/s","type":"t","error":"none"}`, "", ""},
	{"extension array", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":[1]}`, "ext", "not an array"},
	{"extension object", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":{"a":1}}`, "ext", "not an object"},
	{"extension nested 10 deep", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}`, "ext", "not an array"},
	{"extension nested 1000 deep", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000) + `}`, "ext", "not an object"},
	{"extension 1e400", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":1e400}`, "ext", "whole numbers"},
	{"extension fraction", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":1.5}`, "ext", "whole numbers"},
	{"extension 1.0", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":1.0}`, "ext", "without fraction"},
	{"extension beyond int32", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":2147483648}`, "ext", "2147483647"},
	{"extension below int32", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":-2147483649}`, "ext", "-2147483648"},
	{"extension int32 bounds", `{"specversion":"1.0","id":"1","source":"/s","type":"t","a":2147483647,"b":-2147483648}`, "", ""},
	{"extension -0", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":-0}`, "", ""},
	{"extension null is absent", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":null}`, "", ""},
	{"extension named data", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{},"data":{}}`, "data", "more than once"},
	{"data and data_base64", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1},"data_base64":"eyJhIjoxfQ=="}`, "data_base64", "cannot both"},
	{"data_base64 then data", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"eyJhIjoxfQ==","data":{"a":1}}`, "data_base64", "cannot both"},
	{"null data and data_base64", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":null,"data_base64":"eyJhIjoxfQ=="}`, "", ""},
	{"duplicate id", `{"specversion":"1.0","id":"1","id":"2","source":"/s","type":"t"}`, "id", "more than once"},
	{"duplicate source via escape", `{"specversion":"1.0","id":"1","source":"/a","sourc\u0065":"/b","type":"t"}`, "source", "more than once"},
	{"duplicate extension", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":"a","ext":"b"}`, "ext", "more than once"},
	{"duplicate null extension", `{"specversion":"1.0","id":"1","source":"/s","type":"t","ext":null,"ext":"b"}`, "ext", "more than once"},
	{"source blank", `{"specversion":"1.0","id":"1","source":"","type":"t"}`, "source", "required"},
	{"source a space", `{"specversion":"1.0","id":"1","source":" ","type":"t"}`, "source", "blank"},
	{"type a space", `{"specversion":"1.0","id":"1","source":"/s","type":" "}`, "type", "blank"},
	{"id ideographic spaces", `{"specversion":"1.0","id":"\u3000\u3000","source":"/s","type":"t"}`, "id", "blank"},
	{"subject empty", `{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":""}`, "subject", "non-empty"},
	{"datacontenttype not a media type", `{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"json;x"}`, "datacontenttype", "media type"},
	{"source with a space", `{"specversion":"1.0","id":"1","source":"/my shop","type":"t"}`, "source", "URI-reference"},
	{"source bad escape", `{"specversion":"1.0","id":"1","source":"/a%zz","type":"t"}`, "source", "%XX"},
	{"source bad scheme", `{"specversion":"1.0","id":"1","source":"1a:b","type":"t"}`, "source", "scheme"},
	{"source bad port", `{"specversion":"1.0","id":"1","source":"http://h:x/","type":"t"}`, "source", "port"},
	{"source Unicode path", `{"specversion":"1.0","id":"1","source":"/café","type":"t"}`, "", ""},
	{"dataschema with a space", `{"specversion":"1.0","id":"1","source":"/s","type":"t","dataschema":"t/v 1"}`, "dataschema", "URI-reference"},
	{"short dataschema", `{"specversion":"1.0","id":"1","source":"/s","type":"t","dataschema":"com.acme.order.created/v2"}`, "", ""},
	{"id a number", `{"specversion":"1.0","id":1,"source":"/s","type":"t"}`, "id", "must be a string"},
	{"id -0", `{"specversion":"1.0","id":-0,"source":"/s","type":"t"}`, "id", "must be a string"},
	{"id 1e400", `{"specversion":"1.0","id":1e400,"source":"/s","type":"t"}`, "id", "must be a string"},
	{"specversion 1e400", `{"specversion":1e400,"id":"1","source":"/s","type":"t"}`, "specversion", "must be a string"},
}

func TestHostileEvents(t *testing.T) {
	for _, tt := range hostileEvents {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseIncoming([]byte(tt.in))
			if tt.attr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *AttributeError
			if !errors.As(err, &ae) || ae.Attribute != tt.attr || !strings.Contains(ae.Reason, tt.reason) {
				t.Fatalf("error %v, want attribute %q with reason containing %q", err, tt.attr, tt.reason)
			}
			if !utf8.ValidString(ae.Error()) {
				t.Fatalf("error message is not valid UTF-8: %q", ae.Error())
			}
		})
	}
}

// parseIncoming is what ingest does: ParseStructured, then CheckIncoming.
func parseIncoming(b []byte) (*Event, error) {
	ev, err := ParseStructured(b)
	if err != nil {
		return nil, err
	}
	return ev, ev.CheckIncoming()
}

// TestProcessedEventsPassCheck: the engine's extensions are valid
// CloudEvents attributes; only incoming events may not carry them.
func TestProcessedEventsPassCheck(t *testing.T) {
	ev := &Event{SpecVersion: "1.0", ID: "1", Source: "/s", Type: "t", Extensions: map[string]json.RawMessage{"erfired": json.RawMessage(`"r"`), "erdropped": json.RawMessage(`false`)}}
	if err := ev.Check(); err != nil {
		t.Fatal(err)
	}
	var ae *AttributeError
	if err := ev.CheckIncoming(); !errors.As(err, &ae) || ae.Attribute != "erdropped" {
		t.Fatalf("CheckIncoming = %v", err)
	}
}

// TestDeepNesting: 10^5 levels of data are refused at maxDepth, in one pass
// and without growing the stack past it.
func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	_, err := ParseStructured([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":` + deep + `}`))
	var syn *SyntaxError
	if !errors.As(err, &syn) || !strings.Contains(syn.Msg, "max depth") {
		t.Fatalf("error %v, want a syntax error for the depth", err)
	}
	if err := CheckJSON([]byte(deep)); err == nil || !strings.Contains(err.Error(), "max depth") {
		t.Fatalf("CheckJSON: %v", err)
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if err := CheckJSON([]byte(ok)); err != nil {
		t.Fatalf("CheckJSON at max depth: %v", err)
	}
}

// TestSetAttributeKeepsBytes: binary-mode values are not mangled before
// Check sees them.
func TestSetAttributeKeepsBytes(t *testing.T) {
	ev := &Event{SpecVersion: "1.0", ID: "1", Source: "/s", Type: "t"}
	ev.SetAttribute("region", "eu\xff\"\n")
	if got := string(ev.Extensions["region"]); got != "\"eu\xff\\\"\\u000a\"" {
		t.Fatalf("raw value %q", got)
	}
	var ae *AttributeError
	if err := ev.Check(); !errors.As(err, &ae) || ae.Attribute != "region" || !strings.Contains(ae.Reason, "not valid UTF-8") {
		t.Fatalf("Check = %v", err)
	}
	ev.SetAttribute("region", "eu-west")
	if err := ev.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsFirstExtensionByName(t *testing.T) {
	ev := &Event{SpecVersion: "1.0", ID: "1", Source: "/s", Type: "t", Extensions: map[string]json.RawMessage{
		"zz": json.RawMessage(`[1]`), "bb": json.RawMessage(`{}`), "ok": json.RawMessage(`"x"`), "erfired": json.RawMessage(`"r"`),
	}}
	for range 20 { // map order varies
		var ae *AttributeError
		if err := ev.CheckIncoming(); !errors.As(err, &ae) || ae.Attribute != "bb" {
			t.Fatalf("Check = %v, want the problem of bb", err)
		}
	}
}

var unquoteSeeds = []string{
	`""`, `"abc"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\u0041"`,
	`"\ud800x"`, `"\\ud800"`, "\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"é\"", `"\u0000"`, `"\uFFFD"`, "\"\xef\xbf\xbd\"",
	`"\uD83D\uDE00"`, `"\ud83d\\ude00"`, `"\ud83d\u"`,
}

func TestUnquote(t *testing.T) {
	tests := []struct{ in, want, why string }{
		{`"abc"`, "abc", ""},
		{`"\u00e9\n"`, "é\n", ""},
		{`"\ud83d\ude00"`, "😀", ""},
		{`"\\ud800"`, `\ud800`, ""},
		{`"\ud800"`, "", `unpaired UTF-16 surrogate \ud800 at offset 1`},
		{`"ab\udc01"`, "", `unpaired UTF-16 surrogate \udc01 at offset 3`},
		{"\"x\xff\"", "", "not valid UTF-8: byte 0xff at offset 2"},
		{"\"\xc0\x80\"", "", "not valid UTF-8: byte 0xc0 at offset 1"},
		{`"\u0000"`, "\x00", ""},
	}
	for _, tt := range tests {
		got, why := unquote([]byte(tt.in))
		if got != tt.want || why != tt.why {
			t.Errorf("unquote(%s) = %q, %q; want %q, %q", tt.in, got, why, tt.want, tt.why)
		}
	}
	for _, s := range unquoteSeeds {
		checkUnquote(t, []byte(s))
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range unquoteSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkUnquote(t, b) })
}

// checkUnquote holds unquote to encoding/json: where encoding/json decodes
// a string without substituting U+FFFD, unquote gives the same string;
// unquote refuses only where encoding/json substituted.
func checkUnquote(t *testing.T, b []byte) {
	b = bytes.Trim(b, " \t\r\n")
	p := parser{b: b}
	synErr := p.skipString()
	var want string
	jsonErr := json.Unmarshal(b, &want)
	if (synErr == nil && p.i == len(b)) != (jsonErr == nil) {
		t.Fatalf("skipString(%q) = %v (consumed %d of %d), encoding/json: %v", b, synErr, p.i, len(b), jsonErr)
	}
	if jsonErr != nil {
		return
	}
	got, why := unquote(b)
	switch {
	case why == "" && got != want:
		t.Fatalf("unquote(%q) = %q, encoding/json %q", b, got, want)
	case why == "" && !utf8.ValidString(got):
		t.Fatalf("unquote(%q) = %q: not valid UTF-8", b, got)
	case why != "" && !strings.ContainsRune(want, utf8.RuneError):
		t.Fatalf("unquote(%q) refused (%s), but encoding/json decoded %q without substitution", b, why, want)
	}
	if refErr := func() error { _, err := refStrict(b); return err }(); (refErr == nil) != (why == "") {
		t.Fatalf("unquote(%q): %q, reference: %v", b, why, refErr)
	}
}

var uriSeeds = []string{
	"", "/", "/s", "urn:x", "nats:er.raw.acme", "https://user:pw@example.com:8080/a/b?q=1&r=%20#frag", "//host/p", "///p",
	"com.acme.order.created/v2", "http://[::1]:80/", "http://[fe80::1%25en0]/", "http://[v1.x]/", "http://[::1", "http://h:x/",
	"1a:b", ":x", "a b", "/a%zz", "/a%2", "/café", "http://exämple.com/", "mailto:a@b", "a:b:c", "?q", "#f", "a#b#c", "http://h/%41",
	"http://a%41b/", "http://a%c3%a9/", "http://[::1]x/", "http://[::1]:8x/", "http://u\xff@h/", "x\x7f", "tel:+1-816-555-1212",
	"http://h:80:90/", "http://@h/", "http://h@h@h/", "\\", "/{x}", "/a|b", "/^", "/`", "/\"", "/<>",
}

func TestURIReference(t *testing.T) {
	valid := map[string]bool{
		"": true, "/": true, "/s": true, "urn:x": true, "nats:er.raw.acme": true, "https://user:pw@example.com:8080/a/b?q=1&r=%20#frag": true,
		"//host/p": true, "///p": true, "com.acme.order.created/v2": true, "http://[::1]:80/": true, "/café": true, "http://exämple.com/": true,
		"mailto:a@b": true, "a:b:c": true, "?q": true, "#f": true, "http://h/%41": true, "http://a%c3%a9/": true, "tel:+1-816-555-1212": true,
		"http://@h/": true,
	}
	for _, s := range uriSeeds {
		p := uriRefProblem(s)
		if (p == "") != valid[s] {
			t.Errorf("uriRefProblem(%q) = %q, want valid=%v", s, p, valid[s])
		}
		checkURIReference(t, s)
	}
}

func FuzzURIReference(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	f.Fuzz(checkURIReference)
}

// checkURIReference: everything the checker accepts, net/url parses.
func checkURIReference(t *testing.T, s string) {
	if uriRefProblem(s) != "" {
		return
	}
	if _, err := url.Parse(s); err != nil {
		t.Fatalf("uriRefProblem(%q) accepted it, net/url: %v", s, err)
	}
}
