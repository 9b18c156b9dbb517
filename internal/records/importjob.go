package records

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sealstore/sealstore/store"
)

// Import layouts: the reference system's table of encrypted secrets
// (imported into the items collection), or a plaintext table whose
// attributes a map assigns to a collection's record attributes.
const (
	LayoutReference = "reference"
	LayoutPlaintext = "plaintext"
)

// Import phases, in order: a count of the source items, the import, the
// verify pass and, if asked for and the verify was clean, the deletion of
// the source items.
const (
	phaseImporting = "importing"
	phaseVerifying = "verifying"
	phaseDeleting  = "deleting"
)

// importWorkers is how many source items a page works on at once.
const importWorkers = 8

// ImportSource is where an import reads: a DynamoDB table the server
// reaches with the AWS SDK's default credentials chain and, for the
// reference layout, the KMS key its data keys were made under.
type ImportSource struct {
	Table            string `json:"table" doc:"The source DynamoDB table's name." example:"secure_items"`
	Region           string `json:"region,omitempty" doc:"AWS region of the table and key; empty: the server's (AWS_REGION, its config files)."`
	DynamoDBEndpoint string `json:"dynamodbEndpoint,omitempty" doc:"DynamoDB endpoint: https://, or http:// to a loopback address (an emulator); empty: the SDK's default."`
	KMSEndpoint      string `json:"kmsEndpoint,omitempty" doc:"KMS endpoint (reference layout): https://, or http:// to a loopback address; empty: the SDK's default."`
	KMSKeyID         string `json:"kmsKeyId,omitempty" doc:"Reference layout: the full ARN of the KMS key that made the data keys. Every Decrypt names it, so a data key of any other key is refused."`
}

// ImportRequest starts (or resumes) an import.
type ImportRequest struct {
	Source ImportSource `json:"source"`
	// Map is, for a plaintext table, record attribute → source attribute.
	Map          map[string]string `json:"map,omitempty" doc:"For a plaintext table: record attribute → source attribute, the collection's key attributes included. Every attribute of every source item must be named (an item with another is reported, not imported in part). Absent: the reference layout, into the items collection."`
	MaxRate      int               `json:"maxRate,omitempty" minimum:"0" maximum:"100000" doc:"Source items per second at most, in every pass that reads them one by one (0: no limit); it bounds the KMS calls per second too."`
	DeleteSource bool              `json:"deleteSource,omitempty" doc:"Delete the source items after a clean verify pass, each on condition that it is unchanged."`
}

// ImportJob is the progress of an import into a collection. Counts are
// saved with the position of the pass after each page.
type ImportJob struct {
	Collection   string            `json:"collection"`
	ID           string            `json:"id"`
	State        string            `json:"state" enum:"running,done,failed,none"`
	Phase        string            `json:"phase,omitempty" enum:"counting,importing,verifying,deleting"`
	Layout       string            `json:"layout,omitempty" enum:"reference,plaintext"`
	Source       ImportSource      `json:"source"`
	Map          map[string]string `json:"map,omitempty"`
	MaxRate      int               `json:"maxRate,omitempty"`
	DeleteSource bool              `json:"deleteSource,omitempty"`
	Items        int64             `json:"items" doc:"Source items, as the count pass found them."`
	Scanned      int64             `json:"scanned" doc:"Source items the current phase has read."`
	Imported     int64             `json:"imported" doc:"Source items now in sealstore: written by the import, or found there already with the same content."`
	Recognised   int64             `json:"recognised" doc:"Of imported: found in sealstore already, identical (written by this import before an interruption, or by anyone), and not written again."`
	Conflicts    int64             `json:"conflicts" doc:"Source items whose key holds another record in sealstore; that record was kept."`
	Failed       int64             `json:"failed" doc:"Source items that cannot be imported (undecryptable, malformed, unmappable), left out entirely."`
	Verified     int64             `json:"verified" doc:"Source items whose record, read back through sealstore, matches them."`
	Unverified   int64             `json:"unverified" doc:"Source items the verify pass could not match (failed, conflicting, not imported, or changed on either side)."`
	Clean        *bool             `json:"clean,omitempty" doc:"After the verify pass: every source item is in sealstore, identical."`
	Deleted      int64             `json:"deleted" doc:"Source items deleted (deleteSource)."`
	Kept         int64             `json:"kept" doc:"Source items the delete pass kept: changed since the verify, on either side."`
	KMSDecrypts  int64             `json:"kmsDecrypts" doc:"KMS Decrypt calls the job made, counted as they happen (after a crash, those since the last save are missing here; sealstore_kms_calls_total has them)."`
	Rate         float64           `json:"ratePerSecond" doc:"Source items per second, since this runner started."`
	Resumed      int               `json:"resumed" doc:"Times the job was resumed after an interruption."`
	Started      time.Time         `json:"started"`
	Updated      time.Time         `json:"updated"`
	Finished     *time.Time        `json:"finished,omitempty"`
	Error        string            `json:"error,omitempty"`
}

