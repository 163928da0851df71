package main

import (
	"bytes"
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

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/ingest"
)

func newSendCmd() *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send [FILE...]",
		Short: "Post structured CloudEvents to a running engine, in batches",
		Long: `send reads structured-mode CloudEvents from the files given, or from standard
input (one JSON object, JSON arrays of them, or one per line), posts them to
POST /v1/events in batches and reports what was accepted. Rejected events are
printed to standard error with the reason; the exit status is 1 when any was
rejected. Large inputs show a progress line on standard error.`,
		Example: `  eventrunner send --api-key "$KEY" rules/orders/samples.jsonl
  cat events.jsonl | EVENTRUNNER_API_KEY=$KEY eventrunner send --batch 1000
  eventrunner send --grpc --grpc-addr 127.0.0.1:9090 --api-key "$KEY" rules/iot/samples.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			if o.apiKey == "" {
				return errors.New("--api-key (or EVENTRUNNER_API_KEY) is required")
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
	f.IntVar(&o.batch, "batch", 500, "events per request")
	f.IntVar(&o.concurrency, "concurrency", 4, "requests in flight")
	f.BoolVar(&o.progress, "progress", true, "show a progress line for inputs of more than one batch")
	f.BoolVar(&o.grpc, "grpc", false, "send over gRPC CloudEventIngest streams (--concurrency of them) instead of HTTP")
	f.StringVar(&o.grpcAddr, "grpc-addr", "127.0.0.1:9090", "address of the engine's gRPC ingest (with --grpc)")
	return cmd
}

type sendOptions struct {
	url, apiKey        string
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
	for i := 0; i < max(o.concurrency, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := postBatch(ctx, client, o, b, &stats, stderr); err != nil {
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

// postBatch posts one batch and counts the outcome of each event.
func postBatch(ctx context.Context, c *http.Client, o sendOptions, events [][]byte, stats *sendStats, stderr io.Writer) error {
	body := append([]byte{'['}, bytes.Join(events, []byte{','})...)
	body = append(body, ']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.url, "/")+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ingest.BatchContentType)
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
