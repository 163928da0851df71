package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/dlq"
)

func newDLQCmd() *cobra.Command {
	var c dlqClient
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, redrive and purge a tenant's dead letters",
		Long: `dlq works on a tenant's dead letters (er.dlq.<tenant>, stream ER_DLQ): the
events the runner or the engine refused, each with the stage, the kind of
reason, the offending field and the reason. It talks to a running engine's
HTTP API (/v1/dlq) with the tenant's API key, or with the admin key for the
tenant named by --tenant.

redrive sends dead letters through validation and the rules again, under the
schemas and rules deployed now: fix the schema or the rule, deploy, redrive.
A redriven event keeps its identity (tenant, source, id), so redriving it
twice still stores it once. Each dead letter is marked with the outcome
(accepted, or rejected with the new reason, which also leaves a new dead
letter); markers are shared by every engine process. Selected by a filter,
only the dead letters never redriven are redriven (--redriven true for the
others); by SEQ, exactly those.

A dead letter's SEQ is its ER_DLQ stream sequence, as list shows it.
--since and --until take an RFC 3339 time or a duration back from now (1h).`,
		Example: `  eventrunner dlq list --api-key "$KEY"
  eventrunner dlq list --kind unknown-schema --since 24h --json
  eventrunner dlq show 42
  eventrunner dlq redrive 42 43
  eventrunner dlq redrive --kind unknown-schema --type com.acme.order.created
  eventrunner dlq purge --redriven true --yes
  eventrunner dlq list --admin-key "$ADMIN_KEY" --tenant acme`,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the engine's HTTP API")
	f.StringVar(&c.apiKey, "api-key", "", "the tenant's API key (or EVENTRUNNER_API_KEY)")
	f.StringVar(&c.adminKey, "admin-key", "", "the admin key, to act for --tenant instead (or EVENTRUNNER_ADMIN_KEY)")
	f.StringVar(&c.tenant, "tenant", "", "tenant id (with --admin-key)")
	cmd.AddCommand(newDLQListCmd(&c), newDLQShowCmd(&c), newDLQRedriveCmd(&c), newDLQPurgeCmd(&c))
	return cmd
}

// dlqSelection holds the flags that select dead letters.
type dlqSelection struct {
	kind, typ, id, source, since, until, redriven string
	all                                           bool
}

func (s *dlqSelection) flags(cmd *cobra.Command, withAll bool) {
	f := cmd.Flags()
	f.StringVar(&s.kind, "kind", "", "only this kind of reason (unknown-schema, invalid-data, rule-error, …)")
	f.StringVar(&s.typ, "type", "", "only events of this type")
	f.StringVar(&s.id, "id", "", "only events with this id")
	f.StringVar(&s.source, "source", "", "only events from this source")
	f.StringVar(&s.since, "since", "", "only those dead-lettered at or after this time (RFC 3339, or a duration back: 1h)")
	f.StringVar(&s.until, "until", "", "only those dead-lettered at or before this time (RFC 3339, or a duration back)")
	f.StringVar(&s.redriven, "redriven", "", "true: only those redriven before; false: only those never redriven")
	if withAll {
		f.BoolVar(&s.all, "all", false, "every dead letter of the tenant (the filters still apply)")
	}
}

// filter turns the flags into the API's filter.
func (s *dlqSelection) filter(now time.Time) (dlq.Filter, error) {
	f := dlq.Filter{Kind: s.kind, Type: s.typ, ID: s.id, Source: s.source}
	var errs []error
	for _, t := range []struct {
		flag, v string
		into    *time.Time
	}{{"since", s.since, &f.Since}, {"until", s.until, &f.Until}} {
		if t.v == "" {
			continue
		}
		tm, err := parseWhen(t.v, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", t.flag, err))
		}
		*t.into = tm
	}
	if s.redriven != "" {
		b, err := strconv.ParseBool(s.redriven)
		if err != nil {
			errs = append(errs, fmt.Errorf("--redriven: want true or false, got %q", s.redriven))
		}
		f.Redriven = &b
	}
	return f, errors.Join(errs...)
}

// selection is the request body of redrive and purge: seqs from args, or
// the filter flags.
func (s *dlqSelection) selection(args []string) (dlq.Selection, error) {
	f, err := s.filter(time.Now())
	if err != nil {
		return dlq.Selection{}, err
	}
	sel := dlq.Selection{All: s.all, Filter: f}
	for _, a := range args {
		seq, err := strconv.ParseUint(a, 10, 64)
		if err != nil || seq == 0 {
			return sel, fmt.Errorf("%q is not a dead letter's SEQ (a positive number, as list shows)", a)
		}
		sel.Seqs = append(sel.Seqs, seq)
	}
	if err := sel.Check(); err != nil {
		return sel, errors.New("name dead letters: give SEQ arguments, a filter (--kind, --type, --id, --source, --since, --until, --redriven) or --all, not SEQs with filters")
	}
	return sel, nil
}

