package records

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/names"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// Attribute actions of a collection schema, and the DB-ESDK actions they
// stand for.
const (
	// ActionEncrypt (ENCRYPT_AND_SIGN) is the default of every attribute
	// a schema does not list.
	ActionEncrypt = "encrypt"
	// ActionSign (SIGN_ONLY) stores the value readable but authenticated.
	ActionSign = "sign"
	// ActionSignAndBind (SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT) also binds
	// the value into the encryption context.
	ActionSignAndBind = "sign-and-bind"
	// ActionPlain (DO_NOTHING) stores the value unprotected.
	ActionPlain = "plain"
)

// Algorithm suites a schema may name.
const (
	SuiteSymSig   = "0x6700" // AES-256-GCM, HKDF-SHA512, key commitment, HMAC-SHA384
	SuiteECDSA    = "0x6701" // the same plus an ECDSA P-384 signature
	maxAttrName   = 255
	maxAttrs      = 500
	maxSearchable = 20
)

var actionOf = map[string]item.Action{
	ActionEncrypt:     item.EncryptAndSign,
	ActionSign:        item.SignOnly,
	ActionSignAndBind: item.SignAndIncludeInEncryptionContext,
	ActionPlain:       item.DoNothing,
}

// Schema describes a collection: its key attributes, what protects each
// attribute, which attributes are searchable and the algorithm suite that
// writes new records.
type Schema struct {
	PartitionKey string `json:"partitionKey" doc:"Name of the partition key attribute (a string; the record id)." example:"id"`
	SortKey      string `json:"sortKey,omitempty" doc:"Name of the optional sort key attribute (a string)."`
	// Attributes maps attribute names to actions; unlisted attributes
	// are encrypted.
	Attributes map[string]string `json:"attributes,omitempty" doc:"Per attribute: encrypt (the default for any attribute not listed), sign (readable, tamper-evident), sign-and-bind (signed and bound into the encryption context), plain (unprotected). Key attributes are always signed: sign or sign-and-bind." example:"{\"email\":\"encrypt\",\"country\":\"sign\"}"`
	// Searchable maps encrypted attributes to their beacon length in bits.
	Searchable map[string]int `json:"searchable,omitempty" doc:"Encrypted string attributes that can be searched by equality, with their beacon length in bits (1-63). Shorter beacons leak less and return more false candidates, which the server filters out." example:"{\"email\":16}"`
	Suite      string         `json:"suite,omitempty" enum:"0x6700,0x6701" doc:"Algorithm suite for new records: 0x6700 (AES-256-GCM with HMAC-SHA384, the default) or 0x6701 (adds an ECDSA P-384 signature). Both are always readable."`
}

// actionFor returns the schema action of attribute name.
func (s Schema) actionFor(name string) string {
	if a, ok := s.Attributes[name]; ok {
		return a
	}
	if name == s.PartitionKey || name == s.SortKey {
		return ActionSign
	}
	return ActionEncrypt
}

func (s Schema) isKey(name string) bool {
	return name == s.PartitionKey || s.SortKey != "" && name == s.SortKey
}

// normalize fills defaults; it does not validate.
func (s Schema) normalize() Schema {
	if s.Suite == "" {
		s.Suite = SuiteSymSig
	}
	if len(s.Attributes) == 0 {
		s.Attributes = nil
	}
	if len(s.Searchable) == 0 {
		s.Searchable = nil
	}
	return s
}

// Validate checks a schema on its own.
func (s Schema) Validate() error {
	if err := checkAttrName("body.partitionKey", s.PartitionKey); err != nil {
		return err
	}
	if s.SortKey != "" {
		if err := checkAttrName("body.sortKey", s.SortKey); err != nil {
			return err
		}
		if s.SortKey == s.PartitionKey {
			return &InvalidError{Field: "body.sortKey", Reason: "must differ from the partition key"}
		}
	}
	if len(s.Attributes) > maxAttrs {
		return &InvalidError{Field: "body.attributes", Reason: fmt.Sprintf("may list at most %d attributes", maxAttrs)}
	}
	for _, name := range sortedKeys(s.Attributes) {
		field := "body.attributes." + name
		if err := checkAttrName(field, name); err != nil {
			return err
		}
		a := s.Attributes[name]
		if _, ok := actionOf[a]; !ok {
			return &InvalidError{Field: field, Reason: "must be encrypt, sign, sign-and-bind or plain"}
		}
		if s.isKey(name) && a != ActionSign && a != ActionSignAndBind {
			return &InvalidError{Field: field, Reason: "is a key attribute: it must be sign or sign-and-bind (keys are stored readable)"}
		}
	}
	if len(s.Searchable) > maxSearchable {
		return &InvalidError{Field: "body.searchable", Reason: fmt.Sprintf("may list at most %d attributes", maxSearchable)}
	}
	for _, name := range sortedKeys(s.Searchable) {
		field := "body.searchable." + name
		if err := checkAttrName(field, name); err != nil {
			return err
		}
		if !names.Valid(name) {
			return &InvalidError{Field: field, Reason: "a searchable attribute's name is 1 to 64 letters, digits, '_', '.' or '-'"}
		}
		if s.actionFor(name) != ActionEncrypt {
			return &InvalidError{Field: field, Reason: "only encrypted attributes are searchable (others can be read directly)"}
		}
		if n := s.Searchable[name]; n < beacon.MinLength || n > beacon.MaxLength {
			return &InvalidError{Field: field, Reason: "the beacon length must be 1 to 63 bits"}
		}
	}
	switch s.Suite {
	case "", SuiteSymSig, SuiteECDSA:
	default:
		return &InvalidError{Field: "body.suite", Reason: "must be 0x6700 or 0x6701"}
	}
	return nil
}

