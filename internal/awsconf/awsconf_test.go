package awsconf

import (
	"strings"
	"testing"
)

func TestCheckEndpoint(t *testing.T) {
	ok := []string{
		"", "https://dynamodb.eu-west-1.amazonaws.com", "https://10.0.0.1:8443", "HTTPS://kms.example.com/",
		"http://127.0.0.1:8000", "http://127.8.9.10", "http://[::1]:4599", "http://localhost:8000", "http://LocalHost",
	}
	for _, e := range ok {
		if err := CheckEndpoint(e); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v; want accepted", e, err)
		}
	}
	bad := []string{
		"http://10.1.2.3:8000", "http://dynamodb.eu-west-1.amazonaws.com", "http://127.0.0.1.nip.io",
		"http://localhost.example.com", "http://0.0.0.0:8000", "http://[::]:8000", "http://[::ffff:10.0.0.1]",
		"http://[fe80::1]", "ftp://127.0.0.1", "127.0.0.1:8000", "//127.0.0.1", "https://user:pw@example.com",
		"https://example.com/path", "https://example.com/?q=1", "https://example.com/#f", "not a url",
	}
	for _, e := range bad {
		err := CheckEndpoint(e)
		if err == nil {
			t.Errorf("CheckEndpoint(%q) accepted", e)
			continue
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("CheckEndpoint(%q) echoes the password: %v", e, err)
		}
	}
}

// TestEndpointFromEnvironment: the SDK also takes endpoints from
// AWS_ENDPOINT_URL_*; CheckResolved holds them to the same policy and names
// where they may come from.
func TestCheckResolved(t *testing.T) {
	if err := CheckResolved("dynamodb", nil); err != nil {
		t.Fatalf("no endpoint: %v", err)
	}
	ep := "http://10.9.8.7:8000"
	err := CheckResolved("dynamodb", &ep)
	if err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_DYNAMODB") {
		t.Fatalf("CheckResolved(%s) = %v; want a refusal naming AWS_ENDPOINT_URL_DYNAMODB", ep, err)
	}
}

func TestLoadNeedsRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")
	if _, err := Load(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "--region") {
		t.Fatalf("Load without a region: %v; want an error naming --region", err)
	}
	cfg, err := Load(t.Context(), "eu-west-3")
	if err != nil || cfg.Region != "eu-west-3" {
		t.Fatalf("Load(eu-west-3) = %q, %v", cfg.Region, err)
	}
	if got := cfg.Retryer().MaxAttempts(); got != MaxAttempts {
		t.Errorf("retryer allows %d attempts; want %d", got, MaxAttempts)
	}
}
