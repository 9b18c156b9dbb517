// Package fault is sealstore's one error classifier. Every error the
// layers return has one Kind, found by Classify, and each Kind has one
// HTTP status, one audit outcome, one exit code and one public message:
// the HTTP API, the audit trail, the command line and the rewrap job all
// take them from here, so that they cannot disagree.
//
// Errors say their own kind by implementing Classified (the service's
// sentinels and error types, made with Sentinel and New or with their own
// Fault method); the engine's sentinels (store, item, materials) and the
// context errors are classified by a table here. Adding a sentinel is one
// edit: declare it with Sentinel.
//
// A public message never holds a value from a request, a secret or an
// internal cause: it is the message of the error's kind, or one its
// error type wrote for clients (a field and a reason, a conflict's cause).
package fault

import (
	"context"
	"errors"
	"net/http"

	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store"
)

// Kind is what went wrong, as far as a client, an auditor or an operator
// needs to know.
type Kind int

// The kinds. The zero Kind is Internal: an error nobody classified is a
// bug or an unexpected failure, never shown in detail.
const (
	Internal     Kind = iota
	NotFound          // the collection, record or token does not exist (or is not yours to see)
	Invalid           // the input is wrong; the message names the field and why
	BadRequest        // the request itself is malformed (headers, query string)
	Conflict          // refused because of the current state; the message says why
	Precondition      // If-Match / If-None-Match does not hold
	Gone              // the record's key version was retired, or its collection shredded
	TooLarge          // over DynamoDB's 400 KB item limit once encrypted
	Decrypt           // a stored item failed to decrypt or verify: one opaque kind
	Unavailable       // a store or key service is unreachable or failing: retry later
	Denied            // the caller may not do this
	Canceled          // the caller went away
)

// info is what a kind means to each consumer.
type info struct {
	name    string
	status  int
	outcome string
	message string
}

var kinds = [...]info{
	Internal:     {"internal", http.StatusInternalServerError, "error", "internal error"},
	NotFound:     {"not found", http.StatusNotFound, "not_found", "not found"},
	Invalid:      {"invalid", http.StatusUnprocessableEntity, "invalid", "the request is invalid"},
	BadRequest:   {"bad request", http.StatusBadRequest, "invalid", "the request is malformed"},
	Conflict:     {"conflict", http.StatusConflict, "conflict", "the request conflicts with the current state"},
	Precondition: {"precondition failed", http.StatusPreconditionFailed, "precondition_failed", "the record's current version does not match If-Match / If-None-Match"},
	Gone:         {"gone", http.StatusGone, "gone", "gone"},
	TooLarge:     {"too large", http.StatusRequestEntityTooLarge, "too_large", "the item is over the 400 KB item limit once encrypted"},
	Decrypt:      {"decrypt failure", http.StatusInternalServerError, "decrypt_failed", "the stored item could not be decrypted and verified"},
	Unavailable:  {"unavailable", http.StatusServiceUnavailable, "error", "a storage or key service is unavailable; retry later"},
	Denied:       {"denied", http.StatusForbidden, "denied", "forbidden"},
	Canceled:     {"canceled", 499, "error", "client closed the request"},
}

func (k Kind) info() info {
	if k < 0 || int(k) >= len(kinds) {
		return kinds[Internal]
	}
	return kinds[k]
}

// String names the kind.
func (k Kind) String() string { return k.info().name }

// Status is the HTTP status of the kind (499 for Canceled, as nginx
// logs a client that closed the request).
func (k Kind) Status() int { return k.info().status }

// Outcome is the audit trail's outcome code of the kind.
func (k Kind) Outcome() string { return k.info().outcome }

// Message is the kind's public message.
func (k Kind) Message() string { return k.info().message }

// Exit statuses of the command line: ExitOK for success, ExitFailed when
// the operation was refused or failed, whatever its kind (a script tells
// kinds apart by the message), ExitUsage for a command line refused
// before anything was asked of a server or store.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// ExitCode is the command line's exit status for an operation that
// failed with this kind.
func (k Kind) ExitCode() int { return ExitFailed }

// Retryable reports whether the same request may succeed later unchanged.
func (k Kind) Retryable() bool { return k == Unavailable }

// Classified is an error that knows its kind and public message.
type Classified interface {
	error
	Fault() (Kind, string)
}

