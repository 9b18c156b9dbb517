package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/item"
)

// retryAfter is the Retry-After of answers whose kind is retryable.
const retryAfter = "5"

// The public messages of the kinds whose cause stays in the server.
var (
	msgDecrypt     = fault.Decrypt.Message()
	msgUnavailable = fault.Unavailable.Message()
	msgInternal    = fault.Internal.Message()
)

// classify is fault.Classify with the HTTP layer's side effects: a
// decryption failure's reason is counted in a metric, and the cause of a
// 5xx is logged with the request id; the client gets the public message.
func (s *server) classify(ctx context.Context, err error) fault.Class {
	c := fault.Classify(err)
	switch c.Kind {
	case fault.Decrypt:
		reason := item.Reason(err)
		if reason == "" { // the records layer's own checks
			reason = decryptRecord
		}
		s.metrics.decryptFailures.WithLabelValues(reason).Inc()
		s.logError(ctx, "decrypt failed", slog.String("reason", reason))
	case fault.Unavailable:
		if !errors.Is(err, audited.ErrUnrecorded) { // logged when the append failed
			s.logError(ctx, "unavailable", slog.String("error", err.Error()))
		}
	case fault.Internal:
		s.logError(ctx, "internal error", slog.String("error", err.Error()))
	}
	return c
}

// problem is the problem+json answer to an error from the layers below:
// its status and message come from package fault. Errors the HTTP layer
// made itself (huma's) pass as they are.
func (s *server) problem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	c := s.classify(ctx, err)
	var e error
	if c.Field != "" {
		e = huma.NewError(c.Kind.Status(), c.Message, &huma.ErrorDetail{Location: location(c.Field), Message: c.Reason})
	} else {
		e = huma.NewError(c.Kind.Status(), c.Message)
	}
	if c.Kind.Retryable() {
		e = huma.ErrorWithHeaders(e, http.Header{"Retry-After": {retryAfter}})
	}
	return e
}

// writeProblem writes a problem+json response outside huma (routing and
// transport errors).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&huma.ErrorModel{
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	})
}

// location is the huma error location of an invalid field: fields the
// records layer names by where they are (body., query., path.) as they
// are; the reference routes' body members (id, secret) under body.
func location(field string) string {
	for _, p := range []string{"body.", "query.", "path."} {
		if strings.HasPrefix(field, p) || field == strings.TrimSuffix(p, ".") {
			return field
		}
	}
	return "body." + field
}
