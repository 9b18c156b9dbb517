package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/store"
)

// pollInterval is how often CreateTable checks a table it waits for.
const pollInterval = 200 * time.Millisecond

// CreateTable implements store.Store: it creates t (on-demand billing) and
// its indexes, or adds the indexes an existing table lacks, and returns
// once the table and every index are ACTIVE (or ctx ends). An existing
// table with another key schema is an error.
func (s *Store) CreateTable(ctx context.Context, t store.Table) error {
	if err := t.Validate(); err != nil {
		return err
	}
	desc, err := s.describe(ctx, t)
	if err != nil {
		return err
	}
	if desc == nil {
		_, err := s.api.CreateTable(ctx, createInput(s.TableName(t), t))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: another process created it
			return s.fail(t, "CreateTable", err)
		}
		if desc, err = s.waitActive(ctx, t); err != nil {
			return err
		}
	}
	if err := checkSchema(t, desc); err != nil {
		return err
	}
	return s.addIndexes(ctx, t, desc)
}

// describe returns t's description, or nil if the table does not exist.
func (s *Store) describe(ctx context.Context, t store.Table) (*types.TableDescription, error) {
	out, err := s.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.TableName(t))})
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(t, "DescribeTable", err)
	}
	return out.Table, nil
}

// waitActive polls until t and all its indexes are ACTIVE.
func (s *Store) waitActive(ctx context.Context, t store.Table) (*types.TableDescription, error) {
	for {
		desc, err := s.describe(ctx, t)
		if err != nil {
			return nil, err
		}
		if desc != nil && active(desc) {
			return desc, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dynamo: waiting for table %s to become active: %w", s.TableName(t), ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func active(desc *types.TableDescription) bool {
	if desc.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range desc.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// addIndexes creates, one at a time as DynamoDB requires, the indexes of t
// the table lacks.
func (s *Store) addIndexes(ctx context.Context, t store.Table, desc *types.TableDescription) error {
	for _, ix := range t.Indexes {
		i := slices.IndexFunc(desc.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(g.IndexName) == ix.Name
		})
		if i >= 0 {
			g := desc.GlobalSecondaryIndexes[i]
			if len(g.KeySchema) != 1 || aws.ToString(g.KeySchema[0].AttributeName) != ix.Attr {
				return fmt.Errorf("dynamo: table %s: index %s exists over another attribute", s.TableName(t), ix.Name)
			}
			continue
		}
		_, err := s.api.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(s.TableName(t)),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(ix.Attr), AttributeType: types.ScalarAttributeTypeS}},
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{
				Create: &types.CreateGlobalSecondaryIndexAction{
					IndexName:  aws.String(ix.Name),
					KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(ix.Attr), KeyType: types.KeyTypeHash}},
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
				},
			}},
		})
		if err != nil {
			return s.fail(t, "UpdateTable", err)
		}
		if desc, err = s.waitActive(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// checkSchema fails if an existing table's key schema is not t's.
func checkSchema(t store.Table, desc *types.TableDescription) error {
	want := map[string]types.KeyType{t.PartitionKey: types.KeyTypeHash}
	if t.SortKey != "" {
		want[t.SortKey] = types.KeyTypeRange
	}
	ok := len(desc.KeySchema) == len(want)
	for _, k := range desc.KeySchema {
		ok = ok && want[aws.ToString(k.AttributeName)] == k.KeyType
	}
	defined := map[string]string{}
	for _, d := range desc.AttributeDefinitions {
		defined[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	ok = ok && defined[t.PartitionKey] == string(t.PartitionType.Type())
	if t.SortKey != "" {
		ok = ok && defined[t.SortKey] == string(t.SortType.Type())
	}
	if !ok {
		return fmt.Errorf("dynamo: table %s exists with another key schema", aws.ToString(desc.TableName))
	}
	return nil
}

// createInput describes t as a new on-demand table.
func createInput(name string, t store.Table) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(t.PartitionKey), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{
			AttributeName: aws.String(t.PartitionKey), AttributeType: types.ScalarAttributeType(t.PartitionType.Type()),
		}},
	}
	if t.SortKey != "" {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(t.SortKey), KeyType: types.KeyTypeRange})
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(t.SortKey), AttributeType: types.ScalarAttributeType(t.SortType.Type()),
		})
	}
	for _, ix := range t.Indexes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(ix.Attr), AttributeType: types.ScalarAttributeTypeS,
		})
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(ix.Attr), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return in
}

// CheckTable reports whether t exists with its key schema and indexes,
// all ACTIVE, without changing anything.
func (s *Store) CheckTable(ctx context.Context, t store.Table) error {
	if err := t.Validate(); err != nil {
		return err
	}
	desc, err := s.describe(ctx, t)
	if err != nil {
		return err
	}
	if desc == nil {
		return fmt.Errorf("dynamo: table %s does not exist: run 'sealstore init' with the same settings", s.TableName(t))
	}
	if err := checkSchema(t, desc); err != nil {
		return err
	}
	for _, ix := range t.Indexes {
		if !slices.ContainsFunc(desc.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(g.IndexName) == ix.Name && len(g.KeySchema) == 1 && aws.ToString(g.KeySchema[0].AttributeName) == ix.Attr
		}) {
			return fmt.Errorf("dynamo: table %s lacks index %s: run 'sealstore init' with the same settings", s.TableName(t), ix.Name)
		}
	}
	if !active(desc) {
		return fmt.Errorf("dynamo: table %s: %w: not active yet", s.TableName(t), store.ErrUnavailable)
	}
	return nil
}
