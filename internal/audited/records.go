package audited

import (
	"context"
	"fmt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/internal/records"
)

// Records is the records use cases Service wraps: *records.Service.
type Records interface {
	PutSecret(ctx context.Context, id, secret string) (string, error)
	GetSecret(ctx context.Context, id string) (string, error)
	Ready(ctx context.Context) error

	PutCollection(ctx context.Context, name string, sc records.Schema) (records.CollectionInfo, bool, error)
	Collections(ctx context.Context) ([]records.CollectionInfo, error)
	Collection(ctx context.Context, name string) (records.CollectionInfo, error)
	Beacons(ctx context.Context, coll string) ([]records.BeaconAdvice, error)
	ReaderConfig(ctx context.Context, coll string) (readerconfig.Config, error)

	PutRecord(ctx context.Context, coll string, k records.Key, doc attr.Item, p records.Precondition) (string, error)
	GetRecord(ctx context.Context, coll string, k records.Key) (records.Record, error)
	DeleteRecord(ctx context.Context, coll string, k records.Key, p records.Precondition) error
	PatchRecord(ctx context.Context, coll string, k records.Key, patch attr.Item, p records.Precondition) (records.Record, error)
	ListRecords(ctx context.Context, coll string, q records.Query) (records.Page, error)
	BatchGet(ctx context.Context, coll string, keys []records.Key) ([]records.Result, error)
	BatchPut(ctx context.Context, coll string, reqs []records.PutRequest) ([]records.Result, error)
}

// PutSecret stores a secret of the reference collection: a record.put
// with the record's new entity tag.
func (s *Service) PutSecret(ctx context.Context, id, secret string) (string, error) {
	etag, err := s.recs.PutSecret(ctx, id, secret)
	o := op{action: audit.RecordPut, coll: records.ItemsCollection, key: &records.Key{ID: id}}
	return etag, s.record(ctx, o.written(etag, err), err)
}

// GetSecret reads a secret of the reference collection: a record.get.
func (s *Service) GetSecret(ctx context.Context, id string) (string, error) {
	secret, err := s.recs.GetSecret(ctx, id)
	if err := s.record(ctx, op{action: audit.RecordGet, coll: records.ItemsCollection, key: &records.Key{ID: id}}, err); err != nil {
		return "", err
	}
	return secret, nil
}

// Ready checks the store and keys, and that audit entries can be written
// (a trail that says whether it can: audit.Log); it is not audited.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.recs.Ready(ctx); err != nil {
		return err
	}
	if r, ok := s.trail.(interface{ Ready(context.Context) error }); ok {
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("audited: %w: %w", ErrUnrecorded, err)
		}
	}
	return nil
}

// PutCollection creates or changes a collection: a collection.put.
func (s *Service) PutCollection(ctx context.Context, name string, sc records.Schema) (records.CollectionInfo, bool, error) {
	info, created, err := s.recs.PutCollection(ctx, name, sc)
	return info, created, s.record(ctx, op{action: audit.CollectionPut, coll: name}, err)
}

// Collections lists every collection (not audited: the caller filters
// them by what the actor may see).
func (s *Service) Collections(ctx context.Context) ([]records.CollectionInfo, error) {
	return s.recs.Collections(ctx)
}

// Collection describes a collection: a collection.get.
func (s *Service) Collection(ctx context.Context, name string) (records.CollectionInfo, error) {
	info, err := s.recs.Collection(ctx, name)
	return info, s.record(ctx, op{action: audit.CollectionGet, coll: name}, err)
}

// Beacons advises on beacon lengths: a collection.beacons.
func (s *Service) Beacons(ctx context.Context, coll string) ([]records.BeaconAdvice, error) {
	adv, err := s.recs.Beacons(ctx, coll)
	return adv, s.record(ctx, op{action: audit.CollectionBeacons, coll: coll}, err)
}

// ReaderConfig describes how an official reader reads a collection: a
// collection.readerConfig.
func (s *Service) ReaderConfig(ctx context.Context, coll string) (readerconfig.Config, error) {
	rc, err := s.recs.ReaderConfig(ctx, coll)
	return rc, s.record(ctx, op{action: audit.CollectionReader, coll: coll}, err)
}

// PutRecord stores a record: a record.put.
func (s *Service) PutRecord(ctx context.Context, coll string, k records.Key, doc attr.Item, p records.Precondition) (string, error) {
	etag, err := s.recs.PutRecord(ctx, coll, k, doc, p)
	return etag, s.record(ctx, op{action: audit.RecordPut, coll: coll, key: &k}.written(etag, err), err)
}

