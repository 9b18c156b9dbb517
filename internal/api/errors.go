package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store"
)

// Messages shown to clients for errors whose cause stays in the server.
const (
	msgDecrypt     = "the stored item could not be decrypted and verified"
	msgUnavailable = "a storage or key service is unavailable; retry later"
	msgInternal    = "internal error"
	retryAfter     = "5"
)

// problem maps an error from the layers below to the status and message a
// client sees. This is the one place that does so. The cause of a 5xx is
// logged with the request id; the client gets a fixed message.
func (s *server) problem(ctx context.Context, err error) error {
	var inv *records.InvalidError
	var conflict *records.ConflictError
	var retired *records.RetiredError
	var shredded *records.ShreddedError
	var se huma.StatusError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, records.ErrNotFound), errors.Is(err, tokens.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.As(err, &inv):
		return huma.Error422UnprocessableEntity(inv.Field+" "+inv.Reason, &huma.ErrorDetail{
			Location: location(inv.Field), Message: inv.Reason})
	case errors.Is(err, tokens.ErrInvalid):
		return huma.Error422UnprocessableEntity(strings.TrimPrefix(err.Error(), "tokens: "))
	case errors.Is(err, tokens.ErrExists):
		return huma.Error409Conflict("a token with that name exists")
	case errors.As(err, &retired):
		// The messages name the collection and key versions, no value.
		return huma.NewError(http.StatusGone, retired.Error())
	case errors.As(err, &shredded):
		return huma.NewError(http.StatusGone, shredded.Error())
	case errors.Is(err, records.ErrPrecondition):
		return huma.Error412PreconditionFailed("the record's current version does not match If-Match / If-None-Match")
	case errors.As(err, &conflict):
		return huma.Error409Conflict(conflict.Reason)
	case errors.Is(err, store.ErrTooLarge):
		return huma.Error413RequestEntityTooLarge("the item is over the 400 KB item limit once encrypted")
	case errors.Is(err, item.ErrDecrypt):
		reason := item.Reason(err)
		s.metrics.decryptFailures.WithLabelValues(reason).Inc()
		s.logError(ctx, "decrypt failed", slog.String("reason", reason))
		return huma.Error500InternalServerError(msgDecrypt)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, materials.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded):
		s.logError(ctx, "unavailable", slog.String("error", err.Error()))
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable(msgUnavailable),
			http.Header{"Retry-After": {retryAfter}})
	case errors.Is(err, context.Canceled):
		return huma.NewError(499, "client closed the request")
	}
	s.logError(ctx, "internal error", slog.String("error", err.Error()))
	return huma.Error500InternalServerError(msgInternal)
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