// Class is what Classify finds.
type Class struct {
	Kind Kind
	// Message is safe to show to the caller.
	Message string
	// Field and Reason say where the bad input is ("body.email",
	// "query.cursor") and what is wrong with it, for a *FieldError.
	Field, Reason string
}

// engine classifies the sentinels of the layers below the service, which
// know nothing of kinds, in this order.
var engine = []struct {
	err  error
	kind Kind
}{
	{store.ErrTooLarge, TooLarge},
	{item.ErrDecrypt, Decrypt},
	{store.ErrUnavailable, Unavailable},
	{materials.ErrUnavailable, Unavailable},
	{context.DeadlineExceeded, Unavailable},
	{context.Canceled, Canceled},
}

// Classify returns err's kind and public message: those of the outermost
// Classified error in its chain, else of the first engine sentinel it
// matches, else Internal. A nil err is not an error: Classify panics, so
// that no success is ever reported as a failure by mistake.
func Classify(err error) Class {
	if err == nil {
		panic("fault: Classify(nil)")
	}
	var c Classified
	if errors.As(err, &c) {
		k, msg := c.Fault()
		if msg == "" {
			msg = k.Message()
		}
		cl := Class{Kind: k, Message: msg}
		var fe *FieldError
		if errors.As(err, &fe) && fe == c {
			cl.Field, cl.Reason = fe.Field, fe.Reason
		}
		return cl
	}
	for _, e := range engine {
		if errors.Is(err, e.err) {
			return Class{Kind: e.kind, Message: e.kind.Message()}
		}
	}
	return Class{Kind: Internal, Message: Internal.Message()}
}

// KindOf is Classify(err).Kind.
func KindOf(err error) Kind { return Classify(err).Kind }

// Outcome is the audit outcome of an operation that ended with err: "ok"
// for nil, else its kind's.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return KindOf(err).Outcome()
}

// Outcomes lists every audit outcome, "ok" first.
func Outcomes() []string {
	out := []string{"ok"}
	seen := map[string]bool{"ok": true}
	for _, k := range kinds {
		if !seen[k.outcome] {
			seen[k.outcome] = true
			out = append(out, k.outcome)
		}
	}
	return out
}

// FromStatus is the kind of an HTTP error status a sealstore server
// answered (the command line's view of a remote failure): the kind with
// that status (a 500 is Internal), 401 Denied, 429 Unavailable.
func FromStatus(status int) Kind {
	for k, in := range kinds {
		if in.status == status && Kind(k) != Decrypt {
			return Kind(k)
		}
	}
	switch status {
	case http.StatusUnauthorized:
		return Denied
	case http.StatusTooManyRequests:
		return Unavailable
	}
	return Internal
}

// sentinel is an error value of a fixed kind, compared by identity.
type sentinel struct {
	kind   Kind
	text   string
	public string
}

func (s *sentinel) Error() string         { return s.text }
func (s *sentinel) Fault() (Kind, string) { return s.kind, s.public }

// Sentinel returns a new error value of kind k for callers to compare with
// errors.Is. text is its Error() (for logs, with the package prefix);
// public is what clients are told ("" for the kind's message).
func Sentinel(k Kind, text, public string) error {
	return &sentinel{kind: k, text: text, public: public}
}

// ErrInvalid is matched by every *FieldError.
var ErrInvalid = Sentinel(Invalid, "invalid input", "")

// FieldError is invalid input: which field and why, never its value.
// Field names where the input is, as the HTTP API names it: "body.email",
// "query.cursor", "path.name", or a bare body member of the reference
// routes ("id", "secret").
type FieldError struct {
	Field  string
	Reason string
	// Err, if set, is a sentinel the error matches too.
	Err error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes a *FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the sentinel, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// Fault returns Invalid and the field with its reason.
func (e *FieldError) Fault() (Kind, string) { return Invalid, e.Field + " " + e.Reason }

// Error is an error of a known kind with a public message of its own,
// wrapping an optional cause (a sentinel callers compare with, or the
// internal reason, which is never shown).
type Error struct {
	Kind Kind
	// Msg is what clients are told ("" for the kind's message).
	Msg string
	// Err is the wrapped error.
	Err error
}

// New returns an *Error of kind k telling clients msg.
func New(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Wrap returns an *Error of kind k telling clients msg and wrapping err.
func Wrap(k Kind, msg string, err error) *Error { return &Error{Kind: k, Msg: msg, Err: err} }

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

// Fault returns the error's kind and message.
func (e *Error) Fault() (Kind, string) { return e.Kind, e.Msg }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }
