package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// TestSDKGoNATSConsumer: a tenant consumer written with sdk-go's NATS
// JetStream protocol, logged in as the tenant, receives every processed
// event of its stream as a valid CloudEvent, with eventrunner's extensions
// and the processed data (the engine publishes structured mode, which the
// protocol reads when there is no ce-specversion header).
func TestSDKGoNATSConsumer(t *testing.T) {
	s := startServer(t, t.TempDir())
	const n = 20
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("sdk-nats-%d", i)
		want[id] = true
		if code, _, b := request(t, http.MethodPost, s.httpURL+"/v1/events", testKey, "application/cloudevents+json", iotEvent(id, 60+float64(i))); code != 202 {
			t.Fatalf("post %s: %d %s", id, code, b)
		}
	}

	nc, err := nats.Connect(s.natsURL, tenantnats.ClientOptions("demo", testKey)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	consumer, err := cejs.NewConsumerFromConn(nc, tenantnats.StreamName("demo"), "er.t.demo.>", nil, []nats.SubOpt{nats.DeliverAll()})
	if err != nil {
		t.Fatalf("sdk-go consumer on the tenant stream: %v", err)
	}
	client, err := cloudevents.NewClient(consumer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]cloudevents.Event{}
	go func() {
		_ = client.StartReceiver(ctx, func(e cloudevents.Event) {
			mu.Lock()
			got[e.ID()] = e
			if len(got) == n {
				cancel()
			}
			mu.Unlock()
		})
	}()
	<-ctx.Done()
	consumer.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("sdk-go received %d of %d events", len(got), n)
	}
	for id := range want {
		e := got[id]
		if err := e.Validate(); err != nil {
			t.Errorf("%s: not a valid CloudEvent for sdk-go: %v", id, err)
		}
		if e.Type() != "com.acme.iot.reading" || e.Source() != "/e2e" || e.DataSchema() == "" {
			t.Errorf("%s: type %q source %q dataschema %q", id, e.Type(), e.Source(), e.DataSchema())
		}
		if _, ok := e.Extensions()[engine.AttrKB]; !ok {
			t.Errorf("%s: no %s extension: %v", id, engine.AttrKB, e.Extensions())
		}
		var data struct {
			DeviceID string `json:"deviceId"`
		}
		if err := e.DataAs(&data); err != nil || data.DeviceID != "dev-e2e1" {
			t.Errorf("%s: data %s: %v", id, e.Data(), err)
		}
	}
}
