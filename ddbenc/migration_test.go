package ddbenc_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/materials"
)

// migration is a plaintext table on dynalite being moved to encryption,
// with the items every step must still read.
type migration struct {
	t       *testing.T
	e       *emulator
	table   string
	kr      materials.Keyring
	want    map[string]map[string]types.AttributeValue // id → plaintext
	clients map[ddbenc.PlaintextPolicy]*ddbenc.Client
}

func (m *migration) client(p ddbenc.PlaintextPolicy) *ddbenc.Client {
	if c := m.clients[p]; c != nil {
		return c
	}
	tc := customersConfig(m.t, m.kr)
	tc.Search, tc.Plaintext = nil, p
	c, err := ddbenc.New(m.e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{m.table: tc}})
	if err != nil {
		m.t.Fatal(err)
	}
	m.clients[p] = c
	return c
}

// write puts n new items through c (half with PutItem, half in one
// BatchWriteItem), and returns their ids.
func (m *migration) write(c *ddbenc.Client, prefix string, n int) []string {
	ctx := emuContext(m.t)
	var ids []string
	var batch []types.WriteRequest
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		it := customer(id, id+"@example.com")
		m.want[id], ids = it, append(ids, id)
		if i%2 == 0 {
			if _, err := c.PutItem(ctx, putInto(m.table, it)); err != nil {
				m.t.Fatal(err)
			}
			continue
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	if _, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{m.table: batch}}); err != nil {
		m.t.Fatal(err)
	}
	return ids
}

// readsAll checks that c reads every item, one by one and by a paginated
// Scan, with no item lost or changed.
func (m *migration) readsAll(step string, c *ddbenc.Client) {
	m.t.Helper()
	ctx := emuContext(m.t)
	for id, want := range m.want {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(m.table), Key: key(id), ConsistentRead: aws.Bool(true)})
		if err != nil || !sameItem(out.Item, want) {
			m.t.Fatalf("%s: item %s: %v, %v", step, id, show(out.Item), err)
		}
	}
	seen := 0
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(m.table), Limit: aws.Int32(4), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			m.t.Fatalf("%s: Scan: %v", step, err)
		}
		for _, it := range page.Items {
			id := it["id"].(*types.AttributeValueMemberS).Value
			if !sameItem(it, m.want[id]) {
				m.t.Fatalf("%s: Scan returned %s", step, show(it))
			}
			seen++
		}
	}
	if seen != len(m.want) {
		m.t.Fatalf("%s: Scan returned %d items, want %d", step, seen, len(m.want))
	}
}

// encrypted reports whether the item is stored encrypted.
func (m *migration) encrypted(id string) bool {
	_, ok := m.e.rawGet(m.t, m.table, key(id))["aws_dbe_head"]
	return ok
}

// TestEmulatorPlaintextMigration moves a plaintext table to encryption in
// the DB-ESDK's three steps, with clients of two steps running side by
// side at each rollout, and checks that no item is ever lost or
// unreadable, and that the last step refuses plaintext again.
func TestEmulatorPlaintextMigration(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	m := &migration{t: t, e: e, table: e.createTable(t, "migrating", "id", ""), kr: rawKeyring(t),
		want: map[string]map[string]types.AttributeValue{}, clients: map[ddbenc.PlaintextPolicy]*ddbenc.Client{}}
	for i := range 6 { // step 0: the table as the plaintext application left it
		id := fmt.Sprintf("legacy-%d", i)
		m.want[id] = customer(id, id+"@example.com")
		e.rawPut(t, m.table, m.want[id])
	}

	step1 := m.client(ddbenc.ForcePlaintextWriteAllowPlaintextRead)
	for _, id := range m.write(step1, "step1", 4) {
		if m.encrypted(id) {
			t.Fatalf("step 1 wrote %s encrypted", id)
		}
	}
	m.readsAll("step 1", step1)

	step2 := m.client(ddbenc.ForbidPlaintextWriteAllowPlaintextRead)
	for _, id := range m.write(step2, "step2", 4) {
		if !m.encrypted(id) {
			t.Fatalf("step 2 wrote %s in plaintext", id)
		}
	}
	m.write(step1, "step1-late", 2) // a step-1 client still running during the rollout
	m.readsAll("rollout of step 2, old clients", step1)
	m.readsAll("rollout of step 2, new clients", step2)

	m.rewrite(step2) // every client is at step 2: re-encrypt what is left
	for id := range m.want {
		if !m.encrypted(id) {
			t.Fatalf("after the rewrite, %s is still plaintext", id)
		}
	}
	step3 := m.client(ddbenc.ForbidPlaintextWriteForbidPlaintextRead)
	m.write(step3, "step3", 2)
	m.readsAll("rollout of step 3, old clients", step2)
	m.readsAll("step 3", step3)

	planted := customer("planted", "x@example.com")
	e.rawPut(t, m.table, planted)
	_, err := step3.GetItem(emuContext(t), &dynamodb.GetItemInput{TableName: aws.String(m.table), Key: key("planted"), ConsistentRead: aws.Bool(true)})
	mustBeOpaque(t, err)
	_, err = step3.Scan(emuContext(t), &dynamodb.ScanInput{TableName: aws.String(m.table)})
	mustBeOpaque(t, err)
}

// rewrite reads every item through c and writes it back, which encrypts
// the plaintext ones.
func (m *migration) rewrite(c *ddbenc.Client) {
	ctx := emuContext(m.t)
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(m.table), Limit: aws.Int32(5), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			m.t.Fatal(err)
		}
		for _, it := range page.Items {
			if _, err := c.PutItem(ctx, putInto(m.table, it)); err != nil {
				m.t.Fatal(err)
			}
		}
	}
}
