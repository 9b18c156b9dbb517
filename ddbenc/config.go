package ddbenc

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// Config is the client's configuration: one TableConfig per DynamoDB
// table whose items it encrypts (the DB-ESDK's table encryption configs).
type Config struct {
	// Tables maps physical DynamoDB table names to their configuration.
	Tables map[string]TableConfig
	// RequireTableConfig refuses every request on a table that has no
	// entry in Tables (and every PartiQL statement), instead of passing it
	// through untouched.
	RequireTableConfig bool
}

// TableConfig is how the items of one table are encrypted and signed: the
// DB-ESDK's DynamoDB table encryption config.
type TableConfig struct {
	// LogicalTableName is bound into every item, so that a table restored
	// from backup under another name still decrypts; empty means the
	// physical table name. No two tables may share one.
	LogicalTableName string
	// PartitionKey and SortKey (optional) name the table's key attributes.
	PartitionKey string
	SortKey      string
	// Actions maps attribute names to the four DB-ESDK crypto actions. The
	// key attributes must be SIGN_ONLY, or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
	// when any attribute is.
	Actions map[string]item.Action
	// AllowedUnsigned and AllowedUnsignedPrefix name the attributes outside
	// the signature: DO_NOTHING ones, and the only ones UpdateItem may
	// touch. Every attribute of an item written must be in Actions or
	// allowed unsigned.
	AllowedUnsigned       []string
	AllowedUnsignedPrefix string
	// Suite writes new items; zero means 0x6700 (no ECDSA signature).
	// Reads accept both suites.
	Suite materials.SuiteID
	// Keyring wraps and unwraps data keys: a hierarchy.Keyring over a
	// branch key store, a rawaes.Keyring, an awskms.Keyring, or any other
	// materials.Keyring.
	Keyring materials.Keyring
	// Plaintext allows plaintext items (a migration from a plaintext
	// table); the zero value forbids them.
	Plaintext PlaintextPolicy
	// Search configures searchable encryption (standard beacons). It may
	// not be set with a Plaintext policy other than the default.
	Search *Search
}

// Search is the searchable encryption config of a table: one beacon key
// and the standard beacons computed with it (the DB-ESDK's single key
// store beacon version 1).
type Search struct {
	// Key is the beacon key. With a branch key store it is the store's
	// beacon key for a branch key id (keystore.Store.BeaconKey), the
	// one the official SDKs use for that id.
	Key beacon.Key
	// Beacons are the standard beacons, at least one.
	Beacons []StandardBeacon
}

// StandardBeacon is a standard beacon over one ENCRYPT_AND_SIGN attribute
// of the same name: a Length-bit truncated HMAC of its value, stored as
// aws_dbe_b_<Name>, that equality conditions on Name are translated to.
type StandardBeacon struct {
	Name   string
	Length int // bits, 1 to 63; see beacon.AdviseLength
}

// PlaintextPolicy says whether a table's items may be plaintext: items
// without aws_dbe_head and aws_dbe_foot. The three DB-ESDK policies let a
// plaintext table become encrypted with no downtime.
type PlaintextPolicy int

// The DB-ESDK plaintext policies.
const (
	// ForbidPlaintextWriteForbidPlaintextRead, the default, encrypts
	// every write and refuses every plaintext item read (item.ErrDecrypt).
	ForbidPlaintextWriteForbidPlaintextRead PlaintextPolicy = iota
	// ForbidPlaintextWriteAllowPlaintextRead encrypts every write and
	// returns plaintext items read as they are. Anyone who can write to the
	// table can then plant an unauthenticated item.
	ForbidPlaintextWriteAllowPlaintextRead
	// ForcePlaintextWriteAllowPlaintextRead writes plaintext (no beacons)
	// and reads both plaintext and encrypted items.
	ForcePlaintextWriteAllowPlaintextRead
)

