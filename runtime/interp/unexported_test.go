package interp

import (
	"testing"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// testReading is shaped like a generated fact whose schema allows members it
// does not name: exported property fields plus the decoder's unexported
// bookkeeping (presence bits and the extra members).
type testReading struct {
	Value   float64
	Alert   bool
	present [1]uint64
	extra   rules.Extra
}

func (r *testReading) SchemaID() string { return "test.reading/v1" }
func (r *testReading) Reset()           { *r = testReading{} }
func (r *testReading) DecodeJSON(data []byte, v *rules.Violations) error {
	r.Reset()
	var l rules.Lexer
	l.Reset(data)
	if l.BeginObject(nil, v) {
		for l.NextKey() {
			switch string(l.Key()) {
			case "Value":
				if l.First(&r.present[0], 1, nil, v) {
					fp := (*rules.JSONPath)(nil).Key("Value")
					l.ReadFloat(&r.Value, &fp, v)
				}
			default:
				l.ReadExtra(&r.extra, nil, v)
			}
		}
	}
	return l.Finish()
}
func (r *testReading) Validate(*rules.Violations) {}
func (r *testReading) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"Value":`...)
	dst = rules.AppendFloat(dst, r.Value)
	return append(r.extra.AppendMembers(dst, true), '}')
}

func readingKB(t *testing.T, grl string) (*KB, error) {
	t.Helper()
	return New(Spec{Name: "test", Version: "1.0.0", On: []string{"test.reading"}, FactName: "Reading",
		SchemaID: "test.reading/v1", Sources: []rules.Source{{Path: "rules/test/r.grl", Text: grl}}})
}

// TestUnexportedFieldsAreNotFacts: grule reaches fact fields by name through
// reflection; the generated structs' unexported fields (presence bits,
// extra members) are harmless there. Rules over the exported fields run and
// leave them alone, and a rule that names one never fires or fails with an
// error (grule takes a when that cannot be evaluated as false), never
// panics, and changes nothing.
func TestUnexportedFieldsAreNotFacts(t *testing.T) {
	kb, err := readingKB(t, `rule High { when Reading.Value > 10 then Reading.Alert = true; Retract("High"); }`)
	if err != nil {
		t.Fatal(err)
	}
	var r testReading
	if err := r.DecodeJSON([]byte(`{"Value":12,"altitude":{"m":1}}`), &rules.Violations{}); err != nil {
		t.Fatal(err)
	}
	var x rules.Exec
	if err := kb.Execute(&x, &r); err != nil {
		t.Fatal(err)
	}
	if got := string(r.AppendJSON(nil)); !r.Alert || r.present[0] != 1 || got != `{"Value":12,"altitude":{"m":1}}` {
		t.Errorf("after the rule: alert %v, present %b, %s", r.Alert, r.present[0], got)
	}

	for _, grl := range []string{
		`rule X { when Reading.extra.Len() > 0 then Reading.Alert = true; Retract("X"); }`,
		`rule X { when Reading.Value > 0 then Reading.present = 0; Retract("X"); }`,
	} {
		kb, err := readingKB(t, grl)
		if err != nil {
			continue // refused when loading: fine
		}
		r := testReading{Value: 1, present: [1]uint64{1}}
		var x rules.Exec
		err = func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: grule panicked: %v", grl, p)
				}
			}()
			return kb.Execute(&x, &r)
		}()
		if (err == nil && len(x.Fired) > 0) || r.Alert || r.present[0] != 1 {
			t.Errorf("%s: err %v, fired %q, alert %v, present %b: want no firing or an error, and the fact unchanged",
				grl, err, x.Fired, r.Alert, r.present[0])
		}
	}
}
