package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

func newTailCmd() *cobra.Command {
	var url, tenant, typ, since, user, password, creds string
	var limit int
	var outputs, deadLetters bool
	cmd := &cobra.Command{
		Use:   "tail --tenant ID",
		Short: "Follow a tenant's processed events",
		Long: `tail prints a tenant's processed events (er.t.<tenant>.>, read from the tenant's
own stream ER_T_<tenant>), one structured CloudEvent per line, as the engine
publishes them. By default it starts with new events; --since all replays the
stream first, --since 10m starts ten minutes back. --outputs prints the
tenant's WASM consumers' outputs (er.out.<tenant>.>) instead, --dead-letters
its rejected events (er.dlq.<tenant>).

A tenant logs in with its id as the user and one of its API keys as the
password (--password or EVENTRUNNER_PASSWORD), or with a creds file from
` + "`eventrunner tenant creds`" + ` (--creds); either way it lands in its own NATS
account and can read nothing but its own.`,
		Example: `  eventrunner tail --tenant demo --password "$KEY"
  EVENTRUNNER_PASSWORD="$KEY" eventrunner tail --tenant demo --type com.acme.order.created --since all -n 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			subject, err := tailSubject(tenant, typ)
			if err != nil {
				return err
			}
			if outputs {
				subject = tenantnats.OutFilter(tenant)
			}
			if deadLetters {
				subject = bus.DLQSubject(tenant)
			}
			cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
			switch since {
			case "", "new":
			case "all":
				cfg.DeliverPolicy = jetstream.DeliverAllPolicy
			default:
				d, err := time.ParseDuration(since)
				if err != nil {
					return fmt.Errorf("--since: want new, all or a duration, got %q", since)
				}
				start := time.Now().Add(-d)
				cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
			}
			var opts []nats.Option
			if password != "" {
				if user == "" {
					user = tenant
				}
				opts = tenantnats.ClientOptions(user, password)
			}
			if creds != "" {
				opts = append(opts, nats.UserCredentials(creds))
			}
			return runTail(ctx, url, tenantnats.StreamName(tenant), cfg, limit, cmd.OutOrStdout(), opts...)
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "nats-url", nats.DefaultURL, "NATS server of the engine")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&typ, "type", "", "only events of this type")
	f.StringVar(&since, "since", "new", "where to start: new, all, or a duration back from now")
	f.IntVarP(&limit, "count", "n", 0, "exit after this many events (0 = follow forever)")
	f.StringVar(&user, "user", "", "NATS user (default: the tenant id when --password is set)")
	f.StringVar(&password, "password", "", "NATS password: one of the tenant's API keys")
	f.StringVar(&creds, "creds", "", "NATS creds file of the tenant (eventrunner tenant creds)")
	f.BoolVar(&outputs, "outputs", false, "print the tenant's WASM consumers' outputs (er.out.<tenant>.>)")
	f.BoolVar(&deadLetters, "dead-letters", false, "print the tenant's rejected events (er.dlq.<tenant>; the reason is in headers)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func tailSubject(tenant, typ string) (string, error) {
	if typ != "" {
		return bus.TenantSubject(tenant, typ)
	}
	return bus.TenantFilter(tenant)
}

func runTail(ctx context.Context, url, stream string, cfg jetstream.OrderedConsumerConfig, limit int, out interface{ Write([]byte) (int, error) }, opts ...nats.Option) error {
	nc, err := bus.Connect(url, append(opts, nats.Name("eventrunner-tail"))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := bus.NewJetStream(nc)
	if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("tail %s: %w", strings.Join(cfg.FilterSubjects, ","), err)
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	for n := 0; limit == 0 || n < limit; n++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
			n--
			if ctx.Err() != nil {
				return nil
			}
			w.Flush()
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		w.Write(msg.Data())
		w.WriteByte('\n')
	}
	return nil
}
