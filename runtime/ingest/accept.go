package ingest

import (
	"context"
	"errors"
	"net/http"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
)

// ProcAcceptor is the Acceptor of the engine: the runner's Acceptor
// (normalise, validate, publish straight to er.proc.<tenant>.<type> with one
// round of PubAcks per batch; HTTP ingest skips ER_RAW since it has already
// done the runner's work), with refusals turned into problem details.
type ProcAcceptor struct {
	*accept.Acceptor
}

// Accept implements Acceptor.
func (a *ProcAcceptor) Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error {
	errs := a.Acceptor.Accept(ctx, tenant, evs)
	for i, err := range errs {
		if err != nil {
			errs[i] = runnerProblem(err)
		}
	}
	return errs
}

// runnerProblem turns the runner's refusal into a problem with the status
// its kind calls for.
func runnerProblem(err error) error {
	var re *accept.Error
	if !errors.As(err, &re) {
		return err
	}
	status := http.StatusUnprocessableEntity
	switch re.Kind {
	case accept.KindMalformed, accept.KindAttribute:
		status = http.StatusBadRequest
	case accept.KindTenant:
		status = http.StatusForbidden
	case accept.KindInternal:
		status = http.StatusInternalServerError
	}
	p := problem.New(status, re.Field, re.Reason)
	for _, v := range re.Violations {
		p.Errors = append(p.Errors, problem.FieldError{Field: "data." + v.Path, Detail: v.Message})
	}
	return p
}