// parseWhen reads an RFC 3339 time or a duration back from now.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-12-01T09:00:00Z) or a duration back from now (90m), got %q", v)
	}
	return now.Add(-d).UTC(), nil
}

func newDLQListCmd(c *dlqClient) *cobra.Command {
	var s dlqSelection
	var limit int
	var after uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first, one page at a time",
		Long: `list prints one page of the tenant's dead letters, oldest first: SEQ, when it
was dead-lettered, the stage and the kind of reason, the event's type and id,
the outcome of its last redrive and the reason (cut to fit; show SEQ prints it
whole). When more may follow, it says which --after gives the next page.`,
		Example: `  eventrunner dlq list
  eventrunner dlq list --kind invalid-data --type com.acme.order.created --since 2h
  eventrunner dlq list --after 1200 --limit 500 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			f, err := s.filter(time.Now())
			if err != nil {
				return err
			}
			q := filterQuery(f)
			q.Set("limit", strconv.Itoa(limit))
			if after > 0 {
				q.Set("after", strconv.FormatUint(after, 10))
			}
			return callAndPrint(c, http.MethodGet, "", q, nil, cmd.OutOrStdout(), asJSON, func(page *dlq.Page) error {
				if err := printDeadLetters(cmd.OutOrStdout(), page.DeadLetters); err != nil {
					return err
				}
				if page.Next != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "more may follow: eventrunner dlq list --after %d\n", *page.Next)
				}
				return nil
			})
		},
	}
	s.flags(cmd, false)
	cmd.Flags().IntVarP(&limit, "limit", "n", dlq.DefaultLimit, fmt.Sprintf("dead letters per page (at most %d)", dlq.MaxLimit))
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this SEQ (the previous page's next)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON page")
	return cmd
}

func filterQuery(f dlq.Filter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "type": f.Type, "id": f.ID, "source": f.Source} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339))
	}
	if f.Redriven != nil {
		q.Set("redriven", strconv.FormatBool(*f.Redriven))
	}
	return q
}

func printDeadLetters(out io.Writer, dls []*dlq.DeadLetter) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tSTAGE\tKIND\tTYPE\tID\tREDRIVEN\tREASON")
	for _, dl := range dls {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dl.Seq, dl.Time.UTC().Format(time.RFC3339), dash(dl.Stage), dash(dl.Kind),
			dash(dl.Event.Type), dash(dl.Event.ID), redrivenCell(dl.Redriven), cut(dl.Reason, 80))
	}
	if len(dls) == 0 {
		fmt.Fprintln(w, "(none)")
	}
	return w.Flush()
}

func redrivenCell(m *dlq.Marker) string {
	if m == nil {
		return "-"
	}
	if m.Count > 1 {
		return fmt.Sprintf("%s (%d×)", m.Outcome, m.Count)
	}
	return m.Outcome
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newDLQShowCmd(c *dlqClient) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one dead letter: the reason in full, the event and its original body",
		Example: `  eventrunner dlq show 42
  eventrunner dlq show 42 --json | jq .data`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			return callAndPrint(c, http.MethodGet, "/"+url.PathEscape(args[0]), nil, nil, cmd.OutOrStdout(), asJSON, func(dl *dlq.DeadLetter) error {
				return printDeadLetter(cmd.OutOrStdout(), dl)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func printDeadLetter(out io.Writer, dl *dlq.DeadLetter) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	ev := dl.Event
	fmt.Fprintf(w, "seq\t%d\ntime\t%s\nstage\t%s\nkind\t%s\nfield\t%s\nreason\t%s\n", dl.Seq, dl.Time.UTC().Format(time.RFC3339Nano),
		dash(dl.Stage), dash(dl.Kind), dash(dl.Field), dash(dl.Reason))
	fmt.Fprintf(w, "event\tid %s, source %s, type %s, subject %s, dataschema %s\n", dash(ev.ID), dash(ev.Source), dash(ev.Type), dash(ev.Subject), dash(ev.DataSchema))
	if dl.RedriveOf != 0 {
		fmt.Fprintf(w, "redrive of\t%d\n", dl.RedriveOf)
	}
	if m := dl.Redriven; m != nil {
		fmt.Fprintf(w, "redriven\t%s at %s, %d time(s)", m.Outcome, m.At.UTC().Format(time.RFC3339), m.Count)
		if m.Reason != "" {
			fmt.Fprintf(w, ": %s %s", m.Kind, m.Reason)
		}
		if m.DeadLetter != 0 {
			fmt.Fprintf(w, " (new dead letter %d)", m.DeadLetter)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "redriven\tnever")
	}
	fmt.Fprintf(w, "content type\t%s\n", dash(dl.ContentType))
	if err := w.Flush(); err != nil {
		return err
	}
	if dl.Data != nil {
		var b bytes.Buffer
		if json.Indent(&b, dl.Data, "", "  ") == nil {
			_, err := fmt.Fprintf(out, "data:\n%s\n", b.Bytes())
			return err
		}
	}
	_, err := fmt.Fprintf(out, "data (base64):\n%s\n", base64.StdEncoding.EncodeToString(dl.DataBase64))
	return err
}

func newDLQRedriveCmd(c *dlqClient) *cobra.Command {
	var s dlqSelection
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "redrive [SEQ...]",
		Short: "Send dead letters through validation and the rules again, under the current schemas and rules",
		Long: `redrive sends the dead letters named by SEQ, or selected by the filters, through
ingest again: validated under the schemas deployed now, then run through the
current rules by the engine. It prints each one's outcome: accepted (on its
way to the store and the tenant stream; if the rules fail again, the engine
dead-letters it anew) or rejected, with the kind and the reason, and the new
dead letter that records it. Events keep their identity, so a redrive repeated
stores each event once.