// GetRecord reads a record: a record.get.
func (s *Service) GetRecord(ctx context.Context, coll string, k records.Key) (records.Record, error) {
	r, err := s.recs.GetRecord(ctx, coll, k)
	if err := s.record(ctx, op{action: audit.RecordGet, coll: coll, key: &k}, err); err != nil {
		return records.Record{}, err
	}
	return r, nil
}

// DeleteRecord deletes a record: a record.delete.
func (s *Service) DeleteRecord(ctx context.Context, coll string, k records.Key, p records.Precondition) error {
	err := s.recs.DeleteRecord(ctx, coll, k, p)
	return s.record(ctx, op{action: audit.RecordDelete, coll: coll, key: &k}, err)
}

// PatchRecord changes a record: a record.patch.
func (s *Service) PatchRecord(ctx context.Context, coll string, k records.Key, patch attr.Item, p records.Precondition) (records.Record, error) {
	r, err := s.recs.PatchRecord(ctx, coll, k, patch, p)
	if err := s.record(ctx, op{action: audit.RecordPatch, coll: coll, key: &k}.written(r.ETag, err), err); err != nil {
		return records.Record{}, err
	}
	return r, nil
}

// ListRecords lists a collection (a record.list) or searches it (a
// record.search).
func (s *Service) ListRecords(ctx context.Context, coll string, q records.Query) (records.Page, error) {
	page, err := s.recs.ListRecords(ctx, coll, q)
	action := audit.RecordList
	if len(q.Filters) > 0 {
		action = audit.RecordSearch
	}
	if err := s.record(ctx, op{action: action, coll: coll}, err); err != nil {
		return records.Page{}, err
	}
	return page, nil
}

// BatchGet reads records: a record.get per key, or one record.batchGet
// if the batch fails as a whole.
func (s *Service) BatchGet(ctx context.Context, coll string, keys []records.Key) ([]records.Result, error) {
	results, err := s.recs.BatchGet(ctx, coll, keys)
	if err != nil {
		return nil, s.record(ctx, op{action: audit.RecordBatchGet, coll: coll}, err)
	}
	return s.entries(ctx, coll, audit.RecordGet, results)
}

// BatchPut writes records: a record.put per record, or one
// record.batchPut if the batch fails as a whole.
func (s *Service) BatchPut(ctx context.Context, coll string, reqs []records.PutRequest) ([]records.Result, error) {
	results, err := s.recs.BatchPut(ctx, coll, reqs)
	if err != nil {
		return nil, s.record(ctx, op{action: audit.RecordBatchPut, coll: coll}, err)
	}
	return s.entries(ctx, coll, audit.RecordPut, results)
}

// entries records each result of a batch. A result whose entry cannot be
// written fails the whole batch if it succeeded (nobody could account for
// it), and otherwise carries ErrUnrecorded.
func (s *Service) entries(ctx context.Context, coll, action string, results []records.Result) ([]records.Result, error) {
	for i := range results {
		r := &results[i]
		o := op{action: action, coll: coll, key: &r.Key}
		if action == audit.RecordPut {
			o = o.written(r.ETag, r.Err)
		}
		err := s.record(ctx, o, r.Err)
		if err == nil || err == r.Err {
			continue
		}
		if r.Err == nil {
			return nil, err
		}
		r.Err, r.ETag, r.Record = err, "", records.Record{}
	}
	return results, nil
}

// RefuseBatchEntry records one entry of a batch refused before it reached
// the use case (it did not parse): a result to put among the others.
func (s *Service) RefuseBatchEntry(ctx context.Context, coll, action string, k records.Key, err error) records.Result {
	return records.Result{Key: k, Err: s.record(ctx, op{action: action, coll: coll, key: &k}, err)}
}

// RecordRewritten records a record the service itself wrote again (a
// rewrap, under the active key version): a record.rewrap by ServiceActor
// with the record's new entity tag, so that the trail accounts for every
// version of every record.
func (s *Service) RecordRewritten(ctx context.Context, coll string, k records.Key, etag string) error {
	return s.record(WithActor(ctx, ServiceActor), op{action: audit.RecordRewrap, coll: coll, key: &k, etag: etag}, nil)
}

// RecordImported records a record an import wrote (or found in place,
// identical to its source item): a record.import by ServiceActor with the
// record's entity tag, so that the trail accounts for every record an
// import brought in.
func (s *Service) RecordImported(ctx context.Context, coll string, k records.Key, etag string) error {
	return s.record(WithActor(ctx, ServiceActor), op{action: audit.RecordImport, coll: coll, key: &k, etag: etag}, nil)
}
