package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cesdk "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/problem"
)

func newSendCmd() *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send [FILE...]",
		Short: "Post CloudEvents to a running engine with the CloudEvents Go SDK",
		Long: `send reads structured-mode CloudEvents from the files given, or from standard
input (one JSON object, JSON arrays of them, or one per line), and posts them
to POST /v1/events with the CloudEvents Go SDK (sdk-go), as any producer
using it would: in batches (--mode batch, application/cloudevents-batch+json),
one request per event in structured mode (--mode structured) or in binary
mode (--mode binary: ce-* headers, the data as the body). It reports what
was accepted. An event sdk-go itself refuses (not a valid CloudEvent) is not
sent; it and the events the engine rejects are printed to standard error
with the reason, and the exit status is 1 when there was any. Large inputs
show a progress line on standard error.`,
		Example: `  eventrunner send --api-key "$KEY" rules/orders/samples.jsonl
  cat events.jsonl | EVENTRUNNER_API_KEY=$KEY eventrunner send --batch 1000
  eventrunner send --mode binary --api-key "$KEY" rules/iot/samples.jsonl
  eventrunner send --grpc --grpc-addr 127.0.0.1:9090 --api-key "$KEY" rules/iot/samples.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			if o.apiKey == "" {
				return errors.New("--api-key (or EVENTRUNNER_API_KEY) is required")
			}
			if o.mode != "batch" && o.mode != "structured" && o.mode != "binary" {
				return fmt.Errorf("--mode %q: batch, structured or binary", o.mode)
			}
			if o.grpc { // over the generic gRPC stream (send_grpc.go)
				return runSendGRPC(cmd.Context(), o, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return runSend(cmd.Context(), o, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the engine's HTTP API")
	f.StringVar(&o.apiKey, "api-key", "", "tenant API key")
	f.StringVar(&o.mode, "mode", "batch", "HTTP binding: batch (application/cloudevents-batch+json), structured or binary (one request per event)")
	f.IntVar(&o.batch, "batch", 500, "events per request (--mode batch), per worker's turn otherwise")
	f.IntVar(&o.concurrency, "concurrency", 4, "requests in flight")
	f.BoolVar(&o.progress, "progress", true, "show a progress line for inputs of more than one batch")
	f.BoolVar(&o.grpc, "grpc", false, "send over gRPC CloudEventIngest streams (--concurrency of them) instead of HTTP")
	f.StringVar(&o.grpcAddr, "grpc-addr", "127.0.0.1:9090", "address of the engine's gRPC ingest (with --grpc)")
	return cmd
}

type sendOptions struct {
	url, apiKey        string
	mode               string // batch, structured or binary
	batch, concurrency int
	progress           bool
	grpc               bool   // send over gRPC (send_grpc.go)
	grpcAddr           string // with grpc
}

// sendStats counts outcomes across concurrent requests.
type sendStats struct {
	sent, accepted, rejected atomic.Int64
}

func runSend(ctx context.Context, o sendOptions, files []string, stdin io.Reader, stdout, stderr io.Writer) error {
	batches := make(chan [][]byte, o.concurrency)
	var stats sendStats
	var failMu sync.Mutex
	var fail error
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	post := postBatch
	if o.mode != "batch" {
		post = postEach
	}
	for i := 0; i < max(o.concurrency, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := post(ctx, client, o, b, &stats, stderr); err != nil {
					failMu.Lock()
					fail = errors.Join(fail, err)
					failMu.Unlock()
				}
			}
		}()
	}
	stopProgress := startProgress(o.progress, &stats, stderr)
	readErr := readBatches(files, stdin, o.batch, batches)
	close(batches)
	wg.Wait()
	stopProgress()
	fmt.Fprintf(stdout, "sent %d, accepted %d, rejected %d\n", stats.sent.Load(), stats.accepted.Load(), stats.rejected.Load())
	if err := errors.Join(readErr, fail); err != nil {
		return err
	}
	if stats.rejected.Load() > 0 {
		return exitError{1}
	}
	return nil
}

// readBatches splits the input into batches of raw events.
func readBatches(files []string, stdin io.Reader, size int, out chan<- [][]byte) error {
	var batch [][]byte
	read := func(r io.Reader, name string) error {
		sr := cloudevents.NewStreamReader(r)
		for {
			raw, err := sr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			batch = append(batch, raw)
			if len(batch) == size {
				out <- batch
				batch = nil
			}
		}
	}
	var err error
	if len(files) == 0 {
		err = read(stdin, "stdin")
	}
	for _, name := range files {
		f, ferr := os.Open(name)
		if ferr != nil {
			err = ferr
			break
		}
		err = read(f, name)
		f.Close()
		if err != nil {
			break
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return err
}

// sdkEvents reads raw structured events as sdk-go does; those it refuses
// are counted as rejected and reported, not sent.
func sdkEvents(raws [][]byte, stats *sendStats, stderr io.Writer) []event.Event {
	events := make([]event.Event, 0, len(raws))
	for _, raw := range raws {
		e := event.New()
		err := json.Unmarshal(raw, &e)
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			stats.sent.Add(1)
			stats.rejected.Add(1)
			fmt.Fprintf(stderr, "not sent (id %q): the CloudEvents SDK refuses it: %v\n", e.ID(), err)
			continue
		}
		events = append(events, e)
	}
	return events
}

// postBatch posts one batch with sdk-go's batch request and counts the
// outcome of each event from the engine's batch reply.
func postBatch(ctx context.Context, c *http.Client, o sendOptions, raws [][]byte, stats *sendStats, stderr io.Writer) error {
	events := sdkEvents(raws, stats, stderr)
	if len(events) == 0 {
		return nil
	}
	req, err := cehttp.NewHTTPRequestFromEvents(ctx, strings.TrimRight(o.url, "/")+"/v1/events", events)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	stats.sent.Add(int64(len(events)))
	var reply ingest.BatchReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || len(reply.Results) != len(events) {
		stats.rejected.Add(int64(len(events)))
		return fmt.Errorf("post: HTTP %d without a batch reply", resp.StatusCode)
	}
	stats.accepted.Add(int64(reply.Accepted))
	stats.rejected.Add(int64(reply.Rejected))
	for _, r := range reply.Results {
		if r.Problem != nil {
			fmt.Fprintf(stderr, "rejected %s: %d %s\n", r.ID, r.Status, r.Problem.Error())
		}
	}
	return nil
}

// postEach sends each event with sdk-go's HTTP client in structured or
// binary mode; the engine's answer to a refused one (problem+json) is in
// the SDK's result.
func postEach(ctx context.Context, c *http.Client, o sendOptions, raws [][]byte, stats *sendStats, stderr io.Writer) error {
	p, err := cehttp.New(cehttp.WithTarget(strings.TrimRight(o.url, "/")+"/v1/events"),
		cehttp.WithHeader("Authorization", "Bearer "+o.apiKey), cehttp.WithClient(*c))
	if err != nil {
		return err
	}
	client, err := cesdk.NewClient(p)
	if err != nil {
		return err
	}
	ctx = binding.WithForceStructured(ctx)
	if o.mode == "binary" {
		ctx = binding.WithForceBinary(ctx)
	}
	for _, e := range sdkEvents(raws, stats, stderr) {
		if o.mode == "binary" && e.DataContentType() == "" && len(e.Data()) > 0 {
			// The JSON format's data is JSON when datacontenttype is absent;
			// binary mode must say so in Content-Type.
			e.SetDataContentType(event.ApplicationJSON)
		}
		res := client.Send(ctx, e)
		stats.sent.Add(1)
		var hr *cehttp.Result
		switch {
		case cesdk.IsACK(res):
			stats.accepted.Add(1)
		case protocol.ResultAs(res, &hr):
			stats.rejected.Add(1)
			fmt.Fprintf(stderr, "rejected %s: %s\n", e.ID(), rejection(hr.StatusCode, res))
		default:
			stats.rejected.Add(1)
			return fmt.Errorf("post %s: %w", e.ID(), res)
		}
	}
	return nil
}

// rejection is the engine's problem+json, which sdk-go's result quotes
// after the status, as the batch replies print it: status, field, detail.
func rejection(status int, res error) string {
	msg := res.Error()
	var p problem.Problem
	if i := strings.IndexByte(msg, '{'); i >= 0 && json.Unmarshal([]byte(msg[i:]), &p) == nil && p.Detail != "" {
		return fmt.Sprintf("%d %s", status, p.Error())
	}
	return strings.TrimSpace(msg)
}

// startProgress prints sent/accepted counts and the rate every half second
// once more than one batch is under way; the returned func stops it.
func startProgress(enabled bool, stats *sendStats, w io.Writer) func() {
	if !enabled {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprintln(w)
				}
				return
			case <-t.C:
				n := stats.sent.Load()
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(w, "\rsent %d  accepted %d  rejected %d  %.0f events/s ", n, stats.accepted.Load(), stats.rejected.Load(), rate)
				shown = true
			}
		}
	}()
	return func() { close(done); <-finished }
}
