package ddbenc_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
)

func TestPartiQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		statement string
		refused   bool
	}{
		{`SELECT * FROM "customers" WHERE id = ?`, true},
		{`select * from customers`, true},
		{`INSERT INTO customers VALUE {'id': 'x'}`, true},
		{`UPDATE "customers" SET u_note = 'x' WHERE id = 'a'`, true},
		{`DELETE FROM "customers"."by_email" WHERE id = 'a'`, true},
		{`SELECT * FROM "arn:aws:dynamodb:us-east-1:111122223333:table/customers"`, true},
		{`SELECT * FROM "cust""omers"`, false},
		{`SELECT * FROM "open" WHERE note = 'customers'`, false},
		{`SELECT * FROM open WHERE note = 'it''s customers'`, false},
		{`SELECT * FROM "open`, true}, // unreadable: refused, not guessed
	} {
		f := newFixture(t)
		ctx := t.Context()
		calls := map[string]func() error{
			"ExecuteStatement": func() error {
				_, err := f.client.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(tc.statement)})
				return err
			},
			"BatchExecuteStatement": func() error {
				_, err := f.client.BatchExecuteStatement(ctx, &dynamodb.BatchExecuteStatementInput{Statements: []types.BatchStatementRequest{
					{Statement: aws.String(`SELECT * FROM open`)}, {Statement: aws.String(tc.statement)}}})
				return err
			},
			"ExecuteTransaction": func() error {
				_, err := f.client.ExecuteTransaction(ctx, &dynamodb.ExecuteTransactionInput{TransactStatements: []types.ParameterizedStatement{
					{Statement: aws.String(tc.statement)}}})
				return err
			},
		}
		for op, call := range calls {
			before := f.db.callCount()
			err := call()
			switch {
			case tc.refused:
				mustRefuse(t, f.db, before, err, op)
			case err != nil:
				t.Errorf("%s %q: %v", op, tc.statement, err)
			case f.db.callCount() != before+1:
				t.Errorf("%s %q was not sent", op, tc.statement)
			}
		}
	}
}

// TestPartiQLUnderRequire checks that no PartiQL passes when every table
// must have a config.
func TestPartiQLUnderRequire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *ddbenc.Config) { c.RequireTableConfig = true })
	_, err := f.client.ExecuteStatement(t.Context(), &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM open`)})
	mustRefuse(t, f.db, 0, err, "PartiQL cannot be encrypted")
}
