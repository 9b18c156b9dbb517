package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
)

// Outcome of one case.
type Outcome int

// Outcomes.
const (
	Passed Outcome = iota
	Failed
	Skipped
)

// Result is the outcome of one case and, unless it passed, why.
type Result struct {
	Case    string
	Outcome Outcome
	Reason  string
}

// Run runs every case with keys and returns one result per case.
func Run(ctx context.Context, keys *Keys, cases []Case) []Result {
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		out = append(out, runCase(ctx, keys, c))
	}
	return out
}

func runCase(ctx context.Context, keys *Keys, c Case) Result {
	enc, err := c.encryptor(keys)
	if errors.Is(err, errSkip) {
		return Result{c.Name, Skipped, err.Error()}
	}
	if err != nil {
		return Result{c.Name, Failed, "config: " + err.Error()}
	}
	got, err := enc.Decrypt(ctx, c.Encrypted)
	switch {
	case !c.Positive && err == nil:
		return Result{c.Name, Failed, "negative test decrypted"}
	case !c.Positive:
		return Result{c.Name, Passed, ""}
	case err != nil:
		return Result{c.Name, Failed, fmt.Sprintf("decrypt: %v (reason %s: %v)", err, item.Reason(err), item.Cause(err))}
	}
	if diff := diffItems(c.Plaintext, got); diff != "" {
		return Result{c.Name, Failed, diff}
	}
	return Result{c.Name, Passed, ""}
}

func (c Case) encryptor(keys *Keys) (*item.Encryptor, error) {
	cfg, err := c.config.itemConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Keyring, err = keys.keyring(c.config.Key); err != nil {
		return nil, err
	}
	return item.New(cfg)
}

// diffItems names the first attribute where got differs from want, after
// DynamoDB normalization (numbers normalized, sets compared as sets).
func diffItems(want, got attr.Item) string {
	names := slices.Sorted(maps.Keys(want))
	for _, n := range names {
		g, ok := got[n]
		if !ok {
			return fmt.Sprintf("attribute %q missing from decrypted item", n)
		}
		if !attr.Equal(want[n], g) {
			return fmt.Sprintf("attribute %q differs from the expected plaintext", n)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			return fmt.Sprintf("unexpected attribute %q in decrypted item", n)
		}
	}
	return ""
}
