// Package ddbenc is an encrypting DynamoDB client for the AWS SDK for Go
// v2, in the manner of the AWS Database Encryption SDK for DynamoDB
// (DB-ESDK) clients (Java's DynamoDbEncryptionInterceptor, Rust's
// interceptor): items written through it are encrypted and signed in the
// DB-ESDK item format (package item), per table, and items read are
// verified and decrypted, so the official SDKs and this one read each
// other's tables.
//
// # A wrapper, not middleware
//
// Client has the method signatures of *dynamodb.Client for the operations
// it covers, and wraps any value with those methods (API). AWS's Go beta
// instead adds middleware to dynamodb.Options, which keeps the
// *dynamodb.Client type; we chose the wrapper because it is simpler to make
// correct and to test: every request and response is a typed Go value
// handled in one method, with no middleware ordering, no type switch over
// untyped parameters, and a fake API for tests. It also meets the
// specification's rule that an operation it does not cover "MUST NOT be
// callable" at compile time: the methods Client lacks (the control plane:
// CreateTable, DescribeTable, ...; they carry no items) are called on the
// *dynamodb.Client itself. Paginators work: dynamodb.NewQueryPaginator and
// NewScanPaginator take a Client.
//
// # What it does
//
//   - PutItem, BatchWriteItem (its PutRequests) and TransactWriteItems (its
//     Puts) encrypt and sign the item and add its standard beacons; an item
//     that cannot be encrypted stops the whole request before anything is
//     sent. BatchWriteItem returns UnprocessedItems as the caller's own
//     plaintext requests, ready to be sent again.
//   - GetItem, BatchGetItem, TransactGetItems, Query and Scan verify and
//     decrypt every item read, and whole items returned by PutItem,
//     DeleteItem and UpdateItem (ReturnValues ALL_OLD, ALL_NEW). If one
//     item fails, the call fails with an error matching item.ErrDecrypt,
//     whose text never says why (item.Reason gives a code for metrics)
//     and never holds plaintext. Every aws_dbe_ attribute is removed from
//     what is returned.
//   - Query and Scan translate "searchable = :v" and "searchable IN (...)"
//     in the key condition and filter expressions into conditions on the
//     beacon attributes, then drop the items that matched only by a beacon
//     collision, so only exact matches are returned (see Query).
//   - Tables without a TableConfig pass through untouched, unless
//     Config.RequireTableConfig is set.
//
// # What it refuses
//
// Refusals wrap ErrRefused, name the operation, the table and the rule,
// and happen before anything is sent:
//
//   - a condition expression naming an encrypted attribute (the server
//     sees only ciphertext);
//   - an update expression naming an attribute inside the signature (any
//     attribute that is not allowed unsigned): the item would no longer
//     verify;
//   - ProjectionExpression, AttributesToGet and Select SPECIFIC_ATTRIBUTES:
//     a partial item cannot be verified;
//   - in Query and Scan, any other use of an encrypted attribute: other
//     operators, NOT, an OR mixing searchable and other attributes, a
//     value placeholder used for two purposes, Select COUNT over beacons,
//     beacon partitions (:aws_dbe_partition);
//   - the legacy parameters (Expected, AttributeUpdates, ConditionalOperator,
//     KeyConditions, QueryFilter, ScanFilter);
//   - PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction)
//     naming an encrypted table, and all PartiQL under RequireTableConfig;
//   - a request on a table without a config under RequireTableConfig;
//   - items with attributes named aws_dbe_* (reserved), as item.ErrInvalidItem.
//
// # Plaintext migration
//
// TableConfig.Plaintext moves a plaintext table to encryption in steps
// with no downtime: deploy ForcePlaintextWriteAllowPlaintextRead
// everywhere (nothing changes, but every client can read encrypted
// items); then ForbidPlaintextWriteAllowPlaintextRead (new writes are
// encrypted; old items still read); rewrite the old items; then the
// default, ForbidPlaintextWriteForbidPlaintextRead, which refuses
// plaintext items again. A plaintext item is one with neither aws_dbe_head
// nor aws_dbe_foot.
//
// Not implemented: legacy DynamoDB Encryption Client items, compound,
// virtual, partitioned and set beacons, multi-tenant beacon key stores.
package ddbenc
