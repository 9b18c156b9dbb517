// Package tokens issues and checks the bearer tokens that grant access to
// collections. A token is 256 random bits, shown once when created; only
// its SHA-256 is stored. Each token carries scopes: a collection (or * for
// every collection) and an action (read, write or admin; admin implies the
// other two). The scope *:metrics grants only GET /metrics, for
// scrapers; *:admin implies it.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/names"
	"github.com/sealstore/sealstore/store"
)

// prefix starts every token, so that secret scanners can recognise one.
const prefix = "sst_"

// tokenLen is the length of a token: the prefix and 32 bytes in base64url.
var tokenLen = len(prefix) + base64.RawURLEncoding.EncodedLen(32)

// Errors callers branch on.
var (
	ErrExists   = fault.Sentinel(fault.Conflict, "tokens: a token with that name exists", "a token with that name exists")
	ErrNotFound = fault.Sentinel(fault.NotFound, "tokens: no token with that name", "")
	// ErrInvalid is a name or scope list that cannot make a token; the
	// error matching it says why.
	ErrInvalid = fault.Sentinel(fault.Invalid, "tokens: invalid", "")
)

// invalidError is an ErrInvalid that says why: to clients too, since the
// reason names a scope or a rule, never a secret.
type invalidError struct{ reason string }

func invalid(format string, a ...any) error {
	return &invalidError{reason: fmt.Sprintf(format, a...)}
}

func (e *invalidError) Error() string               { return "tokens: invalid: " + e.reason }
func (e *invalidError) Is(target error) bool        { return target == ErrInvalid }
func (e *invalidError) Fault() (fault.Kind, string) { return fault.Invalid, "invalid: " + e.reason }

// Action is what a scope allows on a collection.
type Action string

// Actions, from least to most.
const (
	Read  Action = "read"
	Write Action = "write"
	Admin Action = "admin"
	// Metrics reads the service's metrics and nothing else; it exists only
	// as *:metrics (metrics are no collection's).
	Metrics Action = "metrics"
)

// AnyCollection in a scope stands for every collection.
const AnyCollection = "*"

// Scope grants one action on one collection (or on AnyCollection).
type Scope struct {
	Collection string
	Action     Action
}

func (s Scope) String() string { return s.Collection + ":" + string(s.Action) }

// allows reports whether s grants a on collection c.
func (s Scope) allows(c string, a Action) bool {
	if s.Collection != c && s.Collection != AnyCollection {
		return false
	}
	return s.Action == a || s.Action == Admin
}

// ParseScopes parses a comma-separated list such as "items:read,*:admin".
func ParseScopes(list string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		c, a, ok := strings.Cut(part, ":")
		if !ok || !names.Valid(c) && c != AnyCollection {
			return nil, invalid("scope %q is not COLLECTION:read|write|admin", part)
		}
		switch Action(a) {
		case Read, Write, Admin:
		case Metrics:
			if c != AnyCollection {
				return nil, invalid("scope %q: metrics are no collection's: the scope is *:metrics", part)
			}
		default:
			return nil, invalid("scope %q: action must be read, write or admin (or *:metrics)", part)
		}
		out = append(out, Scope{Collection: c, Action: Action(a)})
	}
	return out, nil
}

// Token is a stored token, without its secret.
type Token struct {
	Name    string
	Scopes  []Scope
	Created time.Time
	hash    [sha256.Size]byte
}

// Allows reports whether the token may do a on collection c.
func (t Token) Allows(c string, a Action) bool {
	return slices.ContainsFunc(t.Scopes, func(s Scope) bool { return s.allows(c, a) })
}

// Store keeps tokens in a table.
type Store struct {
	db    Backend
	table store.Table
	now   func() time.Time
}

// Backend is the storage the token store needs.
type Backend interface {
	CreateTable(ctx context.Context, t store.Table) error
	Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error
	Delete(ctx context.Context, t store.Table, key attr.Item, c store.Cond) error
	Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error)
}

// New returns the token store kept in table tableName of db.
func New(db Backend, tableName string) *Store {
	return &Store{db: db, table: store.Table{Name: tableName, PartitionKey: "name"}, now: time.Now}
}

// Init creates the token table if it does not exist.
func (s *Store) Init(ctx context.Context) error { return s.db.CreateTable(ctx, s.table) }

// RandomName is a name for a token its creator did not name.
func RandomName() string { return "token-" + randomHex(4) }

