package ingest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
)

// ProcAcceptor is the Acceptor of the engine: it normalises and validates
// each event like the runner does and publishes the valid ones straight to
// er.proc.<tenant>.<type> (skipping ER_RAW, since HTTP ingest has already
// done the runner's work), waiting for every PubAck of the batch at once.
type ProcAcceptor struct {
	Normalizer *runner.Normalizer
	Publisher  *bus.Publisher
}

// Accept implements Acceptor.
func (a *ProcAcceptor) Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error {
	errs := make([]error, len(evs))
	msgs := make([]*nats.Msg, 0, len(evs))
	idx := make([]int, 0, len(evs))
	now := time.Now()
	for i, ev := range evs {
		v, err := a.Normalizer.Normalize(tenant, ev)
		if err != nil {
			errs[i] = runnerProblem(err)
			continue
		}
		msgs = append(msgs, v.Msg(now))
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return errs
	}
	pubErrs := make([]error, len(msgs))
	_ = a.Publisher.PublishBatch(ctx, msgs, pubErrs)
	for j, err := range pubErrs {
		errs[idx[j]] = err
	}
	return errs
}

// runnerProblem turns the runner's refusal into a problem with the status
// its kind calls for.
func runnerProblem(err error) error {
	var re *runner.Error
	if !errors.As(err, &re) {
		return err
	}
	status := http.StatusUnprocessableEntity
	switch re.Kind {
	case runner.KindMalformed, runner.KindAttribute:
		status = http.StatusBadRequest
	case runner.KindTenant:
		status = http.StatusForbidden
	case runner.KindInternal:
		status = http.StatusInternalServerError
	}
	p := NewProblem(status, re.Field, re.Reason)
	for _, v := range re.Violations {
		p.Errors = append(p.Errors, FieldError{Field: "data." + v.Path, Detail: v.Message})
	}
	return p
}
