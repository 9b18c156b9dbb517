// Package awsconf loads the AWS SDK configuration that sealstore's AWS
// adapters (store/dynamo, keystore/kmsroot) share: the SDK's default
// credentials chain, a region, a retryer with jittered exponential back-off
// for throttling and transient failures, and HTTP timeouts short enough
// that an unreachable service becomes a quick "unavailable" rather than a
// hung request.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Retry and timeout settings. The SDK adds full jitter to every back-off.
// Each attempt is bounded (connect, TLS, headers, and the whole exchange),
// so even a service that accepts connections and then stalls costs at most
// MaxAttempts × AttemptTimeout plus back-off (≈ 23 s), inside the API's
// 30 s request timeout, which bounds the whole call in any case.
const (
	MaxAttempts    = 4
	MaxBackoff     = time.Second
	DialTimeout    = 2 * time.Second
	ReplyTimeout   = 5 * time.Second
	AttemptTimeout = 5 * time.Second
	// MaxIdleConns per host: enough for every concurrent request of a busy
	// server to reuse its connection.
	MaxIdleConns = 128
)

// Load returns the shared SDK configuration for region (empty: the
// region from the environment or shared config files, which must then
// name one).
func Load(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = MaxBackoff
			})
		}),
		config.WithHTTPClient(httpClient()),
		// The SDK's own log lines are plain text outside sealstore's JSON
		// log; errors reach the log through the callers instead.
		config.WithLogger(logging.Nop{}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("aws configuration: no region: set --region or AWS_REGION")
	}
	return cfg, nil
}

func httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(AttemptTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = MaxIdleConns
			t.MaxIdleConnsPerHost = MaxIdleConns
			t.ResponseHeaderTimeout = ReplyTimeout
			t.TLSHandshakeTimeout = DialTimeout
		})
}

// CheckEndpoint accepts an empty endpoint (the SDK's default), an https://
// URL, or an http:// URL whose host is a loopback address: requests signed
// for AWS, and the records and wrapped keys they carry, never cross a
// network in clear.
func CheckEndpoint(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("not an endpoint URL such as https://dynamodb.eu-west-1.amazonaws.com or http://127.0.0.1:8000")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("plain http:// is allowed only to a loopback address (127.0.0.1, ::1, localhost); use https://")
	}
	return errors.New("the scheme must be https:// (or http:// to a loopback address)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckResolved applies CheckEndpoint to the endpoint a client will use,
// which the SDK may also take from AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>
// or a shared config file's endpoint_url, not only from sealstore's flags.
func CheckResolved(service string, endpoint *string) error {
	if endpoint == nil {
		return nil
	}
	if err := CheckEndpoint(*endpoint); err != nil {
		return fmt.Errorf("%s endpoint (from the flags or the AWS environment, e.g. AWS_ENDPOINT_URL_%s): %w",
			service, strings.ToUpper(service), err)
	}
	return nil
}
