package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
)

// runSendGRPC sends the same inputs as runSend over the generic gRPC
// service: --concurrency streams of CloudEventIngest.Stream, each taking
// whole batches of the input, acks counted as they come.
func runSendGRPC(ctx context.Context, o sendOptions, files []string, stdin io.Reader, stdout, stderr io.Writer) error {
	conn, err := grpc.NewClient(o.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(grpcingest.Codec{})))
	if err != nil {
		return fmt.Errorf("grpc: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+o.apiKey))
	defer cancel()
	var stats sendStats
	stopProgress := startProgress(o.progress, &stats, stderr)
	batches := make(chan [][]byte, max(o.concurrency, 1))
	errs := make([]error, max(o.concurrency, 1))
	var wg sync.WaitGroup
	for i := range errs {
		stream, err := cepb.NewCloudEventIngestClient(conn).Stream(ctx)
		if err != nil {
			cancel()
			return fmt.Errorf("grpc stream: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sendStream(stream, batches, &stats, stderr)
		}()
	}
	readErr := readBatches(files, stdin, max(o.batch, 1), batches)
	close(batches)
	wg.Wait()
	stopProgress()
	fmt.Fprintf(stdout, "sent %d, accepted %d, rejected %d\n", stats.sent.Load(), stats.accepted.Load(), stats.rejected.Load())
	if err := errors.Join(readErr, errors.Join(errs...)); err != nil {
		return err
	}
	if stats.rejected.Load() > 0 || stats.accepted.Load() != stats.sent.Load() {
		return exitError{1}
	}
	return nil
}

// sendStream sends the batches it takes on one stream while another
// goroutine counts the acks, until batches closes and every ack is in.
// After a send error it keeps draining batches (counting nothing) so that
// the reader does not block.
func sendStream(stream cepb.CloudEventIngest_StreamClient, batches <-chan [][]byte, stats *sendStats, stderr io.Writer) error {
	acks := make(chan error, 1)
	go func() { acks <- readAcks(stream, stats, stderr) }()
	var sendErr error
	for b := range batches {
		for _, raw := range b {
			if sendErr != nil {
				continue
			}
			m, err := protoEvent(raw)
			if err != nil {
				stats.sent.Add(1)
				stats.rejected.Add(1)
				fmt.Fprintf(stderr, "rejected (not sent): %v\n", err)
				continue
			}
			if sendErr = stream.Send(m); sendErr == nil {
				stats.sent.Add(1)
			}
		}
	}
	stream.CloseSend()
	err := <-acks
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		err = errors.Join(err, fmt.Errorf("grpc send: %w", sendErr))
	}
	return err
}

// readAcks counts acks until the server ends the stream.
func readAcks(stream cepb.CloudEventIngest_StreamClient, stats *sendStats, stderr io.Writer) error {
	for {
		a, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("grpc stream: %w", err)
		}
		if a.Status == cepb.Ack_STATUS_ACCEPTED {
			stats.accepted.Add(1)
			continue
		}
		stats.rejected.Add(1)
		field := ""
		if a.Field != "" {
			field = a.Field + ": "
		}
		fmt.Fprintf(stderr, "rejected %s: %s %s%s\n", a.Id, codes.Code(a.Code), field, a.Error)
	}
}

// protoEvent converts a structured-mode CloudEvent to the protobuf format:
// optional attributes and extensions go to the attributes map (time as a
// timestamp, JSON booleans and integers typed, anything else as a string),
// data as text_data.
func protoEvent(raw []byte) (*cepb.CloudEvent, error) {
	var ev cloudevents.Event
	if err := cloudevents.Parse(raw, &ev); err != nil {
		return nil, err
	}
	m := &cepb.CloudEvent{Id: ev.ID, Source: ev.Source, SpecVersion: ev.SpecVersion, Type: ev.Type,
		Attributes: map[string]*cepb.CloudEvent_CloudEventAttributeValue{}}
	str := func(name, v string) {
		if v != "" {
			m.Attributes[name] = &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: v}}
		}
	}
	str("subject", ev.Subject)
	str("datacontenttype", ev.DataContentType)
	str("dataschema", ev.DataSchema)
	str("tenantid", ev.TenantID)
	str("time", ev.Time)
	if t, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil && strings.HasSuffix(ev.Time, "Z") {
		// Only UTC times survive the Timestamp type unchanged.
		m.Attributes["time"] = &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeTimestamp{CeTimestamp: timestamppb.New(t)}}
	}
	for name, v := range ev.Extensions {
		m.Attributes[name] = extensionValue(v)
	}
	if ev.Data != nil {
		m.Data = &cepb.CloudEvent_TextData{TextData: string(ev.Data)}
	}
	return m, nil
}

func extensionValue(v json.RawMessage) *cepb.CloudEvent_CloudEventAttributeValue {
	var x any
	_ = json.Unmarshal(v, &x)
	switch x := x.(type) {
	case bool:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeBoolean{CeBoolean: x}}
	case float64:
		if x == float64(int32(x)) {
			return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeInteger{CeInteger: int32(x)}}
		}
	case string:
		return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: x}}
	}
	return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: string(v)}}
}