// validTable matches DynamoDB table names.
var validTable = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// checkImport validates r for collection c and returns its layout.
func checkImport(c *collection, r ImportRequest) (string, error) {
	switch {
	case r.MaxRate < 0 || r.MaxRate > MaxRewrapRate:
		return "", &InvalidError{Field: "body.maxRate", Reason: fmt.Sprintf("must be 0 (no limit) to %d items per second", MaxRewrapRate)}
	case !validTable.MatchString(r.Source.Table):
		return "", &InvalidError{Field: "body.source.table", Reason: "must be a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -"}
	case len(r.Map) == 0 && c.info.Name != ItemsCollection:
		return "", &InvalidError{Field: "body.map", Reason: "is required: a table in the reference layout imports into the items collection only; map a plaintext table's attributes"}
	case len(r.Map) == 0 && r.Source.KMSKeyID == "":
		return "", &InvalidError{Field: "body.source.kmsKeyId", Reason: "is required for the reference layout: the ARN of the KMS key its data keys were made under"}
	case len(r.Map) == 0:
		return LayoutReference, nil
	case r.Source.KMSKeyID != "" || r.Source.KMSEndpoint != "":
		return "", &InvalidError{Field: "body.source.kmsKeyId", Reason: "applies only to the reference layout (without a map)"}
	}
	return LayoutPlaintext, checkMap(c, r.Map)
}

// checkMap validates a plaintext table's map for c.
func checkMap(c *collection, m map[string]string) error {
	if len(m) > maxAttrs {
		return &InvalidError{Field: "body.map", Reason: fmt.Sprintf("names at most %d attributes", maxAttrs)}
	}
	seen := map[string]bool{}
	for target, source := range m {
		if err := checkAttrName("body.map", target); err != nil {
			return err
		}
		if source == "" || len(source) > maxAttrName || !utf8.ValidString(source) {
			return &InvalidError{Field: "body.map", Reason: fmt.Sprintf("source attribute names must be 1 to %d bytes of UTF-8", maxAttrName)}
		}
		if seen[source] {
			return &InvalidError{Field: "body.map", Reason: "names a source attribute twice"}
		}
		seen[source] = true
	}
	for _, k := range []string{c.info.Schema.PartitionKey, c.info.Schema.SortKey} {
		if _, ok := m[k]; k != "" && !ok {
			return &InvalidError{Field: "body.map", Reason: "must name the source attribute of the collection's key attribute " + k}
		}
	}
	return nil
}

// sameImport reports whether a job imports what r asks for (its rate and
// deleteSource aside).
func sameImport(j ImportJob, r ImportRequest, layout string) bool {
	return j.Layout == layout && j.Source == r.Source && maps.Equal(j.Map, r.Map)
}

// StartImport starts an import into collection coll, resumes it where it
// stopped if the same import was interrupted or failed, or reports it if
// it is running (here or on another server). Another import into coll
// while one runs is a conflict.
func (s *Service) StartImport(ctx context.Context, coll string, r ImportRequest) (ImportJob, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return ImportJob{}, err
	}
	layout, err := checkImport(c, r)
	if err != nil {
		return ImportJob{}, err
	}
	src, table, err := s.openImportSource(ctx, r.Source, layout)
	if err != nil {
		return ImportJob{}, err
	}
	for {
		job, ending, err := s.startImportLocked(ctx, coll, r, layout, &openedSource{src: src, table: table})
		if ending == nil {
			return job, err
		}
		// The job here is recording its end: start once it has.
		select {
		case <-ending:
		case <-ctx.Done():
			return ImportJob{}, ctx.Err()
		}
	}
}

