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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Retry and timeout settings. Four attempts with back-off capped at one
// second keep a throttled request inside a request's timeout; the SDK adds
// full jitter to every delay.
const (
	MaxAttempts  = 4
	MaxBackoff   = time.Second
	DialTimeout  = 2 * time.Second
	ReplyTimeout = 10 * time.Second
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
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = MaxIdleConns
			t.MaxIdleConnsPerHost = MaxIdleConns
			t.ResponseHeaderTimeout = ReplyTimeout
			t.TLSHandshakeTimeout = DialTimeout
		})
}
