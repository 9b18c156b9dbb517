package audit

import (
	"context"
	"errors"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// Layered returns a Backend that writes to newer and reads newer, then
// older: the trail of a deployment whose entries moved to newer (the
// embedded default's journal) from older (its database, where earlier
// releases wrote them). If newer is a Syncer, so is the result.
func Layered(newer, older Backend) Backend {
	l := layered{newer: newer, older: older}
	if s, ok := newer.(Syncer); ok {
		return syncLayered{l, s}
	}
	return l
}

type layered struct{ newer, older Backend }

type syncLayered struct {
	layered
	Syncer
}

// Ready is the newer backend's, if it has one.
func (l syncLayered) Ready() error {
	if r, ok := l.Syncer.(interface{ Ready() error }); ok {
		return r.Ready()
	}
	return nil
}

func (l layered) CreateTable(ctx context.Context, t store.Table) error {
	if err := l.newer.CreateTable(ctx, t); err != nil {
		return err
	}
	return l.older.CreateTable(ctx, t)
}

func (l layered) Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	it, err := l.newer.Get(ctx, t, key)
	if errors.Is(err, store.ErrNotFound) {
		return l.older.Get(ctx, t, key)
	}
	return it, err
}

func (l layered) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	return l.newer.Put(ctx, t, it, c)
}

// Scan reads newer, then older. A cursor is a byte saying which, and
// that backend's cursor.
func (l layered) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	db, which, inner := l.newer, byte(0), []byte(nil)
	if len(cursor) > 0 {
		which, inner = cursor[0], cursor[1:]
		if which == 1 {
			db = l.older
		}
	}
	if len(cursor) == 1 {
		inner = nil
	}
	p, err := db.Scan(ctx, t, inner, limit)
	if err != nil {
		return store.Page{}, err
	}
	switch {
	case p.Next != nil:
		p.Next = append([]byte{which}, p.Next...)
	case which == 0:
		p.Next = []byte{1} // newer is done: older next
	}
	return p, nil
}
