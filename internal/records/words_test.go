package records_test

import (
	"errors"
	"testing"

	"github.com/sealstore/sealstore/internal/records"
)

// The shred receipt's line and the retire refusal say "1 version", "1
// record is … it", never "1 records are … them".
func TestMessagesAgreeWithCounts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		r    records.ShredReceipt
		want string
	}{
		{records.ShredReceipt{BranchKeyID: "bk", Versions: 1, Items: 1}, "destroyed branch key bk: 1 version and its beacon key; 1 record made unreadable"},
		{records.ShredReceipt{BranchKeyID: "bk", Versions: 2, Items: 0}, "destroyed branch key bk: 2 versions and its beacon key; 0 records made unreadable"},
	} {
		if got := c.r.Detail(); got != c.want {
			t.Errorf("Detail() = %q; want %q", got, c.want)
		}
	}
	for n, want := range map[int]string{
		1: "1 record is still under key version 1, below 2: rewrap it first (sealstore keys rewrap), or force to make it unreadable",
		2: "2 records are still under key version 1, below 2: rewrap them first (sealstore keys rewrap), or force to make them unreadable",
	} {
		v := newRotated(t, n)
		two := 2
		_, err := v.svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{MinDecryptableVersion: &two})
		var conflict *records.ConflictError
		if !errors.As(err, &conflict) || conflict.Reason != want {
			t.Errorf("retire with %d records under version 1: %v; want %q", n, err, want)
		}
	}
}
