package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// referenceRate is the seed's FastAPI app with 2 workers on the same
// emulators, as DESIGN.md measured it (93–133 req/s; it cannot run here:
// no PyPI). The target is 15 times its best.
const referenceRate = 133

// runDynamo compares sealstore on DynamoDB + KMS (emulators) with the
// DynamoDB emulator's own rate: the same PutItem/GetItem of a record of
// the same size, sent straight from the SDK, with the same concurrency.
func runDynamo(duration time.Duration, conns, size, rounds int, inProcess bool) error {
	if !inProcess {
		return errors.New("-dynamodb runs in one process: the emulators are the other processes")
	}
	b, raw, err := emulators()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sealstore-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rawTable := store.Table{Name: "raw", PartitionKey: "id"}
	if err := dynamo.New(raw, b.TablePrefix).CreateTable(context.Background(), rawTable); err != nil {
		return err
	}
	dir := filepath.Join(tmp, "data")
	url, token, stop, err := serveSealstore(dir, b)
	if err != nil {
		return err
	}
	defer stop()
	client, err := newClient(filepath.Join(dir, "tls-cert.pem"), 64)
	if err != nil {
		return err
	}
	ss := &target{url: url, token: token, client: client}
	fmt.Printf("machine: %d CPUs, %s; %d connections, %d-byte secrets, %s per workload; DynamoDB %s, KMS %s\n",
		runtime.NumCPU(), runtime.Version(), conns, size, duration, b.DynamoDBEndpoint, b.KMSEndpoint)
	for r := 1; r <= rounds; r++ {
		if err := roundDynamo(r, raw, b.TablePrefix+rawTable.Name, ss, duration, conns, size); err != nil {
			return err
		}
	}
	fmt.Printf("\nmemory of this process (sealstore and clients): %s\n", rss(0))
	return nil
}

func roundDynamo(r int, raw *dynamodb.Client, table string, ss *target, duration time.Duration, conns, size int) error {
	fmt.Printf("\nround %d\n", r)
	secret := strings.Repeat("s", size)
	value := []byte(secret)
	var rawSeq atomic.Int64
	rawPut := workload{"DynamoDB PutItem", func(int, int) error {
		n := rawSeq.Add(1)
		_, err := raw.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("r%d-%d", r, n)}, "v": &types.AttributeValueMemberB{Value: value},
		}})
		return err
	}}
	rawGet := workload{"DynamoDB GetItem", func(w, i int) error {
		n := 1 + (int64(w)*7919+int64(i)*104729)%max(rawSeq.Load(), 1)
		out, err := raw.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("r%d-%d", r, n)}}})
		if err == nil && out.Item == nil {
			err = errors.New("not found")
		}
		return err
	}}
	body := func(id string) []byte { return []byte(fmt.Sprintf(`{"id":%q,"secret":%q}`, id, secret)) }
	var seq, written atomic.Int64
	sPost, sGet := sealstoreWork(ss, r, conns, body, &seq, &written)
	slices := max(int(duration/time.Second), 2)
	rw, sw, wRatio := compare(rawPut, sPost, slices, conns, time.Second)
	rr, sr, rRatio := compare(rawGet, sGet, slices, conns, time.Second)
	for _, res := range []result{rr, sr, rw, sw} {
		fmt.Println(res)
	}
	fmt.Printf("reads:  %.0f%% of the emulator's GetItem rate (median of %d paired 1 s slices; target >= 50%%); %.1fx the reference's %d req/s (target >= 15x)\n",
		100*rRatio, slices, sr.rate()/referenceRate, referenceRate)
	fmt.Printf("writes: %.0f%% of the emulator's PutItem rate (median of %d paired 1 s slices; target >= 50%%); %.1fx the reference's %d req/s (target >= 15x)\n",
		100*wRatio, slices, sw.rate()/referenceRate, referenceRate)
	if rr.errors+rw.errors+sr.errors+sw.errors > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

// emulators returns the DynamoDB + KMS backend that scripts/emulators/start
// describes in SEALSTORE_TEST_*, with fresh tables, and a raw client.
func emulators() (server.Backend, *dynamodb.Client, error) {
	get := func(name string) string { return os.Getenv("SEALSTORE_TEST_" + name) }
	b := server.Backend{
		Kind: server.KindDynamoDB, Region: get("REGION"), DynamoDBEndpoint: get("DYNAMODB_ENDPOINT"),
		KMSEndpoint: get("KMS_ENDPOINT"), KMSKeyID: get("KMS_KEY_ARN"),
	}
	if b.Region == "" || b.DynamoDBEndpoint == "" || b.KMSEndpoint == "" || b.KMSKeyID == "" {
		return b, nil, errors.New("-dynamodb needs the emulators: run it as scripts/emulators/start go run ./bench/load -dynamodb (inside a network namespace, see that script)")
	}
	var p [4]byte
	_, _ = rand.Read(p[:])
	b.TablePrefix = "bench" + hex.EncodeToString(p[:]) + "_"
	creds := credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")
	raw := dynamodb.NewFromConfig(aws.Config{Region: b.Region, Credentials: creds}, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(b.DynamoDBEndpoint)
	})
	return b, raw, nil
}
