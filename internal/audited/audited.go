// Package audited is sealstore's one audit point. Its Service wraps the
// use cases (records, the key lifecycle, tokens) so that every operation,
// done or refused, is appended to the audit trail once: with its actor
// (taken from the context: WithActor), its action (from package audit's
// list), the record it acted on (named by the trail's HMAC, never in
// clear), a detail where the action has one, and its outcome (from
// fault.Classify). The HTTP API and the standalone command line both go
// through it.
//
// An operation whose entry cannot be written fails with ErrUnrecorded,
// whatever its own outcome: an operation nobody can account for is not
// reported done. The entry's write does not end with the caller's
// context: an operation that took effect is recorded even if its caller
// has gone. Refusals of kind Denied are recorded on a best-effort basis:
// the request is refused either way.
package audited

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
)

// Trail is the audit trail entries are appended to.
type Trail interface {
	Append(ctx context.Context, e audit.Entry) error
	RecordID(ctx context.Context, collection, id string) (string, error)
}

// ErrUnrecorded fails an operation whose audit entry could not be written.
var ErrUnrecorded = fault.Sentinel(fault.Unavailable, "audited: the audit entry could not be written",
	"the audit trail could not be written, so the request was not completed; retry later")

// appendTimeout bounds an entry's write.
const appendTimeout = 15 * time.Second

// Config wires a Service. Any use case may be nil if the caller does not
// use it; Trail nil means no audit trail (operations pass through).
type Config struct {
	Records   Records
	Keys      Keys
	Rotations Rotations
	Tokens    Tokens
	Imports   Imports
	Trail     Trail
	// Appended, if set, is told the outcome of every append (nil: the
	// entry is written), for metrics and logs.
	Appended func(ctx context.Context, action string, err error)
	// LogError, if set, logs what fails besides appends (the withdrawal
	// of a token whose creation could not be recorded).
	LogError func(ctx context.Context, msg string, attrs ...slog.Attr)
}

// Service is the use cases, audited.
type Service struct {
	recs      Records
	keys      Keys
	rotations Rotations
	tokens    Tokens
	imports   Imports
	trail     Trail
	appended  func(ctx context.Context, action string, err error)
	logError  func(ctx context.Context, msg string, attrs ...slog.Attr)
}

// New returns the audited use cases of cfg.
func New(cfg Config) *Service {
	s := &Service{recs: cfg.Records, keys: cfg.Keys, rotations: cfg.Rotations, tokens: cfg.Tokens, imports: cfg.Imports, trail: cfg.Trail,
		appended: cfg.Appended, logError: cfg.LogError}
	if s.appended == nil {
		s.appended = func(context.Context, string, error) {}
	}
	if s.logError == nil {
		s.logError = func(context.Context, string, ...slog.Attr) {}
	}
	return s
}

type actorKey struct{}

type requestKey struct{}

// request is what the trail says of an HTTP request.
type request struct{ id, client string }

// WithActor returns ctx naming who acts: a token's name, or the operator
// of a standalone command ("standalone:alice").
func WithActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

// Actor returns the actor ctx names ("" for none).
func Actor(ctx context.Context) string {
	name, _ := ctx.Value(actorKey{}).(string)
	return name
}

// WithRequest returns ctx naming the HTTP request an operation serves:
// its id and the client's address, which its entry records.
func WithRequest(ctx context.Context, id, client string) context.Context {
	return context.WithValue(ctx, requestKey{}, request{id: id, client: client})
}

// op is one audited operation: what the entry says besides its outcome.
type op struct {
	action, coll string
	key          *records.Key
	detail       string
	etag         string // of a record written
}

// record appends o's entry with the outcome of err (nil: done) and
// returns what the caller gets: err, or ErrUnrecorded if the entry could
// not be written.
func (s *Service) record(ctx context.Context, o op, err error) error {
	if s.trail == nil {
		return err
	}
	if aerr := s.append(ctx, o, fault.Outcome(err)); aerr != nil {
		if err != nil && fault.KindOf(err) == fault.Denied {
			return err // refused either way
		}
		return ErrUnrecorded
	}
	return err
}

// append writes o's entry, detached from the caller's end.
func (s *Service) append(ctx context.Context, o op, outcome string) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	req, _ := ctx.Value(requestKey{}).(request)
	e := audit.Entry{Token: Actor(ctx), Action: o.action, Collection: o.coll, Outcome: outcome, Detail: o.detail,
		ETag: o.etag, RequestID: req.id, Client: req.client}
	var err error
	if o.key != nil {
		e.Record, err = s.trail.RecordID(actx, o.coll, RecordName(*o.key))
	}
	if err == nil {
		err = s.trail.Append(actx, e)
	}
	s.appended(ctx, o.action, err)
	return err
}

// written is o for a record write that ended with err: it carries the
// entity tag the record has now, if the write took effect.
func (o op) written(etag string, err error) op {
	if err == nil {
		o.etag = etag
	}
	return o
}

// Refuse records an operation refused before it reached the use case
// (input the caller's layer could not parse, a permission it checked) and
// returns err, or ErrUnrecorded if the entry could not be written (but
// for a Denied err: refused either way).
func (s *Service) Refuse(ctx context.Context, action, coll string, key *records.Key, detail string, err error) error {
	return s.record(ctx, op{action: action, coll: coll, key: key, detail: detail}, err)
}

// Denied records a request refused for want of a scope, on a best-effort
// basis.
func (s *Service) Denied(ctx context.Context, action, coll string) {
	if s.trail != nil && action != "" {
		_ = s.append(ctx, op{action: action, coll: coll}, fault.Denied.Outcome())
	}
}

// RecordName is the string whose HMAC names a record in the trail: the
// id, or, with a sort key, both unambiguously.
func RecordName(k records.Key) string {
	if k.Sort == "" {
		return k.ID
	}
	return strconv.Itoa(len(k.ID)) + ":" + k.ID + k.Sort
}