// checkAttrName checks an attribute name used in a schema.
func checkAttrName(field, name string) error {
	switch {
	case name == "":
		return &InvalidError{Field: field, Reason: "must not be empty"}
	case len(name) > maxAttrName:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be at most %d bytes", maxAttrName)}
	case !utf8.ValidString(name):
		return &InvalidError{Field: field, Reason: "must be valid UTF-8"}
	case strings.HasPrefix(name, item.ReservedPrefix):
		return &InvalidError{Field: field, Reason: "must not start with " + item.ReservedPrefix + " (reserved by the item format)"}
	}
	return nil
}

// ConflictError is a refused change: it says why.
type ConflictError struct{ Reason string }

func (e *ConflictError) Error() string { return "records: conflict: " + e.Reason }

// Is makes a *ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Fault returns Conflict and the reason.
func (e *ConflictError) Fault() (fault.Kind, string) { return fault.Conflict, e.Reason }

// checkChange refuses changes from old to s that would make stored records
// unreadable or unsearchable. Decryption takes which attributes were
// encrypted from each item's own header, so moving an attribute between
// encrypt, sign and sign-and-bind leaves stored records readable; what it
// cannot follow is an attribute becoming signed or unsigned (plain), or the
// key changing. empty reports whether the collection holds no record; only
// then are those changes, and new beacons, allowed.
func checkChange(old, s Schema, empty func() (bool, error)) error {
	if s.PartitionKey != old.PartitionKey || s.SortKey != old.SortKey {
		return &ConflictError{Reason: "the key attributes of a collection cannot change"}
	}
	var needEmpty []string
	names := map[string]bool{}
	for n := range old.Attributes {
		names[n] = true
	}
	for n := range s.Attributes {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		was, is := old.actionFor(n), s.actionFor(n)
		if (was == ActionPlain) != (is == ActionPlain) {
			needEmpty = append(needEmpty, fmt.Sprintf("attribute %q would change between signed and plain, and stored records would fail verification", n))
		}
		if is == ActionSignAndBind && was != ActionSignAndBind {
			needEmpty = append(needEmpty, fmt.Sprintf("attribute %q would become sign-and-bind, which every record must hold, and stored records may lack it", n))
		}
	}
	for _, n := range sortedKeys(s.Searchable) {
		if bits, ok := old.Searchable[n]; !ok {
			needEmpty = append(needEmpty, fmt.Sprintf("attribute %q would become searchable, but stored records have no beacon for it", n))
		} else if bits != s.Searchable[n] {
			needEmpty = append(needEmpty, fmt.Sprintf("the beacon length of %q would change, and stored records' beacons would no longer match", n))
		}
	}
	if len(needEmpty) == 0 {
		return nil
	}
	ok, err := empty()
	if err != nil {
		return err
	}
	if !ok {
		return &ConflictError{Reason: strings.Join(needEmpty, "; ") + " (allowed only while the collection is empty)"}
	}
	return nil
}

// itemConfig is the DB-ESDK table configuration of the schema for table.
// Key attributes are SIGN_ONLY, or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
// when any attribute is (the format requires it).
func (s Schema) itemConfig(table string, kr materials.Keyring) item.Config {
	cfg := item.Config{
		TableName:    table,
		PartitionKey: s.PartitionKey,
		SortKey:      s.SortKey,
		Actions:      map[string]item.Action{},
		Keyring:      kr,
	}
	if s.Suite == SuiteECDSA {
		cfg.Suite = materials.SuiteECDSA
	}
	bind := false
	for name, a := range s.Attributes {
		if a == ActionPlain {
			cfg.AllowedUnsigned = append(cfg.AllowedUnsigned, name)
		}
		cfg.Actions[name] = actionOf[a]
		bind = bind || a == ActionSignAndBind
	}
	slices.Sort(cfg.AllowedUnsigned)
	for _, k := range []string{s.PartitionKey, s.SortKey} {
		if k == "" {
			continue
		}
		cfg.Actions[k] = item.SignOnly
		if bind {
			cfg.Actions[k] = item.SignAndIncludeInEncryptionContext
		}
	}
	return cfg
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
