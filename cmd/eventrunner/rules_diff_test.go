package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rulediff"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
)

// rulesDiff runs `eventrunner rules diff` with args and returns its
// stdout, stderr and error.
func rulesDiff(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRulesDiffCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// diffJSON runs rules diff --json and decodes the report.
func diffJSON(t *testing.T, args ...string) *rulediff.Report {
	t.Helper()
	out, errOut, err := rulesDiff(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("rules diff %v: %v\n%s", args, err, errOut)
	}
	var r rulediff.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("rules diff --json: %v\n%s", err, out)
	}
	return &r
}

func kbReport(t *testing.T, r *rulediff.Report, name string) *rulediff.KBReport {
	t.Helper()
	for _, k := range r.KBs {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("the report has no knowledge base %s", name)
	return nil
}

// editFile applies text replacements (pairs of old, new) to a file.
func editFile(t *testing.T, p string, edits ...string) {
	t.Helper()
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("edit %q does not apply to %s", edits[i], p)
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	writeFile(t, p, s)
}

// lowerBulkThreshold makes BulkDiscount fire from a total of 10 instead of
// 500: over the order samples, order-000 and order-005 (total 20, EUR, no
// discount) now get it, and ApplyDiscount after it.
var lowerBulkThreshold = []string{"Order.Total >= 500 && Order.Discount == 0", "Order.Total >= 10 && Order.Discount == 0"}

func samplesFile(t *testing.T, kb string) string {
	t.Helper()
	return filepath.Join("..", "..", "rules", kb, "samples.jsonl")
}

// TestRulesDiffEvents changes one threshold in a copy of the repository and
// replays the sample events through the committed and the changed rules.
func TestRulesDiffEvents(t *testing.T) {
	root := schemaRepo(t)
	events := []string{"--root", root, "--base", "HEAD", "--events", samplesFile(t, "orders") + "," + samplesFile(t, "payments")}

	t.Run("unchanged", func(t *testing.T) {
		r := diffJSON(t, events...)
		if r.Events != 15 || r.Changed != 0 {
			t.Errorf("%d events, %d changed; want 15, 0", r.Events, r.Changed)
		}
		if !strings.HasPrefix(r.Working.Engine, "compiled (generated/ is up to date") {
			t.Errorf("an unchanged copy of the repository runs %q, want compiled", r.Working.Engine)
		}
		if k := kbReport(t, r, "orders"); k.Events != 8 {
			t.Errorf("orders ran on %d events, want 8", k.Events)
		}
	})

	grl := filepath.Join(root, "rules", "orders", "pricing.grl")
	editFile(t, grl, lowerBulkThreshold...)
	t.Run("threshold lowered", func(t *testing.T) {
		r := diffJSON(t, events...)
		if !strings.HasPrefix(r.Working.Engine, "interpreted through grule (generated/ is bundle") {
			t.Errorf("a changed working tree runs %q, want interpreted", r.Working.Engine)
		}
		orders := kbReport(t, r, "orders")
		if orders.Events != 8 || orders.Changed != 2 {
			t.Fatalf("orders: %d of %d events changed, want 2 of 8", orders.Changed, orders.Events)
		}
		want := []rulediff.RuleChange{{Rule: "ApplyDiscount", WorkingOnly: 2}, {Rule: "BulkDiscount", WorkingOnly: 2}}
		if got, _ := json.Marshal(orders.Rules); string(got) != string(mustMarshal(t, want)) {
			t.Errorf("rules %s, want %s", got, mustMarshal(t, want))
		}
		var ids []string
		for _, s := range orders.Samples {
			ids = append(ids, s.ID)
		}
		if strings.Join(ids, ",") != "order-000,order-005" {
			t.Errorf("changed events %v, want order-000 and order-005", ids)
		}
		wantDiffs := []rulediff.FieldDiff{
			{Path: "data.discount", Base: rulediff.Absent, Working: "1"},
			{Path: "data.notes", Base: rulediff.Absent, Working: `"bulk;discounted;"`},
			{Path: "data.total", Base: "20", Working: "19"},
			{Path: "fired", Base: `["AutoApprove"]`, Working: `["BulkDiscount","ApplyDiscount","AutoApprove"]`},
		}
		if got := mustMarshal(t, orders.Samples[0].Diffs); string(got) != string(mustMarshal(t, wantDiffs)) {
			t.Errorf("order-000 diffs\n %s\nwant\n %s", got, mustMarshal(t, wantDiffs))
		}
		if p := kbReport(t, r, "payments"); p.Events != 7 || p.Changed != 0 {
			t.Errorf("payments: %d of %d changed, want 0 of 7", p.Changed, p.Events)
		}
	})

	t.Run("text", func(t *testing.T) {
		out, errOut, err := rulesDiff(t, append(events, "--kb", "orders", "--samples", "1", "--progress", "5")...)
		if err != nil {
			t.Fatal(err)
		}
		if want := "rules diff: 5 events replayed, 1 changed\nrules diff: 10 events replayed, 2 changed\nrules diff: 15 events replayed, 2 changed\n"; errOut != want {
			t.Errorf("progress on stderr:\n%s\nwant\n%s", errOut, want)
		}
		mustContain(t, "report", out,
			"Rule change impact: HEAD (",
			"  base rules:    interpreted through grule, against the working tree's compiled schemas\n",
			"15 events replayed from ",
			"orders 1.0.0: 2 of 8 events change\n",
			"  rule           base only  working only  count changed\n",
			"  ApplyDiscount          0             2              0\n",
			"  BulkDiscount           0             2              0\n",
			"  event acme shop/web order-000\n",
			"    data.total: 20 → 19\n")
		if strings.Contains(out, "order-005") || strings.Contains(out, "payments 1.0.0") {
			t.Errorf("--samples 1 --kb orders shows more:\n%s", out)
		}
	})

	t.Run("filters", func(t *testing.T) {
		// Orders are a minute apart from 09:00, payments too: [09:03, 09:06)
		// holds order-003..005, of which order-005 changes, and three
		// payments, which --kb leaves unbound.
		r := diffJSON(t, append(events, "--kb", "orders", "--from", "2026-11-28T09:03:00Z", "--to", "2026-11-28T09:06:00Z")...)
		if k := kbReport(t, r, "orders"); k.Events != 3 || k.Changed != 1 || len(r.KBs) != 1 || r.Unbound != 3 {
			t.Errorf("window: orders changed %d of %d, %d KBs, %d unbound; want 1 of 3, 1, 3", k.Changed, k.Events, len(r.KBs), r.Unbound)
		}
		if r := diffJSON(t, append(events, "--tenant", "nobody")...); r.Events != 0 {
			t.Errorf("--tenant nobody replayed %d events", r.Events)
		}
		if r := diffJSON(t, append(events, "--limit", "3")...); r.Events != 3 {
			t.Errorf("--limit 3 replayed %d events", r.Events)
		}
	})

	t.Run("no-op change", func(t *testing.T) {
		editFile(t, grl, lowerBulkThreshold[1], lowerBulkThreshold[0])
		editFile(t, grl, "rule BulkDiscount", "// reworded, same rule\nrule BulkDiscount")
		r := diffJSON(t, events...)
		if r.Changed != 0 || r.Events != 15 {
			t.Errorf("a comment changed %d of %d events", r.Changed, r.Events)
		}
		if !strings.HasPrefix(r.Working.Engine, "interpreted") {
			t.Errorf("working rules %q, want interpreted (the GRL differs from generated/)", r.Working.Engine)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRulesDiffNotComparable commits a base whose knowledge base binds a
// schema version this binary lacks: that knowledge base is reported, the
// others still compared.
func TestRulesDiffNotComparable(t *testing.T) {
	root := schemaRepo(t)
	dir := filepath.Join(root, "rules", "future")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "kb.yaml"), "name: future\nversion: 0.1.0\non: [com.acme.order.created]\nfacts:\n  Order: com.acme.order.created/v9\n")
	writeFile(t, filepath.Join(dir, "future.grl"), "rule R \"r\" { when Order.Total > 1 then Retract(\"R\"); }\n")
	git(t, root, "add", ".")
	git(t, root, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "future")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := diffJSON(t, "--root", root, "--base", "HEAD", "--events", samplesFile(t, "orders"))
	f := kbReport(t, r, "future")
	if !strings.HasPrefix(f.NotComparable, "base: interp: rules/future/kb.yaml:") || !strings.Contains(f.NotComparable, "com.acme.order.created/v9") {
		t.Errorf("future: not comparable %q, want the base's kb.yaml error", f.NotComparable)
	}
	if o := kbReport(t, r, "orders"); o.Events != 8 || o.NotComparable != "" {
		t.Errorf("orders: %+v", o)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestRulesDiffStore replays the records of a store, written through the
// store API as the engine writes them: the processed event (here with data
// the base rules would not produce, to show it is not what is replayed) and
// the data as it arrived. Pebble always; Cassandra when .ci/run (or make
// services) provides one.
func TestRulesDiffStore(t *testing.T) {
	t.Run("pebble", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		s, err := pebble.Open(dir, pebble.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		testRulesDiffStore(t, s, "the Pebble store in "+dir, "--store-dir", dir)
	})
	t.Run("cassandra", func(t *testing.T) {
		if e2eCassandraHosts == "" {
			if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
				t.Fatal("EVENTRUNNER_CASSANDRA_HOSTS is unset but EVENTRUNNER_REQUIRE_SERVICES=1")
			}
			t.Skip("skipping: EVENTRUNNER_CASSANDRA_HOSTS is needed (start Cassandra with `make services`)")
		}
		// The keyspace is left behind (dropping one takes seconds); its
		// name is unique to this run.
		c := app.CassandraConfig{Hosts: e2eCassandraHosts, Keyspace: fmt.Sprintf("rulesdiff_%d", os.Getpid()),
			Consistency: "ONE", BucketSize: time.Hour}
		s, err := app.OpenStore(context.Background(), c, "", slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		testRulesDiffStore(t, s, "the Cassandra store at "+c.Hosts,
			"--cassandra-hosts", c.Hosts, "--cassandra-keyspace", c.Keyspace, "--cassandra-consistency", "ONE")
	})
}

// testRulesDiffStore fills s (and closes it), then replays it with the
// source flags.
func testRulesDiffStore(t *testing.T, s store.Store, name string, source ...string) {
	root := schemaRepo(t)
	editFile(t, filepath.Join(root, "rules", "orders", "pricing.grl"), lowerBulkThreshold...)
	in, err := os.ReadFile(samplesFile(t, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	err = eachEvent(bytes.NewReader(in), func(ev *cloudevents.Event) bool {
		recs = append(recs, storedRecord(t, ev))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	old := recs[1] // stored by an engine that did not keep the input
	old.ID, old.Input = "order-old", nil
	other := recs[0]
	other.Tenant = "globex"
	recs = append(recs, old, other)
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--root", root, "--base", "HEAD", "--tenant", "acme"}, source...)

	r := diffJSON(t, args...)
	orders := kbReport(t, r, "orders")
	if r.Events != 8 || r.NotReplayed != 1 || orders.Changed != 2 {
		t.Errorf("%d events (%d not replayed), orders changed %d; want 8 (1), 2", r.Events, r.NotReplayed, orders.Changed)
	}
	var ids []string
	for _, s := range orders.Samples {
		ids = append(ids, s.ID)
	}
	// Newest first, as the store lists.
	if strings.Join(ids, ",") != "order-005,order-000" {
		t.Errorf("changed %v, want order-005 and order-000", ids)
	}
	if r.Source != name+" (tenants acme)" {
		t.Errorf("source %q, want %q", r.Source, name+" (tenants acme)")
	}
	r = diffJSON(t, append(args, "--from", "2026-11-28T09:04:00Z")...)
	if k := kbReport(t, r, "orders"); r.Events != 4 || k.Changed != 1 {
		t.Errorf("--from 09:04: %d events, %d changed; want 4, 1", r.Events, k.Changed)
	}
	out, _, err := rulesDiff(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "report", out, "1 stored events not replayed: they were stored without the data as it arrived")
}

// storedRecord is the record the engine would store for ev: the processed
// event with rule extensions, its data marked as processed, and the data as
// it arrived as Input.
func storedRecord(t *testing.T, ev *cloudevents.Event) store.Record {
	t.Helper()
	processed := bytes.Replace(ev.Data, []byte(`"currency"`), []byte(`"discount": 3, "currency"`), 1)
	body := cloudevents.Append(nil, ev, processed, []cloudevents.Extension{{Name: "erfired", Value: "AutoApprove"}})
	tm, err := time.Parse(time.RFC3339, ev.Time)
	if err != nil {
		t.Fatal(err)
	}
	return store.Record{Tenant: ev.TenantID, Source: ev.Source, ID: ev.ID, Type: ev.Type, Time: tm,
		SchemaID: "com.acme.order.created/v1", Event: body, Input: bytes.Clone(ev.Data)}
}

func TestRulesDiffErrors(t *testing.T) {
	root := schemaRepo(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--base", "no-such-ref", "--events", samplesFile(t, "orders")}, "base no-such-ref: no such commit"},
		{[]string{"--base", "HEAD", "--store-dir", filepath.Join(root, "missing"), "--tenant", "acme"}, "--store-dir: stat "},
		{[]string{"--base", "HEAD", "--store-dir", root}, "--tenant: name the tenants"},
		{[]string{"--base", "HEAD", "--events", filepath.Join(root, "missing.jsonl")}, "--events: open "},
		{[]string{"--base", "HEAD", "--events", samplesFile(t, "orders"), "--from", "yesterday"}, `--from "yesterday": want an RFC 3339 time`},
		{[]string{"--base", "HEAD", "--events", samplesFile(t, "orders"), "--kb", "nope"}, `--kb: no knowledge base "nope"`},
		{[]string{"--base", "HEAD", "--events", samplesFile(t, "orders"), "--tenant", "Bad!"}, `--tenant "Bad!"`},
	} {
		_, _, err := rulesDiff(t, append([]string{"--root", root}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rules diff %v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestCheckBaseBehaviour shows the behaviour section of check --base for a
// rule change: the samples replayed through both revisions.
func TestCheckBaseBehaviour(t *testing.T) {
	root := schemaRepo(t)
	editFile(t, filepath.Join(root, "rules", "orders", "pricing.grl"), lowerBulkThreshold...)
	out, code := runCheckBase(t, root)
	if code != 0 {
		t.Errorf("check --base exit %d, want 0:\n%s", code, out)
	}
	mustContain(t, "report", out,
		"\nBehaviour over the samples\n",
		"  base rules:    interpreted through grule, against the working tree's compiled schemas\n",
		"  28 events replayed from rules/*/samples.jsonl (base and working tree, each event once)\n",
		"  orders 1.0.0: 2 of 8 events change\n",
		"    BulkDiscount           0             2              0\n",
		"    event acme shop/web order-000\n",
		"  payments 1.0.0: no change over 7 events\n")
	if b, res := strings.Index(out, "Behaviour over the samples"), strings.Index(out, "Result: OK"); b < 0 || res < b {
		t.Errorf("the result line does not come last:\n%s", out)
	}
}
