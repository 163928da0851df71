// Package runnertest holds a hand-written stand-in for generated code: an
// Order fact with its schema, and two tiny knowledge bases, for the tests
// of the runtime packages (runtime/ must not import generated/). Only _test
// files import it.
package runnertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// OrderEvent is a valid order event (id o-1, amount 42), changed by mut
// when not nil.
func OrderEvent(mut func(*cloudevents.Event)) *cloudevents.Event {
	ev := &cloudevents.Event{
		SpecVersion: "1.0", ID: "o-1", Source: "/shop", Type: OrderType,
		Data: json.RawMessage(`{"id":"o-1","amount":42}`),
	}
	if mut != nil {
		mut(ev)
	}
	return ev
}

// OrderType is the event type of Order.
const OrderType = "com.acme.order.created"

// Order is the data of com.acme.order.created/v1 and /v2 (v2 adds
// Currency).
type Order struct {
	schemaID string
	ID       string
	Amount   int64
	Customer string
	Status   string
	Currency string
}

var (
	// OrderV1 requires id and amount >= 0.
	OrderV1 = &rules.Schema{ID: OrderType + "/v1", Type: OrderType, Version: 1, Hash: "test-v1", File: "schemas/" + OrderType + "/v1.json",
		New: func() rules.Fact { return &Order{schemaID: OrderType + "/v1"} }}
	// OrderV2 also allows currency, a 3-letter code.
	OrderV2 = &rules.Schema{ID: OrderType + "/v2", Type: OrderType, Version: 2, Hash: "test-v2", File: "schemas/" + OrderType + "/v2.json",
		New: func() rules.Fact { return &Order{schemaID: OrderType + "/v2"} }}
)

func (o *Order) SchemaID() string { return o.schemaID }

func (o *Order) Reset() { *o = Order{schemaID: o.schemaID} }

// DecodeJSON fills o from a JSON object, written the way eventgen writes
// decoders (rules.Lexer, no reflection), so that benchmarks over this fact
// are representative.
func (o *Order) DecodeJSON(data []byte, v *rules.Violations) error {
	o.Reset()
	var l rules.Lexer
	l.Reset(data)
	o.decodeJSON(&l, nil, v)
	return l.Finish()
}

func (o *Order) decodeJSON(l *rules.Lexer, p *rules.JSONPath, v *rules.Violations) {
	if !l.BeginObject(p, v) {
		return
	}
	var seenID, seenAmount bool
	for l.NextKey() {
		switch string(l.Key()) {
		case "id":
			seenID = true
			fp := p.Key("id")
			l.ReadString(&o.ID, &fp, v)
		case "amount":
			seenAmount = true
			fp := p.Key("amount")
			l.ReadInt(&o.Amount, &fp, v)
		case "customer":
			fp := p.Key("customer")
			l.ReadString(&o.Customer, &fp, v)
		case "status":
			fp := p.Key("status")
			l.ReadString(&o.Status, &fp, v)
		case "currency":
			if o.schemaID != OrderV2.ID {
				l.UnknownKey(p, v)
				continue
			}
			fp := p.Key("currency")
			l.ReadString(&o.Currency, &fp, v)
		default:
			l.UnknownKey(p, v)
		}
	}
	if l.Err() != nil {
		return
	}
	if !seenID {
		v.AddKey(p, "id", "is required")
	}
	if !seenAmount {
		v.AddKey(p, "amount", "is required")
	}
}

// Validate checks the value constraints.
func (o *Order) Validate(v *rules.Violations) {
	if o.Amount < 0 {
		v.Add("$.amount", fmt.Sprintf("must be >= 0, got %d", o.Amount))
	}
	if o.Currency != "" && len(o.Currency) != 3 {
		v.Add("$.currency", "must be 3 characters")
	}
}

// AppendJSON writes the fact in schema order.
func (o *Order) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = rules.AppendString(dst, o.ID)
	dst = append(dst, `,"amount":`...)
	dst = rules.AppendInt(dst, o.Amount)
	if o.Customer != "" {
		dst = append(dst, `,"customer":`...)
		dst = rules.AppendString(dst, o.Customer)
	}
	if o.Status != "" {
		dst = append(dst, `,"status":`...)
		dst = rules.AppendString(dst, o.Status)
	}
	if o.Currency != "" {
		dst = append(dst, `,"currency":`...)
		dst = rules.AppendString(dst, o.Currency)
	}
	return append(dst, '}')
}

