package interp

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// testOrder stands in for a generated fact struct: plain value fields,
// nested struct values and slices.
type testOrder struct {
	OrderId  string
	Total    float64
	Priority int64
	Status   string
	Customer testCustomer
	Items    []testItem
	Notes    string
}

type testCustomer struct {
	Tier    string
	Country string
}

type testItem struct {
	Sku      string
	Quantity int64
}

func (o *testOrder) SchemaID() string { return "test.order/v1" }
func (o *testOrder) Reset()           { *o = testOrder{} }
func (o *testOrder) DecodeJSON(data []byte, _ *rules.Violations) error {
	o.Reset()
	return json.Unmarshal(data, o)
}
func (o *testOrder) Validate(*rules.Violations) {}
func (o *testOrder) AppendJSON(dst []byte) []byte {
	b, _ := json.Marshal(o)
	return append(dst, b...)
}

func mustKB(t *testing.T, maxCycles int, grl ...string) *KB {
	t.Helper()
	var srcs []rules.Source
	for i, text := range grl {
		srcs = append(srcs, rules.Source{Path: fmt.Sprintf("rules/test/r%d.grl", i), Text: text})
	}
	kb, err := New(Spec{Name: "test", Version: "1.0.0", On: []string{"test.order"}, FactName: "Order",
		SchemaID: "test.order/v1", MaxCycles: maxCycles, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

const ordersGRL = `
rule Gold "gold customers get priority" salience 10 {
	when Order.Customer.Tier == "gold" && Order.Priority < 5
	then Order.Priority = 5; Event.Tag("gold");
}
rule Big "big orders need review" salience 5 {
	when Order.Total > 1000 && Order.Status == ""
	then Order.Status = "review"; Event.Route("review-queue");
}
rule Approve salience 1 {
	when Order.Status == "" && Order.Items.Len() > 0
	then Order.Status = "approved"; Order.Notes = Order.Items[0].Sku + "/" + Event.TenantID;
}
rule DropEmpty {
	when Order.Items.Len() == 0 && Order.Status == ""
	then Event.Drop(); Order.Status = "rejected"; Retract("DropEmpty");
}
`

func TestExecute(t *testing.T) {
	kb := mustKB(t, 0, ordersGRL)
	tests := []struct {
		name   string
		in     testOrder
		tenant string
		want   testOrder
		fired  []string
		tags   []string
		routes []string
		drop   bool
	}{
		{
			name:   "gold and big",
			in:     testOrder{Total: 1500, Customer: testCustomer{Tier: "gold"}, Items: []testItem{{Sku: "A-1", Quantity: 1}}},
			tenant: "acme",
			want:   testOrder{Total: 1500, Priority: 5, Status: "review", Customer: testCustomer{Tier: "gold"}, Items: []testItem{{Sku: "A-1", Quantity: 1}}},
			fired:  []string{"Gold", "Big"},
			tags:   []string{"gold"},
			routes: []string{"review-queue"},
		},
		{
			name:   "small standard",
			in:     testOrder{Total: 10, Customer: testCustomer{Tier: "standard"}, Items: []testItem{{Sku: "B-2", Quantity: 3}}},
			tenant: "globex",
			want:   testOrder{Total: 10, Status: "approved", Notes: "B-2/globex", Customer: testCustomer{Tier: "standard"}, Items: []testItem{{Sku: "B-2", Quantity: 3}}},
			fired:  []string{"Approve"},
		},
		{
			name:  "empty",
			in:    testOrder{},
			want:  testOrder{Status: "rejected"},
			fired: []string{"DropEmpty"},
			drop:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x rules.Exec
			x.Event.TenantID = tc.tenant
			got := tc.in
			if err := kb.Execute(&x, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fact = %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(x.Fired, tc.fired) {
				t.Errorf("fired = %q, want %q", x.Fired, tc.fired)
			}
			if !reflect.DeepEqual(x.Event.Tags(), tc.tags) || !reflect.DeepEqual(x.Event.Routes(), tc.routes) || x.Event.IsDropped() != tc.drop {
				t.Errorf("event actions = tags %q routes %q dropped %v, want %q %q %v",
					x.Event.Tags(), x.Event.Routes(), x.Event.IsDropped(), tc.tags, tc.routes, tc.drop)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	kb := mustKB(t, 0, ordersGRL, `rule Zeta salience -3 { when false then Complete(); }
// rule Commented { when true then Complete(); }
rule Alpha "a" { when false then Complete(); }`)
	var names []string
	for _, r := range kb.Rules() {
		names = append(names, fmt.Sprintf("%s/%d/%s", r.Name, r.Salience, r.Description))
	}
	want := []string{"Gold/10/gold customers get priority", "Big/5/big orders need review",
		"Approve/1/No Description", "DropEmpty/0/No Description", "Zeta/-3/No Description", "Alpha/0/a"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Rules() = %q, want %q", names, want)
	}
	if kb.MaxCycles() != rules.DefaultMaxCycles || kb.FactName() != "Order" || kb.SchemaID() != "test.order/v1" ||
		kb.Name() != "test" || kb.Version() != "1.0.0" || !reflect.DeepEqual(kb.On(), []string{"test.order"}) || len(kb.Sources()) != 2 {
		t.Errorf("metadata = %s %v %v", kb, kb.On(), kb.MaxCycles())
	}
}

func TestFromCompiled(t *testing.T) {
	orig := mustKB(t, 7, ordersGRL)
	twin, err := FromCompiled(orig)
	if err != nil {
		t.Fatal(err)
	}
	if twin.MaxCycles() != 7 || !reflect.DeepEqual(twin.Rules(), orig.Rules()) || !reflect.DeepEqual(twin.Sources(), orig.Sources()) {
		t.Errorf("FromCompiled lost metadata: %s vs %s", twin, orig)
	}
}

func TestErrors(t *testing.T) {
	loop := `rule Loop { when Order.Priority >= 0 then Order.Priority = Order.Priority + 1; }`
	t.Run("max cycles", func(t *testing.T) {
		kb := mustKB(t, 3, loop)
		var x rules.Exec
		o := testOrder{}
		err := kb.Execute(&x, &o)
		var mc *rules.MaxCycleError
		if !errors.As(err, &mc) || mc.MaxCycles != 3 {
			t.Fatalf("err = %v, want *rules.MaxCycleError{3}", err)
		}
		if !strings.HasPrefix(err.Error(), "the GruleEngine successfully selected rule candidate for execution after 3 cycles") {
			t.Errorf("message changed: %v", err)
		}
		// Grule runs MaxCycles `then`s and fails when selecting one more.
		if len(x.Fired) != 3 || o.Priority != 3 {
			t.Errorf("fired %d rules, priority %d; want 3, 3", len(x.Fired), o.Priority)
		}
	})
	t.Run("then fails", func(t *testing.T) {
		kb := mustKB(t, 0, `rule Idx { when Order.Status == "" then Order.Status = Order.Items[2].Sku; }`)
		var x rules.Exec
		err := kb.Execute(&x, &testOrder{Items: []testItem{{Sku: "A"}}})
		var re *rules.RuleError
		if !errors.As(err, &re) || re.Rule != "Idx" {
			t.Fatalf("err = %v, want *rules.RuleError for Idx", err)
		}
		if !strings.HasPrefix(err.Error(), "error while executing rule Idx. got ") {
			t.Errorf("message changed: %v", err)
		}
	})
	t.Run("when fails", func(t *testing.T) {
		// An error in `when` means the rule does not match.
		kb := mustKB(t, 0, `rule Idx { when Order.Items[2].Sku == "A" then Order.Status = "x"; }`)
		var x rules.Exec
		o := testOrder{Items: []testItem{{Sku: "A"}}}
		if err := kb.Execute(&x, &o); err != nil || len(x.Fired) != 0 || o.Status != "" {
			t.Errorf("err %v, fired %q, status %q; want nothing", err, x.Fired, o.Status)
		}
	})
	t.Run("wrong schema", func(t *testing.T) {
		kb := mustKB(t, 0, loop)
		err := kb.Execute(&rules.Exec{}, &otherFact{})
		if err == nil || !strings.Contains(err.Error(), "binds test.order/v1, got a fact of other/v1") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("syntax", func(t *testing.T) {
		_, err := New(Spec{Name: "bad", FactName: "Order", SchemaID: "test.order/v1",
			Sources: []rules.Source{{Path: "rules/bad/a.grl", Text: "rule A { when Order.X == then Complete(); }"}}})
		if err == nil || !strings.Contains(err.Error(), "rules/bad/a.grl: grl error on 1:") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("reserved fact", func(t *testing.T) {
		_, err := New(Spec{Name: "bad", FactName: "Event", SchemaID: "x/v1"})
		if err == nil {
			t.Error("fact named Event accepted")
		}
	})
}

type otherFact struct{ testOrder }

func (*otherFact) SchemaID() string { return "other/v1" }

func TestCompleteAndRetract(t *testing.T) {
	kb := mustKB(t, 0, `
rule First salience 10 { when Order.Priority == 0 then Order.Priority = 1; Complete(); Order.Notes = "after complete"; }
rule Second { when Order.Priority == 1 then Order.Status = "second"; }
rule Count salience 5 { when Order.Priority >= 1 && Order.Priority < 100 then Order.Priority = Order.Priority + 1; Retract("Count"); }
`)
	var x rules.Exec
	o := testOrder{}
	if err := kb.Execute(&x, &o); err != nil {
		t.Fatal(err)
	}
	// Statements after Complete() still run; no further cycle does.
	if o.Priority != 1 || o.Notes != "after complete" || !reflect.DeepEqual(x.Fired, []string{"First"}) {
		t.Errorf("after Complete: %+v fired %q", o, x.Fired)
	}
	x.Reset()
	o = testOrder{Priority: 1}
	if err := kb.Execute(&x, &o); err != nil {
		t.Fatal(err)
	}
	// Count fires once (then retracted); Second no longer matches.
	if o.Priority != 2 || o.Status != "" || !reflect.DeepEqual(x.Fired, []string{"Count"}) {
		t.Errorf("after Retract: %+v fired %q", o, x.Fired)
	}
}

// TestConcurrent runs one KB from many goroutines: each Execute must see an
// instance of its own (run with -race).
func TestConcurrent(t *testing.T) {
	kb := mustKB(t, 0, ordersGRL)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var x rules.Exec
				x.Event.TenantID = fmt.Sprint("t", g)
				o := testOrder{Total: float64(i * 100), Items: []testItem{{Sku: fmt.Sprint("S", i)}}}
				if err := kb.Execute(&x, &o); err != nil {
					t.Error(err)
					return
				}
				want := "approved"
				if o.Total > 1000 {
					want = "review"
				}
				if o.Status != want || (want == "approved" && o.Notes != fmt.Sprintf("S%d/t%d", i, g)) {
					t.Errorf("goroutine %d event %d: %+v", g, i, o)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := len(kb.free); n < 1 || n > 8 {
		t.Errorf("free list has %d instances, want 1..8", n)
	}
}

func BenchmarkExecute(b *testing.B) {
	kb := mustKB(&testing.T{}, 0, ordersGRL)
	var x rules.Exec
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x.Reset()
		o := testOrder{Total: 1500, Customer: testCustomer{Tier: "gold"}, Items: []testItem{{Sku: "A-1"}}}
		if err := kb.Execute(&x, &o); err != nil {
			b.Fatal(err)
		}
	}
}
