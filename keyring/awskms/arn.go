package awskms

import (
	"errors"
	"fmt"
	"strings"
)

// maxIdentifierLen is the longest key identifier KMS accepts.
const maxIdentifierLen = 2048

// arn is a parsed AWS KMS ARN (aws-kms-key-arn.md): exactly six
// colon-separated parts, service "kms", a resource "key/<id>" or
// "alias/<name>" split at the first "/".
type arn struct {
	partition, region, account string
	resourceType, resourceID   string
}

func parseARN(s string) (arn, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" {
		return arn{}, errors.New("not an ARN")
	}
	if parts[1] == "" || parts[3] == "" || parts[4] == "" {
		return arn{}, errors.New("ARN has an empty partition, region or account")
	}
	if parts[2] != "kms" {
		return arn{}, errors.New("not an AWS KMS ARN")
	}
	typ, id, err := parseResource(parts[5])
	if err != nil {
		return arn{}, err
	}
	return arn{partition: parts[1], region: parts[3], account: parts[4], resourceType: typ, resourceID: id}, nil
}

func parseResource(s string) (typ, id string, err error) {
	typ, id, ok := strings.Cut(s, "/")
	if !ok || id == "" || (typ != "key" && typ != "alias") {
		return "", "", errors.New("resource is not key/<id> or alias/<name>")
	}
	return typ, id, nil
}

// parseKeyARN parses an ARN naming a KMS key (not an alias), as KMS returns
// in responses and the keyring stores in provider info.
func parseKeyARN(s string) (arn, error) {
	a, err := parseARN(s)
	if err == nil && a.resourceType != "key" {
		err = errors.New("ARN names an alias, not a key")
	}
	return a, err
}

// checkIdentifier accepts what aws-kms-key-arn.md calls a valid AWS KMS
// identifier: a KMS ARN, "alias/<name>", or a bare key id.
func checkIdentifier(s string) error {
	switch {
	case s == "":
		return errors.New("awskms: key identifier is empty")
	case len(s) > maxIdentifierLen:
		return fmt.Errorf("awskms: key identifier is longer than %d bytes", maxIdentifierLen)
	case !isASCII(s):
		return errors.New("awskms: key identifier is not ASCII")
	}
	var err error
	switch typ, _, _ := strings.Cut(s, "/"); {
	case strings.HasPrefix(s, "arn:"):
		_, err = parseARN(s)
	case typ == "key":
		err = errors.New("raw identifier must not start with key/")
	case strings.Contains(s, "/"):
		_, _, err = parseResource(s)
	}
	if err != nil {
		return fmt.Errorf("awskms: invalid key identifier %q: %w", s, err)
	}
	return nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isMRK reports whether a is a multi-Region key ARN.
func (a arn) isMRK() bool { return a.resourceType == "key" && strings.HasPrefix(a.resourceID, "mrk-") }

// mrkMatch is AWS KMS MRK Match for Decrypt (aws-kms-mrk-match-for-decrypt.md):
// identical identifiers match; otherwise both must be multi-Region key ARNs
// equal in everything but the region.
func mrkMatch(configured, stored string) bool {
	if configured == stored {
		return true
	}
	c, err1 := parseARN(configured)
	s, err2 := parseARN(stored)
	if err1 != nil || err2 != nil || !c.isMRK() || !s.isMRK() {
		return false
	}
	c.region, s.region = "", ""
	return c == s
}

// exactMatch is the plain AWS KMS keyring's filter: the provider info must
// equal the configured identifier.
func exactMatch(configured, stored string) bool { return configured == stored }
