package dynamo_test

import (
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/awsconf"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// throttler answers DynamoDB's JSON protocol: the first n calls are
// throttled, the rest succeed with an empty PutItem result.
func throttler(t *testing.T, n int64) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		status, body := http.StatusOK, `{}`
		if calls.Add(1) <= n {
			status, body = http.StatusBadRequest, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func openAt(t *testing.T, url string) *dynamo.Store {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	s, err := dynamo.Open(t.Context(), dynamo.Config{Region: "us-east-1", Endpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestThrottlingIsRetried: throttling is retried with back-off (the SDK's
// standard retryer, as internal/awsconf configures it) and, once the
// attempts are used up, is an outage (503), not an internal error.
func TestThrottlingIsRetried(t *testing.T) {
	tbl := store.Table{Name: "t", PartitionKey: "id"}
	it := attr.Item{"id": attr.S("a")}

	srv, calls := throttler(t, awsconf.MaxAttempts-1)
	if err := openAt(t, srv.URL).Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatalf("Put throttled %d times, then accepted: %v", awsconf.MaxAttempts-1, err)
	}
	if got := calls.Load(); got != awsconf.MaxAttempts {
		t.Fatalf("%d requests; want %d (every throttled one retried)", got, awsconf.MaxAttempts)
	}

	srv, calls = throttler(t, 1000)
	err := openAt(t, srv.URL).Put(t.Context(), tbl, it, store.Cond{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put throttled on every attempt: %v; want store.ErrUnavailable", err)
	}
	if got := calls.Load(); got != awsconf.MaxAttempts {
		t.Fatalf("%d requests; want %d attempts", got, awsconf.MaxAttempts)
	}
}