// KB is a tiny knowledge base over Order: a list of rules run in grule's
// cycle (highest salience first among those whose condition holds).
type KB struct {
	name, version, schemaID string
	rules                   []rule
	maxCycles               int
}

type rule struct {
	info rules.RuleInfo
	when func(x *rules.Exec, o *Order) bool
	then func(x *rules.Exec, o *Order) error
}

func (k *KB) Name() string            { return k.name }
func (k *KB) Version() string         { return k.version }
func (k *KB) On() []string            { return []string{OrderType} }
func (k *KB) FactName() string        { return "Order" }
func (k *KB) SchemaID() string        { return k.schemaID }
func (k *KB) MaxCycles() int          { return k.maxCycles }
func (k *KB) Sources() []rules.Source { return nil }
func (k *KB) Rules() []rules.RuleInfo {
	out := make([]rules.RuleInfo, len(k.rules))
	for i, r := range k.rules {
		out[i] = r.info
	}
	return out
}

// Execute runs grule's cycle; a rule fires at most once (each retracts
// itself), as "rule X ... Retract("X")" does.
func (k *KB) Execute(x *rules.Exec, f rules.Fact) error {
	o := f.(*Order)
	fired := make([]bool, len(k.rules))
	for cycle := 0; ; cycle++ {
		if cycle >= k.maxCycles {
			return &rules.MaxCycleError{MaxCycles: k.maxCycles}
		}
		best := -1
		for i, r := range k.rules {
			if !fired[i] && r.when(x, o) && (best < 0 || r.info.Salience > k.rules[best].info.Salience) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		r := k.rules[best]
		x.Fired = append(x.Fired, r.info.Name)
		if r.info.Name != "Loop" {
			fired[best] = true
		}
		if err := r.then(x, o); err != nil {
			return &rules.RuleError{Rule: r.info.Name, Err: err}
		}
	}
}

// Enrich (name "a-enrich", runs first): marks big orders for review, tags
// VIP customers, and holds the test triggers: status "drop" drops the event,
// "loop" never stops (MaxCycleError), "boom" fails (RuleError).
func Enrich(schemaID string) *KB {
	return &KB{name: "a-enrich", version: "1.0.0", schemaID: schemaID, maxCycles: 50, rules: []rule{
		{rules.RuleInfo{Name: "BigOrder", Salience: 10},
			func(_ *rules.Exec, o *Order) bool { return o.Amount > 1000 && o.Status == "" },
			func(x *rules.Exec, o *Order) error { o.Status = "review"; x.Event.Tag("big"); return nil }},
		{rules.RuleInfo{Name: "VIP"},
			func(_ *rules.Exec, o *Order) bool { return strings.HasPrefix(o.Customer, "vip-") },
			func(x *rules.Exec, o *Order) error { x.Event.Tag("vip"); return nil }},
		{rules.RuleInfo{Name: "DropTest"},
			func(_ *rules.Exec, o *Order) bool { return o.Status == "drop" },
			func(x *rules.Exec, o *Order) error { x.Event.Drop(); return nil }},
		{rules.RuleInfo{Name: "Loop"},
			func(_ *rules.Exec, o *Order) bool { return o.Status == "loop" },
			func(*rules.Exec, *Order) error { return nil }},
		{rules.RuleInfo{Name: "Boom"},
			func(_ *rules.Exec, o *Order) bool { return o.Status == "boom" },
			func(*rules.Exec, *Order) error { return errors.New("index out of range") }},
	}}
}

// Route (name "b-route", runs after a-enrich and sees its changes): routes
// orders under review to "ops".
func Route(schemaID string) *KB {
	return &KB{name: "b-route", version: "2.1.0", schemaID: schemaID, maxCycles: 50, rules: []rule{
		{rules.RuleInfo{Name: "ReviewToOps"},
			func(_ *rules.Exec, o *Order) bool { return o.Status == "review" },
			func(x *rules.Exec, o *Order) error { x.Event.Route("ops"); o.Status = "routed"; return nil }},
	}}
}

// Registry is a bundle with Order v1 and v2 and both knowledge bases bound
// to v1.
func Registry() *rules.Registry {
	return rules.MustRegistry("bundle-test", []*rules.Schema{OrderV1, OrderV2}, []rules.KnowledgeBase{Route(OrderV1.ID), Enrich(OrderV1.ID)})
}
