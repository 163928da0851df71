package rulediff

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiffs(t *testing.T) {
	ran := func(data string, fired ...string) Outcome {
		o := Outcome{Ran: true, Fired: fired}
		if data != "" {
			o.Data = json.RawMessage(data)
		}
		return o
	}
	tests := []struct {
		name          string
		base, working Outcome
		want          []FieldDiff
	}{
		{"same", ran(`{"a":1}`, "R"), ran(`{"a":1}`, "R"), nil},
		{"member changed", ran(`{"a":1,"b":{"c":"x"}}`), ran(`{"a":1,"b":{"c":"y"}}`),
			[]FieldDiff{{"data.b.c", `"x"`, `"y"`}}},
		{"member added and removed", ran(`{"a":1}`), ran(`{"b":2}`),
			[]FieldDiff{{"data.a", "1", Absent}, {"data.b", Absent, "2"}}},
		{"array elements", ran(`{"xs":[1,2]}`), ran(`{"xs":[1,3,4]}`),
			[]FieldDiff{{"data.xs[1]", "2", "3"}, {"data.xs[2]", Absent, "4"}}},
		{"type changed", ran(`{"a":{"b":1}}`), ran(`{"a":[1]}`),
			[]FieldDiff{{"data.a", `{"b":1}`, `[1]`}}},
		{"number text kept", ran(`{"a":1.50}`), ran(`{"a":1.5}`),
			[]FieldDiff{{"data.a", "1.50", "1.5"}}},
		{"fired", ran(`{}`, "A"), ran(`{}`, "A", "B"),
			[]FieldDiff{{"fired", `["A"]`, `["A","B"]`}}},
		{"data not decoded", ran(""), ran(`{"a":1}`),
			[]FieldDiff{{"data", Absent, `{"a":1}`}}},
		{"actions and error", Outcome{Ran: true, Tags: []string{"t"}}, Outcome{Ran: true, Routes: []string{"ops"}, Dropped: true, Error: "boom"},
			[]FieldDiff{{"tags", `["t"]`, `[]`}, {"routes", `[]`, `["ops"]`}, {"dropped", "false", "true"}, {"error", `""`, `"boom"`}}},
		{"ran on one side", Outcome{}, ran(`{}`), []FieldDiff{{"ran", "false", "true"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diffs(&tc.base, &tc.working)
			if g, w := mustJSON(t, got), mustJSON(t, tc.want); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
			if eq := tc.base.Equal(&tc.working); eq != (len(tc.want) == 0) {
				t.Errorf("Equal = %v with diffs %v", eq, got)
			}
		})
	}
}

func TestCountRules(t *testing.T) {
	m := map[string]*RuleChange{}
	countRules(m, []string{"A", "B", "B", "C"}, []string{"B", "C", "D"})
	countRules(m, []string{"A"}, []string{"A", "A"})
	want := map[string]RuleChange{
		"A": {Rule: "A", BaseOnly: 1, CountChanged: 1},
		"B": {Rule: "B", CountChanged: 1},
		"D": {Rule: "D", WorkingOnly: 1},
	}
	if len(m) != len(want) {
		t.Fatalf("counted %d rules, want %d: %v", len(m), len(want), m)
	}
	for name, w := range want {
		if g := m[name]; g == nil || *g != w {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
}

func TestWriteText(t *testing.T) {
	r := &Report{Source: "events.jsonl", Events: 3, Unbound: 1, NotReplayed: 2, KBs: []*KBReport{
		{Name: "a", BaseVersion: "1.0.0", WorkingVersion: "1.1.0", Events: 2, Changed: 1,
			Rules:   []RuleChange{{Rule: "LongRuleName", WorkingOnly: 1}},
			Samples: []Sample{{Tenant: "acme", Source: "/s", ID: "e1", Diffs: []FieldDiff{{"data.x", "1", "2"}}}}},
		{Name: "b", WorkingVersion: "0.1.0"},
		{Name: "c", BaseVersion: "2.0.0", WorkingVersion: "2.0.0", NotComparable: "base: interp: bad\nworse"},
		{Name: "d", BaseVersion: "1.0.0", WorkingVersion: "1.0.0", Events: 2},
	}}
	var b strings.Builder
	r.WriteText(&b)
	want := `3 events replayed from events.jsonl (1 run by none of the knowledge bases compared)
2 stored events not replayed: they were stored without the data as it arrived (by an older engine)

a 1.0.0 → 1.1.0: 1 of 2 events change
  rule          base only  working only  count changed
  LongRuleName          0             1              0
  event acme /s e1
    data.x: 1 → 2

b (added, 0.1.0): none of the events replayed is one it runs on

c 2.0.0: not comparable: base: interp: bad
    worse

d 1.0.0: no change over 2 events
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