var policyNames = []string{
	"FORBID_PLAINTEXT_WRITE_FORBID_PLAINTEXT_READ",
	"FORBID_PLAINTEXT_WRITE_ALLOW_PLAINTEXT_READ",
	"FORCE_PLAINTEXT_WRITE_ALLOW_PLAINTEXT_READ",
}

// String returns the DB-ESDK name of the policy.
func (p PlaintextPolicy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("PlaintextPolicy(%d)", int(p))
}

// ParsePlaintextPolicy parses a DB-ESDK plaintext policy name.
func ParsePlaintextPolicy(s string) (PlaintextPolicy, error) {
	if i := slices.Index(policyNames, s); i >= 0 {
		return PlaintextPolicy(i), nil
	}
	return 0, fmt.Errorf("ddbenc: unknown plaintext policy %q", s)
}

func (p PlaintextPolicy) writesPlaintext() bool { return p == ForcePlaintextWriteAllowPlaintextRead }
func (p PlaintextPolicy) readsPlaintext() bool  { return p != ForbidPlaintextWriteForbidPlaintextRead }

// ErrConfig is wrapped by every configuration error (and item.ErrConfig
// by those of the item engine).
var ErrConfig = errors.New("ddbenc: invalid configuration")

// validTableName is DynamoDB's rule for a table name.
var validTableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// Validate checks every table's config against the DB-ESDK rules.
func (c Config) Validate() error {
	_, err := c.build()
	return err
}

// build validates c and returns the tables it configures.
func (c Config) build() (map[string]*table, error) {
	tables := make(map[string]*table, len(c.Tables))
	logical := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(c.Tables)) {
		t, err := newTable(name, c.Tables[name])
		if err != nil {
			return nil, err
		}
		if other, ok := logical[t.logical]; ok {
			return nil, fmt.Errorf("%w: tables %q and %q share the logical table name %q; it must be one to one", ErrConfig, other, name, t.logical)
		}
		logical[t.logical] = name
		tables[name] = t
	}
	return tables, nil
}

func configErr(table, format string, args ...any) error {
	return fmt.Errorf("%w: table %q: "+format, append([]any{ErrConfig, table}, args...)...)
}

// itemConfig is the engine's configuration of table name.
func (tc TableConfig) itemConfig(name string) item.Config {
	logical := tc.LogicalTableName
	if logical == "" {
		logical = name
	}
	return item.Config{
		TableName: logical, PartitionKey: tc.PartitionKey, SortKey: tc.SortKey,
		Actions: tc.Actions, AllowedUnsigned: tc.AllowedUnsigned, AllowedUnsignedPrefix: tc.AllowedUnsignedPrefix,
		Suite: tc.Suite, Keyring: tc.Keyring,
	}
}

// checkSearch applies search-config.md's rules to tc.Search and returns
// the beacons by attribute name.
func (tc TableConfig) checkSearch(name string) (map[string]beacon.Standard, error) {
	s := tc.Search
	if s == nil {
		return nil, nil
	}
	if tc.Plaintext != ForbidPlaintextWriteForbidPlaintextRead {
		return nil, configErr(name, "a plaintext policy (%v) and searchable encryption cannot be configured together", tc.Plaintext)
	}
	if len(s.Beacons) == 0 {
		return nil, configErr(name, "searchable encryption needs at least one standard beacon")
	}
	out := make(map[string]beacon.Standard, len(s.Beacons))
	for _, b := range s.Beacons {
		if _, dup := out[b.Name]; dup {
			return nil, configErr(name, "two standard beacons are named %q", b.Name)
		}
		if tc.Actions[b.Name] != item.EncryptAndSign {
			return nil, configErr(name, "standard beacon %q must be on an ENCRYPT_AND_SIGN attribute of that name", b.Name)
		}
		st, err := s.Key.Standard(b.Name, b.Length)
		if err != nil {
			return nil, configErr(name, "standard beacon %q: %v", b.Name, err)
		}
		out[b.Name] = st
	}
	return out, nil
}
