package records

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// A background job (a rewrap, an import) is one row per collection of
// its table, written under a lease: each save replaces the lease, and
// only the runner holding the current one may save.

// putLeased writes a job row of table (the job as JSON, a new lease and a
// heartbeat) if the stored row still holds prev ("": no row yet), and
// returns the new lease and the heartbeat's time. ErrConflict: another
// runner took the job.
func (s *Service) putLeased(ctx context.Context, table store.Table, coll string, job []byte, prev string) (string, time.Time, error) {
	now := s.now()
	lease := newRev()
	it := attr.Item{
		"collection": attr.S(coll),
		"job":        attr.S(job),
		"lease":      attr.S(lease),
		"heartbeat":  attr.N(strconv.FormatInt(now.UnixMilli(), 10)),
	}
	cond := store.Cond{Absent: true}
	if prev != "" {
		cond = store.Cond{Attr: "lease", Equals: attr.S(prev)}
	}
	if err := s.db.Put(ctx, table, it, cond); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return "", time.Time{}, err
		}
		// A retried write whose first attempt landed (its answer lost)
		// finds its own lease: that is success, not a takeover.
		cur, gerr := s.db.Get(ctx, table, attr.Item{"collection": attr.S(coll)})
		if gerr != nil || !attr.Equal(cur["lease"], attr.S(lease)) {
			return "", time.Time{}, err
		}
	}
	return lease, now, nil
}

// saveEnd runs save, the save of a job's end, until it is stored or
// another runner holds the job: otherwise the job would look running until
// a sweep resumed it. An outage is waited out; the service closing leaves
// the job to the next server's sweep.
func (s *Service) saveEnd(save func() error) {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := save()
		if err == nil || errors.Is(err, store.ErrConflict) {
			return
		}
		select {
		case <-time.After(wait):
		case <-s.bg.Done():
			return
		}
	}
}
