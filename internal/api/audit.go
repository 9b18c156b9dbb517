package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/store"
)

// Auditor is the audit trail the routes write to.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) error
	RecordID(ctx context.Context, collection, id string) (string, error)
	List(ctx context.Context, f audit.Filter, cursor string, limit int) ([]audit.Entry, string, error)
}

// auditTimeout bounds an audit append. The append does not end with the
// request: an operation that took effect is recorded even if its client
// has gone or its deadline passed meanwhile.
const auditTimeout = 15 * time.Second

func auditContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
}

const msgAudit = "the audit trail could not be written, so the request was not completed; retry later"

// audited appends the audit entry of an operation on collection coll (and
// record key, if not nil) that ended with err (nil: success), and returns
// the error the client gets: err's problem, or a 503 when the entry could
// not be written, whatever the operation's outcome (an operation nobody
// can account for is not reported done).
func (s *server) audited(ctx context.Context, action, coll string, key *records.Key, err error) error {
	return s.auditedDetail(ctx, action, coll, key, "", err)
}

// auditedDetail is audited with the entry's detail (for token operations,
// the token's name and scopes).
func (s *server) auditedDetail(ctx context.Context, action, coll string, key *records.Key, detail string, err error) error {
	var perr error
	if err != nil {
		perr = s.problem(ctx, err)
	}
	if s.cfg.Audit == nil {
		return perr
	}
	e := audit.Entry{Token: tokenName(ctx), Action: action, Collection: coll, Outcome: Outcome(err), Detail: detail}
	if aerr := s.appendEntry(ctx, e, key); aerr != nil {
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable(msgAudit), http.Header{"Retry-After": {retryAfter}})
	}
	return perr
}

// auditDenied records a refused request (best effort: the request is
// refused either way).
func (s *server) auditDenied(ctx context.Context, action, coll string) {
	if s.cfg.Audit != nil {
		_ = s.appendEntry(ctx, audit.Entry{Token: tokenName(ctx), Action: action, Collection: coll, Outcome: "denied"}, nil)
	}
}

// appendEntry names the record of key (if not nil) in e and appends e,
// detached from the request's end; it counts and logs the outcome.
func (s *server) appendEntry(ctx context.Context, e audit.Entry, key *records.Key) error {
	actx, cancel := auditContext(ctx)
	defer cancel()
	var err error
	if key != nil {
		e.Record, err = s.cfg.Audit.RecordID(actx, e.Collection, auditName(*key))
	}
	if err == nil {
		err = s.cfg.Audit.Append(actx, e)
	}
	if err != nil {
		s.metrics.auditWrites.WithLabelValues("error").Inc()
		s.logError(ctx, "audit write failed", slog.String("action", e.Action), slog.String("error", err.Error()))
		return err
	}
	s.metrics.auditWrites.WithLabelValues("ok").Inc()
	return nil
}

// Outcome is the audit outcome of an operation's error: a fixed code.
func Outcome(err error) string {
	var se huma.StatusError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, records.ErrNotFound), errors.Is(err, tokens.ErrNotFound):
		return "not_found"
	case errors.Is(err, records.ErrInvalid), errors.Is(err, tokens.ErrInvalid):
		return "invalid"
	case errors.Is(err, records.ErrPrecondition):
		return "precondition_failed"
	case errors.Is(err, records.ErrGone):
		return "gone"
	case errors.Is(err, records.ErrConflict), errors.Is(err, tokens.ErrExists):
		return "conflict"
	case errors.Is(err, store.ErrTooLarge):
		return "too_large"
	case errors.Is(err, item.ErrDecrypt):
		return "decrypt_failed"
	case errors.Is(err, errForbidden):
		return "denied"
	case errors.As(err, &se) && se.GetStatus() < 500:
		return "invalid"
	}
	return "error"
}

type auditInput struct {
	Token      string    `query:"token" doc:"Token name."`
	Action     string    `query:"action" doc:"Action, e.g. record.get, record.put, record.search, token.create."`
	Collection string    `query:"collection" doc:"Collection name."`
	Record     string    `query:"record" doc:"Record id (with collection): matched through its HMAC, never stored in clear."`
	Sort       string    `query:"sort" doc:"Sort key value of the record, in collections with a sort key (with record)."`
	Outcome    string    `query:"outcome" doc:"Outcome: ok, not_found, denied, invalid, conflict, precondition_failed, error, ..."`
	Since      time.Time `query:"since" doc:"Entries at or after this time (RFC 3339)."`
	Until      time.Time `query:"until" doc:"Entries before this time (RFC 3339)."`
	Limit      int       `query:"limit" minimum:"0" maximum:"1000" doc:"Entries per page (default 100)."`
	Cursor     string    `query:"cursor" doc:"Cursor from the previous page."`
}

type auditEntry struct {
	Time       time.Time `json:"time"`
	Token      string    `json:"token"`
	Action     string    `json:"action"`
	Collection string    `json:"collection,omitempty"`
	Record     string    `json:"record,omitempty" doc:"HMAC of the record id."`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty" doc:"What else the operation acted on: for token operations, the token's name and scopes."`
	Chain      string    `json:"chain" doc:"Chain (one per server start) holding the entry."`
	Seq        uint64    `json:"seq" doc:"Position of the entry in its chain."`
}

type auditOutput struct {
	Body struct {
		Entries []auditEntry `json:"entries"`
		Cursor  string       `json:"cursor,omitempty"`
	}
}

// listAudit serves GET /v1/audit: to admins of every collection, or, with
// a collection filter, to that collection's admins.
func (s *server) listAudit(ctx context.Context, in *auditInput) (*auditOutput, error) {
	tok := tokenFrom(ctx)
	coll := in.Collection
	if coll == "" {
		coll = tokens.AnyCollection
	}
	if tok == nil || !tok.Allows(coll, tokens.Admin) {
		return nil, huma.Error403Forbidden("reading the audit trail needs the admin scope on the collection filtered on (or *:admin)")
	}
	if s.cfg.Audit == nil {
		return nil, huma.Error404NotFound("this server keeps no audit trail")
	}
	f := audit.Filter{Token: in.Token, Action: in.Action, Collection: in.Collection, Outcome: in.Outcome, Since: in.Since, Until: in.Until}
	if in.Record != "" {
		if in.Collection == "" {
			return nil, huma.Error422UnprocessableEntity("a record filter needs a collection filter", &huma.ErrorDetail{Location: "query.record", Message: "needs collection"})
		}
		rid, err := s.cfg.Audit.RecordID(ctx, in.Collection, auditName(records.Key{ID: in.Record, Sort: in.Sort}))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f.Record = rid
	}
	entries, next, err := s.cfg.Audit.List(ctx, f, in.Cursor, in.Limit)
	if errors.Is(err, audit.ErrBadCursor) {
		return nil, huma.Error422UnprocessableEntity("cursor is not one returned by this endpoint", &huma.ErrorDetail{Location: "query.cursor", Message: "bad cursor"})
	}
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &auditOutput{}
	out.Body.Entries = make([]auditEntry, len(entries))
	for i, e := range entries {
		out.Body.Entries[i] = auditEntry{Time: e.Time, Token: e.Token, Action: e.Action, Collection: e.Collection,
			Record: e.Record, Outcome: e.Outcome, Detail: e.Detail, Chain: e.Chain, Seq: e.Seq}
	}
	out.Body.Cursor = next
	return out, nil
}
