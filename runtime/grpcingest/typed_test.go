package grpcingest

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// note is a hand-written fact standing in for a generated one.
type note struct{ Text string }

func (*note) SchemaID() string                           { return "com.acme.note/v2" }
func (n *note) Reset()                                   { *n = note{} }
func (*note) DecodeJSON([]byte, *rules.Violations) error { return nil }
func (*note) Validate(*rules.Violations)                 {}
func (n *note) AppendJSON(dst []byte) []byte {
	return append(append(append(dst, `{"text":"`...), n.Text...), `"}`...)
}

func typedServer(t *testing.T) (*Server, *scripted) {
	reg, err := rules.NewRegistry("test", []*rules.Schema{{ID: "com.acme.note/v2", Type: "com.acme.note", Version: 2, New: func() rules.Fact { return new(note) }}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acc := &scripted{answers: map[string]error{}}
	return New(Config{Auth: tenant.NewRegistry(), Accept: acc, Registry: reg}), acc
}

func TestTypedToEvent(t *testing.T) {
	s, _ := typedServer(t)
	ev, err := s.typedToEvent(&rules.TypedEvent{ID: "1", Source: "/s", Subject: "sub", Time: "2026-11-28T09:00:00Z",
		Extensions: map[string]string{"tenantid": "acme", "region": "eu"}, Fact: &note{Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.SpecVersion != "1.0" || ev.Type != "com.acme.note" || ev.DataSchema != "com.acme.note/v2" || ev.TenantID != "acme" ||
		string(ev.Extensions["region"]) != `"eu"` || len(ev.Extensions) != 1 || string(ev.Data) != `{"text":"hi"}` || ev.Subject != "sub" {
		t.Fatalf("event %+v", ev)
	}
	for name, te := range map[string]*rules.TypedEvent{
		"id":   {ID: "\xff", Fact: &note{}},
		"data": {ID: "1", Fact: &note{Text: "\xfe"}},
	} {
		_, err := s.typedToEvent(te)
		var re *accept.Error
		if !errors.As(err, &re) || re.Field != name {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTypedSink(t *testing.T) {
	s, acc := typedServer(t)
	acc.answers["bad"] = &accept.Error{Kind: accept.KindInvalidData, Field: "data.$.text", Reason: "too short",
		Violations: []rules.Violation{{Path: "$.text", Message: "too short"}}}
	sink := &typedSink{s: s}
	ctx := context.WithValue(context.Background(), tenantKey{}, tenant.Tenant{ID: "acme"})
	if err := sink.Publish(ctx, &rules.TypedEvent{ID: "ok", Source: "/s", Fact: &note{Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	err := sink.Publish(ctx, &rules.TypedEvent{ID: "bad", Source: "/s", Fact: &note{}})
	wantDetails(t, err, codes.InvalidArgument, "data.$.text")
	queue := []*rules.TypedEvent{{ID: "s1", Fact: &note{}}, {ID: "bad", Fact: &note{}}, {ID: "\xff", Fact: &note{}}}
	var acks []*rules.Ack
	err = sink.Stream(ctx, func() (*rules.TypedEvent, error) {
		if len(queue) == 0 {
			return nil, io.EOF
		}
		te := queue[0]
		queue = queue[1:]
		return te, nil
	}, func(a *rules.Ack) error { acks = append(acks, a); return nil })
	if err != nil || len(acks) != 3 {
		t.Fatalf("%v, acks %v", err, acks)
	}
	if acks[0].Status != rules.AckAccepted || acks[1].Status != rules.AckRejected || acks[1].Field != "data.$.text" ||
		len(acks[1].Violations) != 1 || acks[2].Status != rules.AckRejected || acks[2].Field != "id" {
		t.Fatalf("acks %+v %+v %+v", acks[0], acks[1], acks[2])
	}
	if tenants := acc.tenants; tenants[len(tenants)-1] != "acme" {
		t.Fatalf("tenant %v", tenants)
	}
	if status.Code(statusOf(context.DeadlineExceeded).Err()) != codes.DeadlineExceeded {
		t.Fatal("deadline not mapped")
	}
}
