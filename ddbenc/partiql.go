package ddbenc

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ExecuteStatement passes a PartiQL statement through only if it names no
// encrypted table: the client cannot encrypt, sign or verify what PartiQL
// reads and writes.
func (c *Client) ExecuteStatement(ctx context.Context, in *dynamodb.ExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ExecuteStatementOutput, error) {
	if in == nil {
		in = &dynamodb.ExecuteStatementInput{}
	}
	if err := c.checkStatement("ExecuteStatement", in.Statement); err != nil {
		return nil, err
	}
	return c.api.ExecuteStatement(ctx, in, optFns...)
}

// BatchExecuteStatement passes the statements through only if none names
// an encrypted table.
func (c *Client) BatchExecuteStatement(ctx context.Context, in *dynamodb.BatchExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchExecuteStatementOutput, error) {
	if in == nil {
		in = &dynamodb.BatchExecuteStatementInput{}
	}
	for _, st := range in.Statements {
		if err := c.checkStatement("BatchExecuteStatement", st.Statement); err != nil {
			return nil, err
		}
	}
	return c.api.BatchExecuteStatement(ctx, in, optFns...)
}

// ExecuteTransaction passes the statements through only if none names an
// encrypted table.
func (c *Client) ExecuteTransaction(ctx context.Context, in *dynamodb.ExecuteTransactionInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ExecuteTransactionOutput, error) {
	if in == nil {
		in = &dynamodb.ExecuteTransactionInput{}
	}
	for _, st := range in.TransactStatements {
		if err := c.checkStatement("ExecuteTransaction", st.Statement); err != nil {
			return nil, err
		}
	}
	return c.api.ExecuteTransaction(ctx, in, optFns...)
}

// checkStatement refuses a statement if the client requires a config for
// every table (a PartiQL statement can never be encrypted), or if any
// identifier in it, quoted or not, is an encrypted table's name or ARN.
// Matching every identifier, not only the one after FROM, INTO or UPDATE,
// may refuse a statement that merely names an attribute like a table; it
// never lets one through that names an encrypted table.
func (c *Client) checkStatement(op string, statement *string) error {
	if c.require {
		return refused(op, "PartiQL cannot be encrypted, and the client requires an encryption config for every table")
	}
	if statement == nil || len(c.tables) == 0 {
		return nil
	}
	ids, err := identifiers(*statement)
	if err != nil {
		return refused(op, "cannot read the PartiQL statement (%v), so cannot tell which tables it names", err)
	}
	for _, id := range ids {
		name, ok := tableNameOf(id)
		if ok && c.tables[name] != nil {
			return refused(op, "the statement names encrypted table %q: PartiQL is not supported on encrypted tables; use PutItem, GetItem, Query and the others", name)
		}
	}
	return nil
}

// identifiers returns the double-quoted identifiers of a PartiQL statement
// and its bare words, each also split at dots; string literals and their
// content are skipped.
func identifiers(s string) ([]string, error) {
	var ids []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			body, n, ok := quoted(s[i:], c)
			if !ok {
				return nil, errors.New("unterminated quote")
			}
			if c == '"' {
				ids = append(ids, body)
			}
			i += n
		case isWordChar(c):
			j := i
			for j < len(s) && isWordChar(s[j]) {
				j++
			}
			ids = append(ids, s[i:j])
			ids = append(ids, strings.Split(s[i:j], ".")...)
			i = j
		default:
			i++
		}
	}
	return ids, nil
}

// quoted reads a literal opened by q at s[0], in which a doubled q stands
// for one; it returns the content and the length read.
func quoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != q {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// isWordChar is a character of a bare identifier or table name.
func isWordChar(c byte) bool {
	return c == '_' || c == '.' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
