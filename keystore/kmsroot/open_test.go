package kmsroot

import (
	"strings"
	"testing"
)

// TestOpen: Open builds a Root for a key ARN with the observer wired, and
// holds an endpoint from the AWS environment to the loopback-only rule for
// http://.
func TestOpen(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	arn := "arn:aws:kms:us-east-1:111122223333:key/f5a13670-b8c7-45fd-97e8-44c16135cf01"
	var seen []string
	r, err := Open(t.Context(), Config{Region: "us-east-1", Endpoint: "http://127.0.0.1:1", KeyARN: arn,
		Observe: func(op string, _ error) { seen = append(seen, op) }})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != arn {
		t.Fatalf("ID = %q", r.ID())
	}
	// Nothing listens on port 1: an outage, observed once.
	if _, err := r.NewKey(t.Context(), map[string]string{"k": "v"}); err == nil {
		t.Fatal("NewKey against a closed port: no error")
	}
	if len(seen) != 1 || seen[0] != OpGenerateDataKeyWithoutPlaintext {
		t.Fatalf("observer saw %v", seen)
	}
	if _, err := Open(t.Context(), Config{Region: "us-east-1", KeyARN: "alias/x"}); err == nil {
		t.Fatal("Open with an alias: accepted")
	}
	t.Setenv("AWS_ENDPOINT_URL_KMS", "http://10.9.8.7:4599")
	_, err = Open(t.Context(), Config{Region: "us-east-1", KeyARN: arn})
	if err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_KMS") {
		t.Fatalf("Open with AWS_ENDPOINT_URL_KMS=http://10.9.8.7:4599: %v; want refused", err)
	}
}
