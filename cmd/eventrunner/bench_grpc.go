package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/generated/typedpb"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// ackStream is one client stream of either gRPC service, reduced to what
// the bench needs.
type ackStream struct {
	send  func(i int) error // sends event i of the phase
	recv  func() (accepted bool, err error)
	close func() error
}

// benchGRPC streams o.events events over o.concurrency streams of the
// generic service (typed false) or of the typed OrderCreatedV1 service, the
// same ~1 KB orders as the HTTP phase, and measures like benchPipeline:
// events/s until the last is stored, and sent→stored latency.
func benchGRPC(ctx context.Context, a *app.App, o benchOptions, phase string, typed bool) (phaseResult, error) {
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(grpcingest.Codec{})))
	if err != nil {
		return phaseResult{}, err
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.DemoAPIKey())
	ids := make([]string, o.events)
	generic := make([]*cepb.CloudEvent, o.events)
	typedEvs := make([]*typedpb.OrderCreatedV1Event, o.events)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%07d", phase, i)
		raw := benchEvent(ids[i], i)
		var err error
		if typed {
			typedEvs[i], err = typedBenchEvent(raw)
		} else {
			generic[i], err = protoEvent(raw)
		}
		if err != nil {
			return phaseResult{}, err
		}
	}
	open := func() (*ackStream, error) {
		if typed {
			st, err := typedpb.NewOrderCreatedV1IngestClient(conn).StreamOrderCreatedV1(ctx)
			if err != nil {
				return nil, err
			}
			return &ackStream{
				send:  func(i int) error { return st.Send(typedEvs[i]) },
				recv:  func() (bool, error) { a, err := st.Recv(); return a.GetStatus() == typedpb.Ack_STATUS_ACCEPTED, err },
				close: st.CloseSend,
			}, nil
		}
		st, err := cepb.NewCloudEventIngestClient(conn).Stream(ctx)
		if err != nil {
			return nil, err
		}
		return &ackStream{
			send:  func(i int) error { return st.Send(generic[i]) },
			recv:  func() (bool, error) { a, err := st.Recv(); return a.GetStatus() == cepb.Ack_STATUS_ACCEPTED, err },
			close: st.CloseSend,
		}, nil
	}
	sent := make([]time.Time, o.events)
	start := time.Now()
	if err := runStreams(o, open, sent); err != nil {
		return phaseResult{}, err
	}
	acked := float64(o.events) / time.Since(start).Seconds()
	storedAt, err := waitStored(ctx, a.Store(), a.DemoTenant(), ids, 0)
	if err != nil {
		return phaseResult{}, err
	}
	lat := make([]time.Duration, 0, len(ids))
	var last time.Time
	for i, id := range ids {
		at := storedAt[id]
		lat = append(lat, at.Sub(sent[i]))
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	return phaseResult{
		rate:  float64(len(ids)) / last.Sub(start).Seconds(),
		acked: acked,
		p50:   lat[len(lat)/2].Round(10 * time.Microsecond),
		p99:   lat[len(lat)*99/100].Round(10 * time.Microsecond),
	}, nil
}

// benchHTTPIngest posts o.events events in batches of o.batch with
// o.concurrency requests in flight and returns the rate at which they were
// acknowledged (202: stored in ER_PROC), then waits until all are stored
// so that the next phase starts on an idle pipeline.
func benchHTTPIngest(ctx context.Context, a *app.App, o benchOptions, phase string) (float64, error) {
	bodies, ids := benchBatches(phase, o.events, o.batch)
	url := "http://" + a.HTTPAddr() + "/v1/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}}
	next := make(chan []byte)
	errs := make([]error, max(o.concurrency, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for c := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				if errs[c] == nil {
					errs[c] = benchPost(client, url, a.DemoAPIKey(), b)
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	acked := float64(o.events) / time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	_, err := waitStored(ctx, a.Store(), a.DemoTenant(), ids, 0)
	return acked, err
}

// runStreams sends event i on stream i%concurrency and waits for every ack.
func runStreams(o benchOptions, open func() (*ackStream, error), sent []time.Time) error {
	n := max(o.concurrency, 1)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		st, err := open()
		if err != nil {
			return err
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := c; i < len(sent); i += n {
				sent[i] = time.Now()
				if err := st.send(i); err != nil {
					break // the receiver reports why
				}
			}
			st.close()
		}()
		go func() {
			defer wg.Done()
			for {
				ok, err := st.recv()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs[c] = err
					return
				}
				if !ok {
					errs[c] = errors.New("bench: an event was not accepted")
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// typedBenchEvent is the typed message of a structured bench event.
func typedBenchEvent(raw []byte) (*typedpb.OrderCreatedV1Event, error) {
	var ev cloudevents.Event
	if err := cloudevents.Parse(raw, &ev); err != nil {
		return nil, err
	}
	var f generated.OrderCreatedV1
	if err := rules.Decode(&f, ev.Data); err != nil {
		return nil, err
	}
	m := &typedpb.OrderCreatedV1Event{Id: ev.ID, Source: ev.Source, Data: new(typedpb.OrderCreatedV1)}
	m.Data.FromFact(&f)
	return m, nil
}
