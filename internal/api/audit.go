package api

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Auditor is the audit trail: the audited use cases append to it, and
// GET /v1/audit reads it.
type Auditor interface {
	audited.Trail
	List(ctx context.Context, f audit.Filter, cursor string, limit int) ([]audit.Entry, string, error)
}

// appended counts and logs the outcome of each audit append.
func (s *server) appended(ctx context.Context, action string, err error) {
	if err != nil {
		s.metrics.auditWrites.WithLabelValues("error").Inc()
		s.logError(ctx, "audit write failed", slog.String("action", action), slog.String("error", err.Error()))
		return
	}
	s.metrics.auditWrites.WithLabelValues("ok").Inc()
}

type auditInput struct {
	Token      string    `query:"token" doc:"Token name."`
	Action     string    `query:"action" doc:"Action: one of the trail's actions (record.get, record.put, record.search, token.create, keys.rotate, ...); any other is a 422 that lists them."`
	Collection string    `query:"collection" doc:"Collection name."`
	Record     string    `query:"record" doc:"Record id (with collection): matched through its HMAC, never stored in clear."`
	Sort       string    `query:"sort" doc:"Sort key value of the record, in collections with a sort key (with record)."`
	Outcome    string    `query:"outcome" doc:"Outcome: ok, error, not_found, invalid, conflict, precondition_failed, gone, too_large, decrypt_failed or denied; any other is a 422 that lists them."`
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
	ETag       string    `json:"etag,omitempty" doc:"For a record written: the entity tag it has after the write."`
	RequestID  string    `json:"requestId,omitempty" doc:"The request's id (its X-Request-Id)."`
	Client     string    `json:"client,omitempty" doc:"The client's address."`
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
	if err := checkAuditFilter(in.Action, in.Outcome); err != nil {
		return nil, err
	}
	f := audit.Filter{Token: in.Token, Action: in.Action, Collection: in.Collection, Outcome: in.Outcome, Since: in.Since, Until: in.Until}
	if in.Record != "" {
		if in.Collection == "" {
			return nil, huma.Error422UnprocessableEntity("a record filter needs a collection filter", &huma.ErrorDetail{Location: "query.record", Message: "needs collection"})
		}
		rid, err := s.cfg.Audit.RecordID(ctx, in.Collection, audited.RecordName(records.Key{ID: in.Record, Sort: in.Sort}))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f.Record = rid
	}
	entries, next, err := s.cfg.Audit.List(ctx, f, in.Cursor, in.Limit)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &auditOutput{}
	out.Body.Entries = make([]auditEntry, len(entries))
	for i, e := range entries {
		out.Body.Entries[i] = auditEntry{Time: e.Time, Token: e.Token, Action: e.Action, Collection: e.Collection,
			Record: e.Record, Outcome: e.Outcome, Detail: e.Detail, ETag: e.ETag, RequestID: e.RequestID, Client: e.Client,
			Chain: e.Chain, Seq: e.Seq}
	}
	out.Body.Cursor = next
	return out, nil
}

// checkAuditFilter refuses an action or outcome filter that no entry can
// have (a typo would otherwise answer an empty page, as if nothing had
// happened), naming the allowed values.
func checkAuditFilter(action, outcome string) error {
	for _, f := range []struct {
		name, value string
		allowed     []string
	}{
		{"action", action, audit.Actions()},
		{"outcome", outcome, fault.Outcomes()},
	} {
		if f.value != "" && !slices.Contains(f.allowed, f.value) {
			msg := "must be one of: " + strings.Join(f.allowed, ", ")
			return huma.Error422UnprocessableEntity("query."+f.name+" "+msg, &huma.ErrorDetail{Location: "query." + f.name, Message: msg})
		}
	}
	return nil
}
