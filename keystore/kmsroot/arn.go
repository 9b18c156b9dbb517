package kmsroot

import (
	"fmt"
	"strings"
)

// maxARNLen is the longest key identifier KMS accepts.
const maxARNLen = 2048

// checkKeyARN accepts only a full KMS key ARN,
// arn:<partition>:kms:<region>:<account>:key/<id>.
func checkKeyARN(s string) error {
	const want = "give the key's full ARN, arn:<partition>:kms:<region>:<account>:key/<id>: the key store records it (kms-arn) for other SDKs to use"
	switch {
	case s == "":
		return fmt.Errorf("kmsroot: no KMS key ARN; %s", want)
	case len(s) > maxARNLen:
		return fmt.Errorf("kmsroot: KMS key ARN is longer than %d bytes", maxARNLen)
	case strings.HasPrefix(s, "alias/"):
		return fmt.Errorf("kmsroot: %q is an alias name, not a key ARN; %s", s, want)
	case !strings.HasPrefix(s, "arn:"):
		return fmt.Errorf("kmsroot: %q is not an ARN (a bare key id?); %s", s, want)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[2] != "kms" {
		return fmt.Errorf("kmsroot: %q is not a KMS key ARN; %s", s, want)
	}
	if parts[1] == "" || parts[3] == "" || parts[4] == "" {
		return fmt.Errorf("kmsroot: %q has an empty partition, region or account; %s", s, want)
	}
	typ, id, _ := strings.Cut(parts[5], "/")
	switch {
	case typ == "alias":
		return fmt.Errorf("kmsroot: %q is an alias ARN, not a key ARN; %s", s, want)
	case typ != "key" || id == "" || strings.Contains(id, "/"):
		return fmt.Errorf("kmsroot: %q does not name a key (key/<id>); %s", s, want)
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("kmsroot: %q holds a space, control or non-ASCII byte", s)
		}
	}
	return nil
}