// Qualify is name in the namespace of collection coll: "name@coll". Every
// scope of a token so named is on coll (Create refuses others), so every
// admin of coll administers every token in the namespace.
func Qualify(name, coll string) string { return name + "@" + coll }

// ValidName reports whether name can name a token: a name (package names),
// or a name qualified by a collection, name@collection.
func ValidName(name string) bool {
	base, coll, qualified := strings.Cut(name, "@")
	return names.Valid(base) && (!qualified || names.Valid(coll))
}

// checkName checks that name can name a token with scopes.
func checkName(name string, scopes []Scope) error {
	if !ValidName(name) {
		return invalid("a name is 1 to 64 letters, digits, '.', '_' or '-', optionally followed by @ and the collection of its scopes")
	}
	if len(scopes) == 0 {
		return invalid("a token needs at least one scope")
	}
	if _, coll, qualified := strings.Cut(name, "@"); qualified {
		for _, sc := range scopes {
			if sc.Collection != coll {
				return invalid("a name ending @%s names a token whose every scope is on %s, and %s is not", coll, coll, sc)
			}
		}
	}
	return nil
}

// Create stores a new token named name (a random name if empty) and
// returns the token's secret, which is not kept and cannot be shown again.
func (s *Store) Create(ctx context.Context, name string, scopes []Scope) (tok Token, secret string, err error) {
	if name == "" {
		name = RandomName()
	}
	if err := checkName(name, scopes); err != nil {
		return Token{}, "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", err
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tok = Token{Name: name, Scopes: scopes, Created: s.now().UTC().Truncate(time.Second), hash: sha256.Sum256([]byte(secret))}
	err = s.db.Put(ctx, s.table, encode(tok), store.Cond{Absent: true})
	if errors.Is(err, store.ErrConflict) {
		return Token{}, "", fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("tokens: create: %w", err)
	}
	return tok, secret, nil
}

// Revoke deletes the token named name.
func (s *Store) Revoke(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	err := s.db.Delete(ctx, s.table, attr.Item{"name": attr.S(name)}, store.Cond{Attr: "name", Equals: attr.S(name)})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return err
}

// List returns every token, sorted by name.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	var out []Token
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, s.table, cursor, 0)
		if err != nil {
			return nil, fmt.Errorf("tokens: list: %w", err)
		}
		for _, it := range page.Items {
			t, err := decode(it)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Set is a snapshot of the stored tokens, for checking presented ones.
type Set struct{ tokens []Token }

// NewSet returns a Set of ts.
func NewSet(ts []Token) *Set { return &Set{tokens: slices.Clone(ts)} }

// Without returns a Set of the tokens in s but the one named name.
func (s *Set) Without(name string) *Set {
	return &Set{tokens: slices.DeleteFunc(slices.Clone(s.tokens), func(t Token) bool { return t.Name == name })}
}

// Len is the number of tokens in the set.
func (s *Set) Len() int { return len(s.tokens) }

// Verify returns the token whose secret is presented. It hashes the
// presented value and compares that hash with every stored hash in
// constant time, without stopping at a match, so the time taken says
// nothing about which token (if any) matched.
func (s *Set) Verify(presented string) (Token, bool) {
	if len(presented) != tokenLen || !strings.HasPrefix(presented, prefix) {
		return Token{}, false
	}
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(h[:], s.tokens[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, false
	}
	return s.tokens[found], true
}

func encode(t Token) attr.Item {
	scopes := make([]string, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = s.String()
	}
	return attr.Item{
		"name":    attr.S(t.Name),
		"sha256":  attr.B(t.hash[:]),
		"scopes":  attr.SS(scopes),
		"created": attr.S(t.Created.Format(time.RFC3339)),
	}
}

func decode(it attr.Item) (Token, error) {
	name, _ := it["name"].(attr.S)
	hash, _ := it["sha256"].(attr.B)
	scopes, _ := it["scopes"].(attr.SS)
	created, _ := it["created"].(attr.S)
	if len(hash) != sha256.Size {
		return Token{}, fmt.Errorf("tokens: stored token %q is malformed", name)
	}
	t := Token{Name: string(name)}
	copy(t.hash[:], hash)
	ss, err := ParseScopes(strings.Join(scopes, ","))
	if err != nil {
		return Token{}, fmt.Errorf("tokens: stored token %q: %w", name, err)
	}
	t.Scopes = ss
	t.Created, _ = time.Parse(time.RFC3339, string(created))
	return t, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
