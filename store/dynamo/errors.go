package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/store"
)

// fail maps a DynamoDB error to the store contract's errors (nil stays
// nil). The text names the operation, the table and DynamoDB's error code;
// DynamoDB's message is dropped, as a validation message may quote a value.
func (s *Store) fail(t store.Table, op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		cond     *types.ConditionalCheckFailedException
		notFound *types.ResourceNotFoundException
		api      smithy.APIError
	)
	switch {
	case errors.As(err, &cond):
		return store.ErrConflict
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("dynamo: %s %s: %w", op, s.TableName(t), context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("dynamo: %s %s: %w: %w", op, s.TableName(t), store.ErrUnavailable, context.DeadlineExceeded)
	case errors.As(err, &notFound):
		return fmt.Errorf("dynamo: %s: %w: table %s does not exist (run 'sealstore init')", op, store.ErrUnavailable, s.TableName(t))
	case errors.As(err, &api):
		code := api.ErrorCode()
		if api.ErrorFault() == smithy.FaultServer || retryable(err) {
			return fmt.Errorf("dynamo: %s %s: %w: %s", op, s.TableName(t), store.ErrUnavailable, code)
		}
		if code == "ValidationException" && op == "PutItem" && isSizeError(api) {
			return store.ErrTooLarge
		}
		return fmt.Errorf("dynamo: %s %s refused: %s", op, s.TableName(t), code)
	}
	// No answer from DynamoDB: a network failure, or retries exhausted.
	return fmt.Errorf("dynamo: %s %s: %w: %w", op, s.TableName(t), store.ErrUnavailable, transportError(err))
}

// retryable reports whether the SDK's standard retryer counts err as
// throttling or transient (its retries are then used up).
func retryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
}

// isSizeError reports DynamoDB's refusal of an item over its size limit
// (the only ValidationException whose message we read, never copy).
func isSizeError(api smithy.APIError) bool {
	const msg = "Item size has exceeded the maximum allowed size"
	m := api.ErrorMessage()
	return len(m) >= len(msg) && m[:len(msg)] == msg
}

// transportError keeps the innermost cause of a failure to reach
// DynamoDB (connection refused, timeout), which quotes no item values.
func transportError(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
