package item

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sealstore/sealstore/materials"
)

// Action is a crypto action configured for one attribute.
type Action int

// The DB-ESDK crypto actions.
const (
	EncryptAndSign Action = iota + 1
	SignOnly
	SignAndIncludeInEncryptionContext
	DoNothing
)

var actionNames = map[Action]string{
	EncryptAndSign:                    "ENCRYPT_AND_SIGN",
	SignOnly:                          "SIGN_ONLY",
	SignAndIncludeInEncryptionContext: "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
	DoNothing:                         "DO_NOTHING",
}

// String returns the DB-ESDK name of the action.
func (a Action) String() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// ParseAction parses a DB-ESDK action name (CONTEXT_AND_SIGN is accepted
// as an alias, as the test vectors do).
func ParseAction(s string) (Action, error) {
	if s == "CONTEXT_AND_SIGN" {
		return SignAndIncludeInEncryptionContext, nil
	}
	for a, n := range actionNames {
		if n == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("item: unknown attribute action %q", s)
}

// Reserved attribute names and prefixes of the DB-ESDK.
const (
	HeaderAttr     = "aws_dbe_head"
	FooterAttr     = "aws_dbe_foot"
	ReservedPrefix = "aws_dbe_"
	// BeaconPrefix starts the names of beacon attributes. Like every
	// aws_dbe_ attribute but the header and footer they are outside the
	// signature (the SDK adds them after encryption), and Decrypt drops
	// them from its output, as the SDK's RemoveBeacons does: a caller that
	// needs them reads them from the stored item.
	BeaconPrefix = "aws_dbe_b_"
)

// Config is the table encryption configuration of one logical table.
type Config struct {
	// TableName is the logical table name bound into every item.
	TableName    string
	PartitionKey string
	SortKey      string // optional
	// Actions maps attribute names to crypto actions.
	Actions map[string]Action
	// AllowedUnsigned and AllowedUnsignedPrefix name the attributes that
	// may be DO_NOTHING (and that decryption does not authenticate).
	AllowedUnsigned       []string
	AllowedUnsignedPrefix string
	// Suite writes new items; zero means SuiteSymSig (0x6700), sealstore's
	// default. Decryption reads both suites whatever this says.
	Suite   materials.SuiteID
	Keyring materials.Keyring
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("item: invalid configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// Validate checks the rules of the DB-ESDK table encryption config.
func (c *Config) Validate() error {
	if c.TableName == "" || c.PartitionKey == "" {
		return configErr("table name and partition key name are required")
	}
	if c.Keyring == nil {
		return configErr("a keyring is required")
	}
	if _, err := materials.SuiteByID(c.suiteID()); err != nil {
		return configErr("%v", err)
	}
	for _, k := range []string{c.PartitionKey, c.SortKey} {
		if err := c.checkKeyAction(k); err != nil {
			return err
		}
	}
	for name, a := range c.Actions {
		if err := c.checkAction(name, a); err != nil {
			return err
		}
	}
	return nil
}

// clone returns a copy of c that shares no map or slice with it, so a
// caller changing its Config after New cannot bypass Validate or race with
// encryption.
func (c Config) clone() Config {
	c.Actions = maps.Clone(c.Actions)
	c.AllowedUnsigned = slices.Clone(c.AllowedUnsigned)
	return c
}

func (c *Config) suiteID() materials.SuiteID {
	if c.Suite == 0 {
		return materials.SuiteSymSig
	}
	return c.Suite
}

func (c *Config) checkKeyAction(name string) error {
	if name == "" {
		return nil
	}
	a, ok := c.Actions[name]
	if !ok {
		return configErr("key attribute %q has no action", name)
	}
	if a != SignOnly && a != SignAndIncludeInEncryptionContext {
		return configErr("key attribute %q must be SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not %v", name, a)
	}
	if c.usesContext() && a != SignAndIncludeInEncryptionContext {
		return configErr("key attribute %q must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT when any attribute is", name)
	}
	return nil
}

func (c *Config) checkAction(name string, a Action) error {
	if _, ok := actionNames[a]; !ok {
		return configErr("attribute %q has an unknown action", name)
	}
	if name == "" || strings.HasPrefix(name, ReservedPrefix) {
		return configErr("attribute name %q is empty or uses the reserved prefix %q", name, ReservedPrefix)
	}
	unsigned := c.allowedUnsigned(name)
	if a == DoNothing && !unsigned {
		return configErr("DO_NOTHING attribute %q must be an allowed unsigned attribute", name)
	}
	if a != DoNothing && unsigned {
		return configErr("signed attribute %q must not be an allowed unsigned attribute", name)
	}
	return nil
}

func (c *Config) usesContext() bool {
	for _, a := range c.Actions {
		if a == SignAndIncludeInEncryptionContext {
			return true
		}
	}
	return false
}

func (c *Config) allowedUnsigned(name string) bool {
	if c.AllowedUnsignedPrefix != "" && strings.HasPrefix(name, c.AllowedUnsignedPrefix) {
		return true
	}
	return slices.Contains(c.AllowedUnsigned, name)
}