A filter selects only the dead letters never redriven (--redriven true for
the others; --all for every one never redriven).`,
		Example: `  eventrunner dlq redrive 42
  eventrunner dlq redrive --kind unknown-schema --since 24h
  eventrunner dlq redrive --all --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			sel, err := s.selection(args)
			if err != nil {
				return err
			}
			return callAndPrint(c, http.MethodPost, "/redrive", nil, sel, cmd.OutOrStdout(), asJSON, func(rep *dlq.Report) error {
				return printReport(cmd.OutOrStdout(), rep)
			})
		},
	}
	s.flags(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON report")
	return cmd
}

func printReport(out io.Writer, rep *dlq.Report) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tOUTCOME\tID\tSOURCE\tKIND\tREASON")
	for _, r := range rep.Results {
		reason := cut(r.Reason, 80)
		if r.DeadLetter != 0 {
			reason = fmt.Sprintf("%s (dead letter %d)", reason, r.DeadLetter)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Outcome, dash(r.ID), dash(r.Source), dash(r.Kind), dash(reason))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "%d accepted, %d rejected\n", rep.Accepted, rep.Rejected)
	return err
}

func newDLQPurgeCmd(c *dlqClient) *cobra.Command {
	var s dlqSelection
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge [SEQ...] --yes",
		Short: "Delete dead letters for good",
		Long: `purge deletes the dead letters named by SEQ, or selected by the filters (all
of them, redriven or not, unless --redriven says otherwise), from ER_DLQ,
with their redrive markers. It needs a selection and --yes. The copy in the
tenant's own stream (er.dlq.<tenant> in ER_T_<tenant>) ages out with it.`,
		Example: `  eventrunner dlq purge 42 43 --yes
  eventrunner dlq purge --redriven true --yes   # what redrive has dealt with
  eventrunner dlq purge --kind malformed --until 168h --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			sel, err := s.selection(args)
			if err != nil {
				return err
			}
			if !yes {
				return errors.New("purge deletes dead letters for good: add --yes (see what it selects with `eventrunner dlq list` and the same filters)")
			}
			var rep struct{ Purged int }
			if err := c.do(http.MethodPost, "/purge", nil, sel, &rep); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "purged %d dead letter(s)\n", rep.Purged)
			return err
		},
	}
	s.flags(cmd, true)
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete")
	return cmd
}

// dlqClient calls /v1/dlq with the tenant's API key, or the admin key for
// --tenant.
type dlqClient struct {
	url, apiKey, adminKey, tenant string
}

func (c *dlqClient) do(method, suffix string, q url.Values, in, out any) error {
	key := c.apiKey
	if q == nil {
		q = url.Values{}
	}
	switch {
	case c.adminKey != "" && c.tenant == "":
		return errors.New("--admin-key needs --tenant")
	case c.adminKey != "":
		key = c.adminKey
		q.Set("tenant", c.tenant)
	case key == "":
		return errors.New("--api-key (or EVENTRUNNER_API_KEY) is required, or --admin-key with --tenant")
	}
	u := strings.TrimRight(c.url, "/") + "/v1/dlq" + suffix
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return callAPI(&http.Client{Timeout: 5 * time.Minute}, method, u, method+" /v1/dlq"+suffix, key, in, out)
}

// callAndPrint calls the dead-letter API and prints its reply: the JSON as
// it came (indented) with --json, else decoded into T and printed by human.
func callAndPrint[T any](c *dlqClient, method, suffix string, q url.Values, in any, out io.Writer, asJSON bool, human func(*T) error) error {
	var raw json.RawMessage
	if err := c.do(method, suffix, q, in, &raw); err != nil {
		return err
	}
	if asJSON {
		return printJSON(out, raw)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%s /v1/dlq%s: the reply: %w", method, suffix, err)
	}
	return human(&v)
}

func printJSON(out io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := out.Write(b.Bytes())
	return err
}
