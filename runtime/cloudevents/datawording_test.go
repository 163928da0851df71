package cloudevents

import (
	"testing"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// TestDataStringsWordedAsAttributes: a string inside data is refused (by
// the generated decoders, on rules.Lexer) with exactly the reason an
// attribute gets here, so producers read one wording for one mistake.
func TestDataStringsWordedAsAttributes(t *testing.T) {
	for _, lit := range []string{
		"\"coll\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"ok\\n\xfe\"",
		`"\ud800"`, `"\udc00"`, `"ab\ud800\u0041"`, `"\ud83d\ud83d\ude00"`,
	} {
		_, want := unquote([]byte(lit))
		if want == "" {
			t.Fatalf("%q: attributes accept it", lit)
		}
		var l rules.Lexer
		var v rules.Violations
		var s string
		l.Reset([]byte(lit))
		l.ReadString(&s, nil, &v)
		if err := l.Finish(); err != nil || v.Len() != 1 || v.List[0].Message != want {
			t.Errorf("%q: data says %v %v, attributes say %q", lit, err, v.List, want)
		}
	}
}
