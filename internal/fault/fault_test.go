package fault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store"
)

// Every error the layers return that callers see, with the status,
// outcome and message it must get: the one table behind the HTTP answer,
// the audit entry and the command line's message.
func TestClassifyEverySentinel(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		err     error
		status  int
		outcome string
		message string
	}{
		{"records not found", fmt.Errorf("records: x: %w", records.ErrNotFound), 404, "not_found", "not found"},
		{"tokens not found", fmt.Errorf("%w: x", tokens.ErrNotFound), 404, "not_found", "not found"},
		{"invalid field", &records.InvalidError{Field: "body.email", Reason: "must be a string"}, 422, "invalid", "body.email must be a string"},
		{"invalid token scope", tokensInvalid(t), 422, "invalid", `invalid: scope "nope" is not COLLECTION:read|write|admin`},
		{"token exists", fmt.Errorf("%w: app", tokens.ErrExists), 409, "conflict", "a token with that name exists"},
		{"conflict", fmt.Errorf("records: %w", &records.ConflictError{Reason: "the schema changed"}), 409, "conflict", "the schema changed"},
		{"precondition", fmt.Errorf("records: %w", records.ErrPrecondition), 412, "precondition_failed", "the record's current version does not match If-Match / If-None-Match"},
		{"retired", &records.RetiredError{Collection: "c", Version: 1, MinVersion: 2}, 410, "gone", (&records.RetiredError{Collection: "c", Version: 1, MinVersion: 2}).Error()},
		{"shredded", &records.ShreddedError{Collection: "c"}, 410, "gone", (&records.ShreddedError{Collection: "c"}).Error()},
		{"too large", fmt.Errorf("records: put: %w", store.ErrTooLarge), 413, "too_large", "the item is over the 400 KB item limit once encrypted"},
		{"decrypt", fmt.Errorf("records: %w: bad tag", item.ErrDecrypt), 500, "decrypt_failed", "the stored item could not be decrypted and verified"},
		{"store down", fmt.Errorf("records: get: %w: dial 10.0.0.1", store.ErrUnavailable), 503, "error", "a storage or key service is unavailable; retry later"},
		{"kms down", fmt.Errorf("records: %w: throttled", materials.ErrUnavailable), 503, "error", "a storage or key service is unavailable; retry later"},
		{"deadline", fmt.Errorf("records: %w", context.DeadlineExceeded), 503, "error", "a storage or key service is unavailable; retry later"},
		{"canceled", fmt.Errorf("records: %w", context.Canceled), 499, "error", "client closed the request"},
		{"audit unwritable", audited.ErrUnrecorded, 503, "error", "the audit trail could not be written, so the request was not completed; retry later"},
		{"audit cursor", auditCursor(t), 422, "invalid", "query.cursor is not one returned by this endpoint"},
		{"malformed header", fault.New(fault.BadRequest, "If-None-Match supports only *"), 400, "invalid", "If-None-Match supports only *"},
		{"denied", fault.Sentinel(fault.Denied, "x: forbidden", ""), 403, "denied", "forbidden"},
		{"unknown", errors.New("boom: /var/lib/secret-path"), 500, "error", "internal error"},
		{"store conflict is not the client's", fmt.Errorf("records: %w", store.ErrConflict), 500, "error", "internal error"},
	} {
		cl := fault.Classify(c.err)
		if cl.Kind.Status() != c.status || fault.Outcome(c.err) != c.outcome || cl.Message != c.message {
			t.Errorf("%s: status %d, outcome %q, message %q; want %d, %q, %q", c.name,
				cl.Kind.Status(), fault.Outcome(c.err), cl.Message, c.status, c.outcome, c.message)
		}
		if cl.Kind.ExitCode() != fault.ExitFailed {
			t.Errorf("%s: exit code %d; want %d", c.name, cl.Kind.ExitCode(), fault.ExitFailed)
		}
	}
}

