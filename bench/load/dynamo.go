package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// runDynamo compares, on the emulators, sealstore on DynamoDB + KMS with
// the DynamoDB emulator's own rate (the same PutItem / GetItem of a
// record of the same size, sent straight from the AWS SDK with the same
// concurrency) and with the reference app run beside it.
func (h *harness) runDynamo(o options, tmp string) (report, error) {
	rep := h.newReport("dynamodb")
	b, raw, err := emulators()
	if err != nil {
		return rep, err
	}
	rawTable := store.Table{Name: "raw", PartitionKey: "id"}
	if err := dynamo.New(raw, b.TablePrefix).CreateTable(context.Background(), rawTable); err != nil {
		return rep, err
	}
	h.emu = append(findProcs("dynalite-server.js"), findProcs("/local-kms")...)
	emu := &target{name: "emulator", procs: func() []int { return findProcs("dynalite-server.js") }, stop: func() {}}
	ss, err := h.startSealstore(o, "sealstore-dynamodb", filepath.Join(tmp, "data"), b)
	if err != nil {
		return rep, err
	}
	defer ss.stop()
	ref, err := startReference(o.refApp, filepath.Join(tmp, "reference"), b, raw)
	if err != nil {
		return rep, err
	}
	sides := []side{{t: emu, gen: goGen{}, spec: spec{Kind: kindDynamo, Endpoint: b.DynamoDBEndpoint, Region: b.Region,
		Table: b.TablePrefix + rawTable.Name, IDs: o.ids, Size: o.size, Conns: o.conns}}, h.httpSide(ss, o.ids)}
	if ref.skipReason == "" {
		defer h.track(ref).stop()
		sides = append(sides, h.httpSide(ref, o.refIDs))
	} else {
		rep.Skipped["reference"] = ref.skipReason
		printSkip(ref)
	}
	for _, sd := range sides {
		if err := h.seed(sd); err != nil {
			return rep, err
		}
	}
	for r := 1; r <= o.rounds; r++ {
		goals, err := h.dynamoRound(r, sides, ref.skipReason, &rep)
		if err != nil {
			return rep, err
		}
		printGoals(r, goals)
		rep.Goals = append(rep.Goals, goals)
	}
	return rep, nil
}

func (h *harness) dynamoRound(r int, sides []side, refSkipped string, rep *report) ([]goal, error) {
	w, err := h.compare(r, "write", sides)
	if err != nil {
		return nil, err
	}
	rd, err := h.compare(r, "read", sides)
	if err != nil {
		return nil, err
	}
	bases := []string{"emulator", "reference"}
	printTable(os.Stdout, "### reads: GET /items/{id} (emulator: GetItem, consistent)", rd, bases, true)
	printTable(os.Stdout, "### writes: POST /items/ (emulator: PutItem)", w, bases, true)
	rep.Comparisons = append(rep.Comparisons, toJSON(rd), toJSON(w))
	goals := []goal{
		ratioGoal("reads ≥ 60% of the emulator's GetItem", rd, "sealstore-dynamodb", "emulator", 0.60),
		ratioGoal("writes ≥ 60% of the emulator's PutItem", w, "sealstore-dynamodb", "emulator", 0.60),
		ratioGoal("reads ≥ 20× the reference app", rd, "sealstore-dynamodb", "reference", 20),
		ratioGoal("writes ≥ 20× the reference app", w, "sealstore-dynamodb", "reference", 20),
	}
	if refSkipped != "" {
		goals[2].Skipped, goals[3].Skipped = refSkipped, refSkipped
	}
	return goals, nil
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
