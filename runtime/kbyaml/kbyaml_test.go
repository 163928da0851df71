package kbyaml

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var known = []Schema{{ID: "com.acme.order.created/v1", Type: "com.acme.order.created"}, {ID: "com.acme.order.created/v2", Type: "com.acme.order.created"}}

const good = `# orders
name: orders
version: 1.2.0
on: [com.acme.order.created]
facts:
  Order: com.acme.order.created/v2
max_cycles: 10
`

func TestParse(t *testing.T) {
	spec, problems := Parse([]byte(good), known)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := Spec{Name: "orders", Version: "1.2.0", On: []string{"com.acme.order.created"}, FactName: "Order",
		SchemaID: "com.acme.order.created/v2", MaxCycles: 10, Line: 2, Col: 1}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("got %+v\nwant %+v", spec, want)
	}
	spec, _ = Parse([]byte(strings.Replace(good, "max_cycles: 10\n", "", 1)), known)
	if spec.MaxCycles != DefaultMaxCycles {
		t.Errorf("max_cycles left out: %d, want %d", spec.MaxCycles, DefaultMaxCycles)
	}
}

// TestParseProblems pins the messages (the generator's goldens pin them too,
// in gen/testdata/cases/grl_kb_*, which runtime/interp replays).
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, src string
		schemas   []Schema
		want      []string
	}{
		{"every problem at once", "name: Orders\nversion: ''\non: [com.acme.order.create, com.acme.order.created, com.acme.order.created]\nfacts: {when: com.acme.order.created/v3}\nmax_cycles: 0\ncolor: red\n", known, []string{
			`1:7: name "Orders" must match [a-z][a-z0-9_-]*`,
			`2:10: version must be a non-empty string`,
			`3:6: on: unknown event type "com.acme.order.create" (hint: did you mean com.acme.order.created?)`,
			`3:53: on: event type "com.acme.order.created" is listed twice`,
			`4:9: fact name "when" is a GRL keyword`,
			`4:15: fact when: unknown schema "com.acme.order.created/v3" (hint: did you mean com.acme.order.created/v1?)`,
			`5:13: max_cycles must be a positive integer, got "0"`,
			`6:1: unknown key "color" (hint: known keys are name, version, on, facts, max_cycles)`,
		}},
		{"type checks skipped without schemas", "name: a\nversion: '1'\non: [x.y]\nfacts: {A: z/v1}\n", nil, nil},
		{"fact not of a listed type", "name: a\nversion: '1'\non: [com.acme.order.created]\nfacts: {A: com.acme.order.created/v1}\n", []Schema{{ID: "com.acme.order.created/v1", Type: "other"}, {ID: "x/v1", Type: "com.acme.order.created"}}, []string{
			`4:1: fact A binds com.acme.order.created/v1, whose type other is not listed in on`,
		}},
		{"empty", "", known, []string{"1:1: kb.yaml must be a mapping with name, version, on and facts"}},
		{"missing keys", "max_cycles: 3\n", known, []string{`1:1: missing required key "name"`, `1:1: missing required key "version"`, `1:1: missing required key "on"`, `1:1: missing required key "facts"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse([]byte(tc.src), tc.schemas)
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// FuzzParse: any input is refused with positioned problems or yields a
// complete spec that the generator and the interpreter can both use.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{good, "name: [", "", "name: a\non: [t]\nfacts: {A: t/v1, B: t/v1}\n",
		"name: a\nversion: 1\non: [t]\nfacts: {Event: t/v1}\nmax_cycles: -1\n", "name: a\non: t\nfacts: 3\n", "colour: red\n",
		"name: a\nname: b\n", "- a\n- b\n", "name: a\nversion: '1'\non: [t, t]\nfacts: {A: t/v1}\n"} {
		f.Add([]byte(seed))
	}
	ident := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, schemas := range [][]Schema{nil, known, {{ID: "t/v1", Type: "t"}}} {
			spec, problems := Parse(src, schemas)
			if len(problems) > 0 {
				for _, p := range problems {
					if p.Line < 1 || p.Col < 1 || p.Msg == "" {
						t.Fatalf("problem without a position or message: %+v", p)
					}
				}
				continue
			}
			if !nameRE.MatchString(spec.Name) || strings.TrimSpace(spec.Version) == "" || len(spec.On) == 0 ||
				!ident.MatchString(spec.FactName) || spec.FactName == "Event" || IsGRLKeyword(spec.FactName) ||
				spec.SchemaID == "" || spec.MaxCycles <= 0 {
				t.Fatalf("accepted an incomplete kb.yaml: %+v", spec)
			}
			for i, t1 := range spec.On {
				if slices.Contains(spec.On[i+1:], t1) {
					t.Fatalf("accepted %q twice in on", t1)
				}
			}
		}
	})
}
