package emutest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/internal/emutest"
)

// TestDynamoDBSurvivesClientAborts: clients that go away in the middle of a
// request, as a load generator does when it closes its connections at the
// end of a phase, leave the DynamoDB emulator running with its tables.
// dynalite 4.0.0 rethrows the aborted request's error and exits, after
// which every request fails; scripts/emulators/dynalite-server.js logs the
// abort and carries on.
func TestDynamoDBSurvivesClientAborts(t *testing.T) {
	env := emutest.DynamoDB(t)
	u, err := url.Parse(env.DynamoDBEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(aws.Config{
		Region:      env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, ""),
		// One attempt: an emulator that stopped is an error, not a retry.
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(env.DynamoDBEndpoint) })

	table := emutest.Prefix(t) + "aborts"
	if _, err := db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}

	// Half the requests end with a reset, half with the client's FIN; the
	// last one is a FIN, whose handling the client waits for (see
	// abortRequest), so the calls below come after the emulator has dealt
	// with every abort.
	const aborts = 6
	for i := range aborts {
		abortRequest(t, u.Host, table, i, i%2 == 0)
	}

	out, err := db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable after %d aborted requests: %v (did the emulator stop? scripts/emulators/start prints the end of its log)", aborts, err)
	}
	if got := aws.ToString(out.Table.TableName); got != table {
		t.Fatalf("DescribeTable answered for table %q, want %q", got, table)
	}
	list, err := db.ListTables(t.Context(), &dynamodb.ListTablesInput{ExclusiveStartTableName: aws.String(strings.TrimSuffix(table, "aborts"))})
	if err != nil {
		t.Fatalf("ListTables after %d aborted requests: %v", aborts, err)
	}
	if !slices.Contains(list.TableNames, table) {
		t.Fatalf("ListTables lists %q, not the table %q made before the aborts: the emulator lost its state", list.TableNames, table)
	}
}

// abortRequest sends the headers of a PutItem with "Expect: 100-continue"
// and, once the emulator has answered "100 Continue", half of the body it
// announced; then it goes: with a reset if reset is set, else with a FIN,
// after which it reads until the emulator closes its side of the
// connection. Node's HTTP server writes "100 Continue" and hands the
// request to dynalite in one turn of its event loop, so the request is
// under way, with dynalite's handlers on it, before the client leaves.
func abortRequest(t *testing.T, addr, table string, i int, reset bool) {
	t.Helper()
	how := "FIN"
	if reset {
		how = "reset"
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("aborted request %d (%s): %s (did the emulator stop? scripts/emulators/start prints the end of its log)", i, how, fmt.Sprintf(format, args...))
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fail("%v", err)
	}
	conn := c.(*net.TCPConn)
	defer conn.Close()

	body := fmt.Sprintf(`{"TableName":%q,"Item":{"id":{"S":"aborted-%d"},"v":{"S":%q}}}`, table, i, strings.Repeat("x", 8192))
	head := "POST / HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Content-Type: application/x-amz-json-1.0\r\n" +
		"X-Amz-Target: DynamoDB_20120810.PutItem\r\n" +
		"X-Amz-Date: 20260101T000000Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"Expect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		fail("writing the headers: %v", err)
	}
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		fail("reading the interim response: %v", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 100 ") {
		fail("the emulator answered %q, want HTTP/1.1 100 Continue", status)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			fail("reading the interim response: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	if _, err := io.WriteString(conn, body[:len(body)/2]); err != nil {
		fail("writing half the body: %v", err)
	}

	if reset {
		if err := conn.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		return // the deferred Close sends the reset
	}
	if err := conn.CloseWrite(); err != nil {
		fail("closing the write side: %v", err)
	}
	// Whatever the emulator does with the abort (answer 400, or close, or
	// exit), it ends with its side closed: then it has handled the abort.
	// An error here (a reset) is such an end too.
	_, _ = io.Copy(io.Discard, r)
}
