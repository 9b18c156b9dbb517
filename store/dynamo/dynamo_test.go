package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/faultproxy"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
	"github.com/sealstore/sealstore/store/storetest"
)

// client returns a DynamoDB client for endpoint with the emulator's
// credentials and the shared retry settings.
func client(env emutest.Env, endpoint string) *dynamodb.Client {
	cfg := aws.Config{
		Region:      env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, ""),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// open returns a Store on the test dynalite whose tables no other test
// sees.
func open(t *testing.T) *dynamo.Store {
	env := emutest.DynamoDB(t)
	return dynamo.New(client(env, env.DynamoDBEndpoint), emutest.Prefix(t))
}

// TestConformance runs the shared storage suite against DynamoDB (dynalite),
// exactly as store/bolt runs it.
func TestConformance(t *testing.T) {
	const noAddIndex = "dynalite 4.0.0 does not implement UpdateTable's GlobalSecondaryIndexUpdates.Create (actions/updateTable.js only updates throughput); real DynamoDB does"
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) },
		storetest.Skip{Test: "AddIndex", Reason: noAddIndex},
		storetest.Skip{Test: "AddIndexSkipsBadValues", Reason: noAddIndex})
}

// TestOpen builds a store the way the server does: the SDK's default
// credentials chain and an endpoint.
func TestOpen(t *testing.T) {
	env := emutest.DynamoDB(t)
	t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	s, err := dynamo.Open(t.Context(), dynamo.Config{Region: env.Region, Endpoint: env.DynamoDBEndpoint, TablePrefix: emutest.Prefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := store.Table{Name: "open", PartitionKey: "id"}
	if err := s.CreateTable(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	it := attr.Item{"id": attr.S("a"), "v": attr.B{1, 2, 3}}
	if err := s.Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), tbl, it)
	if err != nil || !bytes.Equal(got["v"].(attr.B), []byte{1, 2, 3}) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	for _, bad := range []string{"has space", "slash/", strings.Repeat("p", 201)} {
		if _, err := dynamo.Open(t.Context(), dynamo.Config{Region: env.Region, TablePrefix: bad}); err == nil {
			t.Errorf("Open accepted table prefix %q", bad)
		}
	}
}

// TestMissingTable: an operation on a table that was never created is an
// outage that names the fix, not a 'not found'.
func TestMissingTable(t *testing.T) {
	s := open(t)
	tbl := store.Table{Name: "never", PartitionKey: "id"}
	_, err := s.Get(t.Context(), tbl, attr.Item{"id": attr.S("x")})
	if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "sealstore init") {
		t.Fatalf("Get on a missing table: %v", err)
	}
}

// TestUnreachable: with DynamoDB cut off every operation is
// store.ErrUnavailable, promptly, and the same Store works again once it is
// back, without being reopened.
func TestUnreachable(t *testing.T) {
	env := emutest.DynamoDB(t)
	proxy, err := faultproxy.New(strings.TrimPrefix(env.DynamoDBEndpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	s := dynamo.New(client(env, proxy.URL()), emutest.Prefix(t))
	tbl := store.Table{Name: "cut", PartitionKey: "id"}
	if err := s.CreateTable(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	it := attr.Item{"id": attr.S("a"), "v": attr.S("before")}
	if err := s.Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	ctx := t.Context()
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, tbl, it)
	checks["Put"] = s.Put(ctx, tbl, attr.Item{"id": attr.S("a"), "v": attr.S("during")}, store.Cond{})
	checks["Delete"] = s.Delete(ctx, tbl, it, store.Cond{})
	_, checks["Scan"] = s.Scan(ctx, tbl, nil, 0)
	for op, err := range checks {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with DynamoDB down: %v, want store.ErrUnavailable", op, err)
		}
	}
	proxy.Up()
	got, err := s.Get(ctx, tbl, it)
	if err != nil || !attr.Equal(got["v"], attr.S("before")) {
		t.Fatalf("Get after DynamoDB is back: %v, %v (want the item as written before the outage)", got, err)
	}
}

// TestCursorGarbage: a cursor this store did not make is an error, never a
// request with an attacker's start key.
func TestCursorGarbage(t *testing.T) {
	s := open(t)
	tbl := store.Table{Name: "cur", PartitionKey: "id", Indexes: []store.Index{{Name: "by_v", Attr: "v"}}}
	if err := s.CreateTable(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	other, _ := attr.MarshalTyped(attr.M{"id": attr.S("x"), "extra": attr.S("y")})
	wrongType, _ := attr.MarshalTyped(attr.M{"id": attr.N("1")})
	notMap, _ := attr.MarshalTyped(attr.S("x"))
	for name, c := range map[string][]byte{"garbage": []byte("\xff\x00garbage"), "extra attribute": other, "wrong type": wrongType, "not a map": notMap, "empty": {}} {
		if _, err := s.Scan(t.Context(), tbl, c, 0); err == nil {
			t.Errorf("Scan with a %s cursor: no error", name)
		}
		if _, err := s.Query(t.Context(), tbl, "by_v", "x", c, 0); err == nil {
			t.Errorf("Query with a %s cursor: no error", name)
		}
	}
}

// TestTooLargeNotSent: an item over the limit is refused before any
// request is made.
func TestTooLargeNotSent(t *testing.T) {
	calls := 0
	s := dynamo.New(countingAPI{&calls}, "x")
	big := attr.Item{"id": attr.S("a"), "v": attr.B(make([]byte, store.MaxItemSize))}
	if err := s.Put(context.Background(), store.Table{Name: "t", PartitionKey: "id"}, big, store.Cond{}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Put of a too-large item: %v", err)
	}
	if calls != 0 {
		t.Fatalf("%d requests sent for a too-large item", calls)
	}
}

// countingAPI counts calls and fails each one.
type countingAPI struct{ n *int }

func (c countingAPI) fail() error {
	*c.n++
	return &net.OpError{Op: "dial", Err: errors.New("refused")}
}
func (c countingAPI) CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, c.fail()
}
func (c countingAPI) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, c.fail()
}

// TestOpenRefusesEnvironmentEndpoint: an http:// endpoint to a non-loopback
// address from the AWS environment (which the SDK honours) is refused like
// the same flag.
func TestOpenRefusesEnvironmentEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://10.9.8.7:8000")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	_, err := dynamo.Open(t.Context(), dynamo.Config{Region: "us-east-1"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Open with AWS_ENDPOINT_URL_DYNAMODB=http://10.9.8.7:8000: %v; want refused", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://10.9.8.7:8000")
	if _, err := dynamo.Open(t.Context(), dynamo.Config{Region: "us-east-1"}); err == nil {
		t.Fatal("Open with AWS_ENDPOINT_URL=http://10.9.8.7:8000: accepted")
	}
}
