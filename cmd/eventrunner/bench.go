package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/generated/typedpb"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/schemas"
)

type benchOptions struct {
	events, batch, concurrency int
	dataDir, cpuProfile        string
	skipIngest                 bool
	// nats holds the external NATS flags (addNATSClientFlags).
	nats app.Config
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the pipeline end to end against raw JetStream publish, in one run",
		Long: `bench starts the engine in-process on a temporary directory (embedded NATS,
Pebble, compiled rules) and measures, on this machine and in this run:

  1. raw JetStream: async publish of ~1 KB messages to a file-backed stream
     (the ceiling any JetStream pipeline lives under), three times: the
     median is the figure;
  2. the pipeline at full load: ~1 KB order events posted over loopback HTTP
     in batches, through ingest, ER_PROC, the rules, the store and the tenant
     stream; sustained events/s and ingest→stored latency (p50, p99);
  3. ingest alone: the rate at which the same events are acknowledged
     (stored in ER_PROC) over HTTP batches, over gRPC streams of the generic
     CloudEvents service and of the typed service, one stream per HTTP
     request in flight;
  4. the pipeline at half the HTTP rate: latency when not saturated.

The ratio of (2) to (1) is the figure to track.

With --nats-url the engine runs on that NATS instead (credentials and TLS as
for serve), every stream with --nats-replicas replicas, and phase 1 publishes
to a stream of the same replication on the same servers, so the ratio is
the pipeline's against raw R3 publish on a 3-node cluster with
--nats-replicas 3. The NATS must not be serving an eventrunner: bench refuses
one that holds ER_RAW, and deletes the streams and buckets it created, and
its demo tenant, when it ends.

  eventrunner bench --nats-url nats://n1:4222,nats://n2:4222 --nats-replicas 3 --nats-creds engine.creds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.events, "events", 100000, "events per phase")
	f.IntVar(&o.batch, "batch", 250, "events per HTTP request")
	f.IntVar(&o.concurrency, "concurrency", 4, "HTTP requests in flight")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the full-load pipeline phase to this file")
	f.BoolVar(&o.skipIngest, "skip-ingest", false, "skip phase 3 (the ingest APIs side by side)")
	f.StringVar(&o.dataDir, "data-dir", "", "directory for the engine's files (default: a temporary one, removed after)")
	addNATSClientFlags(f, &o.nats)
	return cmd
}

func runBench(ctx context.Context, o benchOptions, w io.Writer) error {
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "eventrunner-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cfg := app.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", TypedGRPC: typedpb.RegisterServices,
		SchemaFiles: schemas.FS, NATSListen: "127.0.0.1:0",
		NATS: o.nats.NATS, NATSReplication: o.nats.NATSReplication, NATSOperatorKey: o.nats.NATSOperatorKey}
	where := "embedded NATS"
	if cfg.NATS.External() {
		nc, err := app.ConnectExternal(cfg, "eventrunner bench")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer nc.Close()
		before, err := benchClusterFree(ctx, nc)
		if err != nil {
			return err
		}
		defer deleteNewStreams(nc, before, w)
		cfg.DemoAPIKey = tenant.NewKey() // an external NATS has no demo tenant unless asked
		where = fmt.Sprintf("NATS at %s, streams R%d", nc.ConnectedUrlRedacted(), cfg.NATSReplication.N())
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(ctx, cfg, generated.Registry(), log)
	if err != nil {
		return err
	}
	defer a.Shutdown(context.Background())
	if cfg.NATS.External() {
		defer func() {
			if err := a.Tenants().Delete(a.DemoTenant()); err != nil {
				fmt.Fprintf(w, "bench: delete the demo tenant: %v\n", err)
			}
		}()
	}
	fmt.Fprintf(w, "eventrunner bench on %s: %d events per phase, ~%d-byte events, batches of %d, %d requests in flight\n",
		where, o.events, len(benchEvent("x", 0)), o.batch, o.concurrency)

	raw, runs, err := benchRaw(ctx, a.NATS(), cfg.NATSReplication, o.events)
	if err != nil {
		return fmt.Errorf("raw jetstream: %w", err)
	}
	fmt.Fprintf(w, "raw JetStream async publish:  %8.0f msg/s  (R%d, median of %s msg/s)\n", raw, cfg.NATSReplication.N(), runs)

	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	full, err := benchPipeline(ctx, a, o, "full", 0)
	stopProfile()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pipeline, full load:          %8.0f events/s  (%.0f%% of raw)  ingest→stored p50 %v  p99 %v\n",
		full.rate, 100*full.rate/raw, full.p50, full.p99)
	if !o.skipIngest {
		if err := benchIngestAPIs(ctx, a, o, w); err != nil {
			return err
		}
	}
	half, err := benchPipeline(ctx, a, o, "half", full.rate/2)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pipeline, half load (%.0f/s): %8.0f events/s                ingest→stored p50 %v  p99 %v\n",
		full.rate/2, half.rate, half.p50, half.p99)
	return nil
}

// benchIngestAPIs compares the ingest APIs side by side (bench_grpc.go):
// the same events acknowledged (durable in ER_PROC) over HTTP batches and
// over as many gRPC streams as HTTP requests in flight; each phase waits
// until its events are stored, so the next starts on an idle pipeline.
func benchIngestAPIs(ctx context.Context, a *app.App, o benchOptions, w io.Writer) error {
	httpAcked, err := benchHTTPIngest(ctx, a, o, "hacked")
	if err != nil {
		return fmt.Errorf("http ingest: %w", err)
	}
	fmt.Fprintf(w, "ingest, HTTP batches:         %8.0f events/s acknowledged\n", httpAcked)
	for _, typed := range []bool{false, true} {
		name, phase := "ingest, gRPC generic stream: ", "grpc"
		if typed {
			name, phase = "ingest, gRPC typed stream:   ", "typed"
		}
		r, err := benchGRPC(ctx, a, o, phase, typed)
		if err != nil {
			return fmt.Errorf("%s: %w", phase, err)
		}
		fmt.Fprintf(w, "%s %8.0f events/s acknowledged (%.2f× HTTP batches), stored at %.0f events/s\n", name, r.acked, r.acked/httpAcked, r.rate)
	}
	return nil
}

// startCPUProfile profiles into path until the returned func is called; an
// empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// rawRuns is how many times the raw phase runs. One run of 50,000 messages
// lasts under half a second and moved between 102k and 153k msg/s from one
// bench to the next, which alone swung the ratio by 7 points; the median
// of three is the denominator.
const rawRuns = 3

// benchRaw runs benchRawJetStream rawRuns times and returns the median rate
// and the runs' rates for the report.
func benchRaw(ctx context.Context, nc *nats.Conn, rep bus.Replication, n int) (median float64, runs string, err error) {
	rates := make([]float64, rawRuns)
	for i := range rates {
		if rates[i], err = benchRawJetStream(ctx, nc, rep, n); err != nil {
			return 0, "", err
		}
	}
	words := make([]string, len(rates))
	for i, r := range rates {
		words[i] = strconv.FormatFloat(r, 'f', 0, 64)
	}
	slices.Sort(rates)
	return rates[len(rates)/2], strings.Join(words, "/"), nil
}

// benchRawJetStream publishes n ~1 KB messages asynchronously to a
// file-backed stream of its own, replicated as eventrunner's, and returns
// messages per second.
func benchRawJetStream(ctx context.Context, nc *nats.Conn, rep bus.Replication, n int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	cfg := jetstream.StreamConfig{Name: "BENCH_RAW", Subjects: []string{"bench.raw"}, Storage: jetstream.FileStorage}
	rep.Apply(&cfg)
	s, err := js.CreateStream(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer js.DeleteStream(context.Background(), s.CachedInfo().Config.Name)
	payload := benchEvent("raw", 0)
	start := time.Now()
	for i := 0; i < n; i++ {
		for {
			_, err := js.PublishAsync("bench.raw", payload, jetstream.WithStallWait(time.Second))
			if err == nil {
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				return 0, err
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return 0, errors.New("acks did not arrive within a minute")
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// benchClusterFree checks that no eventrunner uses the NATS nc is on (its
// engine would share ER_PROC's work with the bench's) and returns the
// streams there are, which bench leaves alone.
func benchClusterFree(ctx context.Context, nc *nats.Conn) (map[string]bool, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	// A cluster just started may not serve the account's JetStream yet.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bus.RetrySettling(sctx, func(ctx context.Context) error {
		_, err := js.Stream(ctx, bus.StreamRaw)
		return err
	}); err == nil {
		return nil, fmt.Errorf("bench: %s already has stream %s: an eventrunner uses it, and bench would take part of its work; run bench on a NATS no eventrunner serves", nc.ConnectedUrlRedacted(), bus.StreamRaw)
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("bench: look for %s: %w", bus.StreamRaw, err)
	}
	names := js.StreamNames(ctx)
	have := map[string]bool{}
	for name := range names.Name() {
		have[name] = true
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("bench: list streams: %w", err)
	}
	return have, nil
}

// deleteNewStreams deletes the streams (KV buckets and object stores are
// streams too) that were not there before the bench.
func deleteNewStreams(nc *nats.Conn, before map[string]bool, w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	names := js.StreamNames(ctx)
	var created []string
	for name := range names.Name() {
		if !before[name] {
			created = append(created, name)
		}
	}
	for _, name := range created {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			fmt.Fprintf(w, "bench: delete stream %s: %v\n", name, err)
		}
	}
}

type phaseResult struct {
	rate     float64
	acked    float64 // events/s acknowledged to the producer (gRPC phases)
	p50, p99 time.Duration
}

// benchPipeline posts o.events fresh events (at most rate per second when
// rate > 0) and waits until all are stored; latency is each record's
// StoredAt minus the moment its batch was posted.
func benchPipeline(ctx context.Context, a *app.App, o benchOptions, phase string, rate float64) (phaseResult, error) {
	bodies, ids := benchBatches(phase, o.events, o.batch)
	sent := make([]time.Time, len(bodies))
	url := "http://" + a.HTTPAddr() + "/v1/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}}
	var wg sync.WaitGroup
	next := make(chan int)
	errc := make(chan error, o.concurrency)
	start := time.Now()
	for c := 0; c < o.concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sent[i] = time.Now()
				if err := benchPost(client, url, a.DemoAPIKey(), bodies[i]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := range bodies {
		if rate > 0 {
			due := start.Add(time.Duration(float64(i*o.batch) / rate * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return phaseResult{}, err
	default:
	}
	storedAt, err := waitStored(ctx, a.Store(), a.DemoTenant(), ids, len(bodies))
	if err != nil {
		return phaseResult{}, err
	}
	lat := make([]time.Duration, 0, len(ids))
	var last time.Time
	for i, id := range ids {
		at := storedAt[id]
		lat = append(lat, at.Sub(sent[i/o.batch]))
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	return phaseResult{
		rate: float64(len(ids)) / last.Sub(start).Seconds(),
		p50:  lat[len(lat)/2].Round(10 * time.Microsecond),
		p99:  lat[len(lat)*99/100].Round(10 * time.Microsecond),
	}, nil
}

func benchPost(c *http.Client, url, key string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ingest.BatchContentType)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("bench: HTTP %d: %s", resp.StatusCode, b)
	}
	// The reply lists every event's outcome; the load generator shares the
	// engine's two cores, so it reads the reply without keeping it.
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// benchSource is the source of every bench event: with the id, the
// identity the store keys records by.
const benchSource = "/bench"

// waitStored waits until every id of benchSource is stored and returns
// StoredAt by id. While the pipeline runs it only polls for the last id
// sent, so that the measuring costs the engine nothing; then it lists the
// tenant's records.
func waitStored(ctx context.Context, st store.Store, tenant string, ids []string, _ int) (map[string]time.Time, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, err := st.Get(ctx, tenant, benchSource, ids[len(ids)-1])
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: events not stored after 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		got, err := storedTimes(ctx, st, tenant, ids)
		if err != nil || len(got) == len(ids) {
			return got, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: %d of %d events not stored after 5 minutes", len(ids)-len(got), len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedTimes lists the tenant's records and returns StoredAt of those of
// benchSource in ids.
func storedTimes(ctx context.Context, st store.Store, tenant string, ids []string) (map[string]time.Time, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	got := make(map[string]time.Time, len(ids))
	q := store.Query{Tenant: tenant, Limit: store.MaxLimit}
	for {
		page, err := st.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			if r.Source == benchSource && want[r.ID] {
				got[r.ID] = r.StoredAt
			}
		}
		if q.Cursor = page.NextCursor; q.Cursor == "" {
			return got, nil
		}
	}
}

// benchBatches builds the request bodies before timing starts.
func benchBatches(phase string, n, size int) ([][]byte, []string) {
	var bodies [][]byte
	ids := make([]string, 0, n)
	for i := 0; i < n; i += size {
		var b bytes.Buffer
		b.WriteByte('[')
		for j := i; j < min(i+size, n); j++ {
			if j > i {
				b.WriteByte(',')
			}
			id := fmt.Sprintf("%s-%07d", phase, j)
			ids = append(ids, id)
			b.Write(benchEvent(id, j))
		}
		b.WriteByte(']')
		bodies = append(bodies, b.Bytes())
	}
	return bodies, ids
}

// benchEvent is a ~1 KB order event that the orders rules process.
func benchEvent(id string, i int) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"`+benchSource+`","type":"com.acme.order.created","time":"2026-11-28T09:15:00Z","data":{"orderId":"7f1c2a9e-4b1d-4c8e-9a57-%012d","customer":{"id":"cust-%06d","email":"ada.lovelace@example.com","tier":"gold","country":"GB","orderCount":%d},"items":[{"sku":"BOOK-0001","name":"The Analytical Engine, annotated edition","quantity":2,"unitPrice":24.5,"category":"books"},{"sku":"ELEC-7781","name":"USB-C charger 65W","quantity":1,"unitPrice":39.99,"category":"electronics"},{"sku":"TOYS-0420","name":"Difference engine model kit","quantity":1,"unitPrice":59,"category":"toys"},{"sku":"GROC-1100","name":"Earl Grey tea, 250 g","quantity":3,"unitPrice":6.75,"category":"grocery"}],"currency":"GBP","total":168.24,"priority":3,"riskScore":%d,"channel":"web","coupon":"WELCOME10","giftWrap":true,"notes":"Leave at the porter's lodge; ring twice.","createdAt":"2026-11-28T09:15:00Z","shippingAddress":{"line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"}}}`,
		id, i, i%1000, i%40, i%100)
}
