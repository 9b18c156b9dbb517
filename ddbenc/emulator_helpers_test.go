package ddbenc_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/keyring/awskms"
	"github.com/sealstore/sealstore/keyring/awskms/kmssdk"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store/dynamo"
)

// emulator is dynalite and local-kms, with a random table prefix.
type emulator struct {
	env    emutest.Env
	ddb    *dynamodb.Client
	prefix string
}

func newEmulator(t testing.TB) *emulator {
	t.Helper()
	env := emutest.Both(t)
	cfg := aws.Config{
		Region:      env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, ""),
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(env.DynamoDBEndpoint) })
	return &emulator{env: env, ddb: ddb, prefix: emutest.Prefix(t)}
}

func (e *emulator) kms() *kms.Client {
	cfg := aws.Config{
		Region:      e.env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(e.env.AccessKeyID, e.env.SecretAccessKey, ""),
	}
	return kmsroot.NewClient(cfg, e.env.KMSEndpoint)
}

func emuContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// keyStore is a branch key store on dynalite whose keys local-kms wraps,
// as a library user would run one, with one branch key.
func (e *emulator) keyStore(t testing.TB) (*keystore.Store, string) {
	t.Helper()
	ctx := emuContext(t)
	root, err := kmsroot.New(e.kms(), e.env.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.New("ddbenc-test", e.prefix+"keys", dynamo.New(e.ddb, ""), root)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	id := keystore.NewID()
	if _, err := ks.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	return ks, id
}

// hierarchical returns the hierarchical keyring over a fresh key store
// and that branch key's beacon key.
func (e *emulator) hierarchical(t testing.TB) (materials.Keyring, beacon.Key) {
	t.Helper()
	ks, id := e.keyStore(t)
	kr, err := hierarchy.New(id, ks, hierarchy.NewCache(hierarchy.DefaultTTL, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ks.BeaconKey(emuContext(t), id)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := beacon.NewKey(raw.InsecureBytes())
	if err != nil {
		t.Fatal(err)
	}
	return kr, bk
}

// awsKMS returns the AWS KMS keyring on local-kms.
func (e *emulator) awsKMS(t testing.TB) materials.Keyring {
	t.Helper()
	c, err := kmssdk.New(e.kms())
	if err != nil {
		t.Fatal(err)
	}
	kr, err := awskms.New(e.env.KMSKeyARN, c)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// createTable makes a table keyed by pk (S) and, if sk is set, sk (N),
// with a global secondary index projecting every attribute on each of
// gsiKeys (S), and waits until it is active.
func (e *emulator) createTable(t testing.TB, name, pk, sk string, gsiKeys ...string) string {
	t.Helper()
	ctx := emuContext(t)
	full := e.prefix + name
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(full),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(pk), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash}},
	}
	if sk != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(sk), AttributeType: types.ScalarAttributeTypeN})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange})
	}
	for _, g := range gsiKeys {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(g), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String("by_" + g),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(g), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	if _, err := e.ddb.CreateTable(ctx, in); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(e.ddb, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(full)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	return full
}

// rawGet reads an item as stored, with the bare client.
func (e *emulator) rawGet(t testing.TB, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.ddb.GetItem(emuContext(t), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// rawPut stores an item as it is, with the bare client.
func (e *emulator) rawPut(t testing.TB, table string, it map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.ddb.PutItem(emuContext(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
		t.Fatal(err)
	}
}

// sameItem reports whether two SDK items are the same DynamoDB item:
// numbers compared normalized, sets as sets.
func sameItem(a, b map[string]types.AttributeValue) bool {
	x, err1 := ddbav.FromItem(a)
	y, err2 := ddbav.FromItem(b)
	return err1 == nil && err2 == nil && (a == nil) == (b == nil) && attr.Equal(attr.M(x), attr.M(y))
}

// show prints an SDK item as DynamoDB JSON, for failure messages.
func show(av map[string]types.AttributeValue) string {
	it, err := ddbav.FromItem(av)
	if err != nil {
		return err.Error()
	}
	j, err := attr.MarshalItemJSON(it)
	if err != nil {
		return err.Error()
	}
	return string(j)
}

func putInto(table string, it map[string]types.AttributeValue) *dynamodb.PutItemInput {
	return &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}
}
