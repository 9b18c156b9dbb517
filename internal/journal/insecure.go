package journal

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
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
	j.mu.Lock()
	defer j.mu.Unlock()
	tb := j.tables[t.Name]
	if tb == nil {
		return store.ErrNotFound
	}
	i, held, err := tb.lookup(k)
	if err != nil || !held {
		return cmp.Or(err, store.ErrNotFound)
	}
	return j.rewrite(tb.order[i])
}

// rewrite writes every indexed record but the one at skip again, in
// their old order, into fresh segments, and indexes them anew (under
// j.mu).
func (j *Journal) rewrite(skip slot) error {
	var all []place
	for _, tb := range j.tables {
		for _, s := range tb.order {
			if s != skip {
				all = append(all, j.place(s))
			}
		}
	}
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a], all[b]
		return x.seg.num < y.seg.num || x.seg.num == y.seg.num && x.off < y.off
	})
	raws := make([][]byte, len(all))
	for i, p := range all {
		buf := make([]byte, p.n)
		if _, err := p.seg.f.ReadAt(buf, p.off); err != nil {
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
	j.segs, j.unsyncd = nil, nil
	for name, tb := range j.tables {
		j.tables[name] = newTable(tb.t)
	}
	if err := j.advance(nil); err != nil {
		return err
	}
	j.prepareSpare()
	for _, raw := range raws {
		p, err := j.append(raw)
		if err != nil {
			return err
		}
		if err := j.index(p.seg, p.off, p.n, raw[headerLen:]); err != nil {
			return err
		}
	}
	for _, seg := range j.unsyncd {
		if err := seg.sync(); err != nil {
			return err
		}
	}
	j.unsyncd = nil
	return nil
}
