package journal

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// InsecureDelete rewrites the journal without the item of table t at
// key: what someone able to write the files can do. It is for tests that
// play that attacker; the service never calls it. It rewrites every
// segment, so it is slow.
func (j *Journal) InsecureDelete(_ context.Context, t store.Table, key attr.Item) error {
	k, err := store.KeyOf(t, key)
	if err != nil {
		return err
	}
	rk, err := rawKey(k)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	tb := j.tables[t.Name]
	if tb == nil {
		return store.ErrNotFound
	}
	if _, ok := tb.items[rk]; !ok {
		return store.ErrNotFound
	}
	delete(tb.items, rk)
	tb.order = slices.DeleteFunc(tb.order, func(k string) bool { return k == rk })
	return j.rewrite()
}

// rewrite writes every indexed record again, in their old order, into
// fresh segments (under j.mu).
func (j *Journal) rewrite() error {
	type rec struct {
		p     place
		table string
		key   string
	}
	var all []rec
	for name, tb := range j.tables {
		for k, p := range tb.items {
			all = append(all, rec{p: p, table: name, key: k})
		}
	}
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a].p, all[b].p
		return x.seg.num < y.seg.num || x.seg.num == y.seg.num && x.off < y.off
	})
	raws := make([][]byte, len(all))
	for i, r := range all {
		buf := make([]byte, r.p.n)
		if _, err := r.p.seg.f.ReadAt(buf, r.p.off); err != nil {
			return err
		}
		raws[i] = buf
	}
	if r := <-j.spare; r.seg != nil {
		r.seg.close()
		os.Remove(r.seg.path)
	}
	j.closeFiles()
	names, err := segmentNames(j.dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		os.Remove(filepath.Join(j.dir, n))
	}
	j.unsyncd = nil
	if err := j.advance(nil); err != nil {
		return err
	}
	j.prepareSpare()
	for i, raw := range raws {
		p, err := j.append(raw)
		if err != nil {
			return err
		}
		j.tables[all[i].table].items[all[i].key] = p
	}
	for _, seg := range j.unsyncd {
		if err := seg.sync(); err != nil {
			return err
		}
	}
	j.unsyncd = nil
	return nil
}