func tokensInvalid(t *testing.T) error {
	t.Helper()
	_, err := tokens.ParseScopes("nope")
	if !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("ParseScopes(nope) = %v; want ErrInvalid", err)
	}
	return err
}

func auditCursor(t *testing.T) error {
	t.Helper()
	var l audit.Log // List parses the cursor before touching anything
	_, _, err := l.List(context.Background(), audit.Filter{}, "not-a-cursor", 1)
	if !errors.Is(err, audit.ErrBadCursor) {
		t.Fatalf("List with a bad cursor = %v; want ErrBadCursor", err)
	}
	return err
}

// The outermost classified error decides: a conflict caused by a
// decryption failure is a conflict, not a 500.
func TestClassifyOutermostWins(t *testing.T) {
	t.Parallel()
	inner := fault.Wrap(fault.Conflict, "the record changed", fmt.Errorf("records: %w", item.ErrDecrypt))
	if k := fault.KindOf(fmt.Errorf("records: %w", inner)); k != fault.Conflict {
		t.Errorf("kind %v; want conflict", k)
	}
	// A field error wrapped under another kind gives no field.
	c := fault.Classify(fault.Wrap(fault.Conflict, "no", &fault.FieldError{Field: "body.x", Reason: "bad"}))
	if c.Field != "" || c.Kind != fault.Conflict {
		t.Errorf("a field error under a conflict: %+v", c)
	}
	if c := fault.Classify(fmt.Errorf("x: %w", &fault.FieldError{Field: "body.x", Reason: "bad"})); c.Field != "body.x" || c.Reason != "bad" {
		t.Errorf("field error: %+v", c)
	}
}

// Sentinels compare by identity and keep their own text for logs.
func TestSentinel(t *testing.T) {
	t.Parallel()
	a := fault.Sentinel(fault.Gone, "pkg: gone", "")
	b := fault.Sentinel(fault.Gone, "pkg: gone", "")
	if errors.Is(a, b) || !errors.Is(fmt.Errorf("x: %w", a), a) {
		t.Error("sentinels must compare by identity")
	}
	if a.Error() != "pkg: gone" || fault.Classify(a).Message != "gone" {
		t.Errorf("text %q, message %q", a.Error(), fault.Classify(a).Message)
	}
	e := fault.Wrap(fault.Unavailable, "cannot reach the server", errors.New("dial tcp: refused"))
	if e.Error() != "cannot reach the server: dial tcp: refused" || fault.Classify(e).Message != "cannot reach the server" {
		t.Errorf("wrapped: %q / %q", e.Error(), fault.Classify(e).Message)
	}
}

// A remote status maps back to the kind that made it.
func TestFromStatus(t *testing.T) {
	t.Parallel()
	for k := fault.Internal; k <= fault.Canceled; k++ {
		if k == fault.Decrypt { // a 500 like Internal: a client cannot tell them apart
			continue
		}
		if got := fault.FromStatus(k.Status()); got != k {
			t.Errorf("FromStatus(%d) = %v; want %v", k.Status(), got, k)
		}
	}
	for status, want := range map[int]fault.Kind{http.StatusUnauthorized: fault.Denied, http.StatusTooManyRequests: fault.Unavailable, 418: fault.Internal} {
		if got := fault.FromStatus(status); got != want {
			t.Errorf("FromStatus(%d) = %v; want %v", status, got, want)
		}
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	got := fault.Outcomes()
	for _, want := range []string{"ok", "not_found", "invalid", "conflict", "precondition_failed", "gone", "too_large", "decrypt_failed", "error", "denied"} {
		if !slices.Contains(got, want) {
			t.Errorf("Outcomes() = %q lacks %q", got, want)
		}
	}
	if len(got) != 10 || fault.Outcome(nil) != "ok" {
		t.Errorf("Outcomes() = %q", got)
	}
}

func TestClassifyNilPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Classify(nil) did not panic")
		}
	}()
	fault.Classify(nil)
}
