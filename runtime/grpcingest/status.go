package grpcingest

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// statusOf is the gRPC status of one event's outcome (nil: accepted):
// INVALID_ARGUMENT with a BadRequest naming every offending field for an
// event that breaks the spec or its schema, PERMISSION_DENIED for another
// tenant's event, UNAVAILABLE (retry) when it could not be stored.
func statusOf(err error) *status.Status {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	var re *accept.Error
	if errors.As(err, &re) {
		switch re.Kind {
		case accept.KindTenant:
			return status.New(codes.PermissionDenied, re.Error())
		case accept.KindInternal:
			return status.New(codes.Internal, re.Error())
		}
		br := &errdetails.BadRequest{}
		for _, v := range re.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: "data." + v.Path, Description: v.Message})
		}
		if len(br.FieldViolations) == 0 {
			br.FieldViolations = []*errdetails.BadRequest_FieldViolation{{Field: re.Field, Description: re.Reason}}
		}
		return withDetails(status.New(codes.InvalidArgument, re.Error()), br)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "not stored before the deadline, retry: "+err.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error())
	}
	return status.New(codes.Unavailable, "not stored, retry: "+err.Error())
}

func badRequest(field, desc string) *errdetails.BadRequest {
	return &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}}}
}

func withDetails(st *status.Status, details ...*errdetails.BadRequest) *status.Status {
	for _, d := range details {
		if s, err := st.WithDetails(d); err == nil {
			st = s
		}
	}
	return st
}

// exhausted is the status of a call refused by the tenant's rate limit.
func exhausted(wait time.Duration) *status.Status {
	st := status.New(codes.ResourceExhausted, "tenant rate limit exceeded, retry after "+wait.String())
	if s, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
		st = s
	}
	return st
}

// ackOf acknowledges one event from its status.
func ackOf(id, source string, st *status.Status) *rules.Ack {
	a := &rules.Ack{ID: id, Source: source, Status: rules.AckAccepted}
	if st == nil || st.Code() == codes.OK {
		return a
	}
	a.Code, a.Error = uint32(st.Code()), st.Message()
	switch st.Code() {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Internal:
		a.Status = rules.AckRejected
	default:
		a.Status = rules.AckRetry
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for i, v := range br.GetFieldViolations() {
				if i == 0 {
					a.Field = v.GetField()
				}
				if len(v.GetField()) > 5 && v.GetField()[:5] == "data." {
					a.Violations = append(a.Violations, rules.Violation{Path: v.GetField()[5:], Message: v.GetDescription()})
				}
			}
		}
	}
	return a
}