// startImportLocked is StartImport once the request is checked and its
// source open. If this Service's job of coll is recording its end, it
// returns a channel closed once it has.
func (s *Service) startImportLocked(ctx context.Context, coll string, r ImportRequest, layout string, src *openedSource) (ImportJob, <-chan struct{}, error) {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if j := s.imports[coll]; j != nil {
		if snap := j.snapshot(); snap.State != JobRunning {
			return ImportJob{}, j.ended, nil
		}
		job, err := runningImportFor(j.snapshot(), r, layout)
		return job, nil, err
	}
	rec, err := s.loadImport(ctx, coll)
	if err != nil {
		return ImportJob{}, nil, err
	}
	now := s.now().UTC()
	switch {
	case rec != nil && rec.State == JobRunning && now.Sub(rec.heartbeat) < JobLease:
		job, err := runningImportFor(rec.ImportJob, r, layout) // on another server
		return job, nil, err
	case rec != nil && (rec.State == JobRunning || rec.State == JobFailed) && sameImport(rec.ImportJob, r, layout):
		rec.resume()
		rec.MaxRate, rec.DeleteSource = r.MaxRate, r.DeleteSource
	default:
		prev := ""
		if rec != nil {
			prev = rec.lease
		}
		rec = &importRecord{ImportJob: ImportJob{Collection: coll, ID: newRev(), State: JobRunning, Phase: phaseCounting,
			Layout: layout, Source: r.Source, Map: r.Map, MaxRate: r.MaxRate, DeleteSource: r.DeleteSource, Started: now}, lease: prev}
	}
	job, err := s.launchImport(ctx, rec, src, false)
	return job, nil, err
}

// runningImportFor is a running job as the answer to r: the job, if it
// is the import r asks for, else a conflict.
func runningImportFor(j ImportJob, r ImportRequest, layout string) (ImportJob, error) {
	if sameImport(j, r, layout) {
		return j, nil
	}
	return ImportJob{}, &ConflictError{Reason: fmt.Sprintf("another import into %s is running (job %s, from table %s); wait for it to end", j.Collection, j.ID, j.Source.Table)}
}

// openedSource is an open source and its table's key schema.
type openedSource struct {
	src   Source
	table store.Table
}

// openImportSource opens src and reads its table's key schema, which the
// reference layout fixes.
func (s *Service) openImportSource(ctx context.Context, src ImportSource, layout string) (Source, store.Table, error) {
	if s.openSource == nil {
		return nil, store.Table{}, &ConflictError{Reason: "this server cannot read import sources"}
	}
	source, err := s.openSource(ctx, src, layout == LayoutReference)
	if err != nil {
		return nil, store.Table{}, err
	}
	t, err := source.KeySchema(ctx, src.Table)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Table{}, &InvalidError{Field: "body.source.table", Reason: "no such table at the source (or the server's credentials cannot see it)"}
	}
	if err != nil {
		return nil, store.Table{}, fmt.Errorf("records: the source table: %w", err)
	}
	if layout == LayoutReference && (t.PartitionKey != refID || t.PartitionType.Type() != store.KeyS || t.SortKey != "") {
		return nil, store.Table{}, &InvalidError{Field: "body.source.table", Reason: "is not in the reference layout: it must be keyed by item_id (a string) alone"}
	}
	return source, t, nil
}

// ImportStatus returns the progress of collection coll's import (its
// current or last job; state "none" if none has run).
func (s *Service) ImportStatus(ctx context.Context, coll string) (ImportJob, error) {
	if err := CheckCollectionName(coll); err != nil {
		return ImportJob{}, ErrNotFound
	}
	if _, err := s.cat.get(ctx, coll); err != nil {
		return ImportJob{}, err
	}
	s.jobsMu.Lock()
	j := s.imports[coll]
	s.jobsMu.Unlock()
	if j != nil {
		return j.snapshot(), nil
	}
	rec, err := s.loadImport(ctx, coll)
	if err != nil || rec == nil {
		return ImportJob{Collection: coll, State: JobNone}, err
	}
	return rec.ImportJob, nil
}

// runningImport is an import job this Service runs.
type runningImport struct {
	mu     sync.Mutex
	rec    importRecord
	saveMu sync.Mutex // one save at a time: each needs the last one's lease
	// reuse: the next importing page is the first of a resumed run, and
	// takes the outcome of items its ledger already holds instead of
	// decrypting them again.
	reuse bool
	// ended is closed once the job no longer runs here.
	ended chan struct{}
}

func (j *runningImport) snapshot() ImportJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.rec.ImportJob
	out.Map = maps.Clone(out.Map)
	return out
}
