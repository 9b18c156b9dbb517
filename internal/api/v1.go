package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Document is a record as a JSON object. It is kept as the client sent it
// until records parses it (numbers stay exact), and written back as the
// records layer renders it.
type Document json.RawMessage

// Schema implements huma.SchemaProvider: any JSON object.
func (Document) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, AdditionalProperties: true,
		Description: "A record: a JSON object. Strings, numbers (kept exactly, up to 38 digits), booleans, null, arrays and objects."}
}

// MarshalJSON writes the document as is.
func (d Document) MarshalJSON() ([]byte, error) {
	if len(d) == 0 {
		return []byte("{}"), nil
	}
	return d, nil
}

// UnmarshalJSON keeps the raw bytes.
func (d *Document) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

// Format keeps documents out of logs and fmt output.
func (Document) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// LogValue keeps documents out of structured logs.
func (Document) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// --- collections ---

type putCollectionInput struct {
	Name string `path:"name" doc:"Collection name: 1 to 64 letters, digits, '.', '_' or '-'."`
	Body records.Schema
}

type collectionOutput struct {
	Status int
	Body   records.CollectionInfo
}

func (s *server) putCollection(ctx context.Context, in *putCollectionInput) (*collectionOutput, error) {
	info, created, err := s.cfg.Records.PutCollection(ctx, in.Name, in.Body)
	if err := s.audited(ctx, "collection.put", in.Name, nil, err); err != nil {
		return nil, err
	}
	out := &collectionOutput{Status: http.StatusOK, Body: info}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

type collectionsOutput struct {
	Body struct {
		Collections []records.CollectionInfo `json:"collections"`
	}
}

func (s *server) listCollections(ctx context.Context, _ *struct{}) (*collectionsOutput, error) {
	all, err := s.cfg.Records.Collections(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	tok := tokenFrom(ctx)
	out := &collectionsOutput{}
	out.Body.Collections = []records.CollectionInfo{}
	for _, c := range all {
		if tok != nil && canSee(*tok, c.Name) {
			out.Body.Collections = append(out.Body.Collections, c)
		}
	}
	return out, nil
}

type collectionInput struct {
	Name string `path:"name" doc:"Collection name."`
}

func (s *server) getCollection(ctx context.Context, in *collectionInput) (*collectionOutput, error) {
	info, err := s.cfg.Records.Collection(ctx, in.Name)
	if err := s.audited(ctx, "collection.get", in.Name, nil, err); err != nil {
		return nil, err
	}
	return &collectionOutput{Status: http.StatusOK, Body: info}, nil
}

type beaconsOutput struct {
	Body struct {
		Beacons []records.BeaconAdvice `json:"beacons"`
	}
}

func (s *server) getBeacons(ctx context.Context, in *collectionInput) (*beaconsOutput, error) {
	adv, err := s.cfg.Records.Beacons(ctx, in.Name)
	if err := s.audited(ctx, "collection.beacons", in.Name, nil, err); err != nil {
		return nil, err
	}
	out := &beaconsOutput{}
	out.Body.Beacons = adv
	return out, nil
}

// --- records ---

// The inputs of the record routes list their fields one by one: huma
// binds no parameter of an embedded struct.

type recordPath struct {
	Name string `path:"name" doc:"Collection name."`
	ID   string `path:"id" doc:"Partition key value of the record."`
}

type sortedRecordPath struct {
	Name string `path:"name" doc:"Collection name."`
	ID   string `path:"id" doc:"Partition key value of the record."`
	Sort string `path:"sort" doc:"Sort key value of the record (collections with a sort key)."`
}

// validETag reports whether t is * or an entity tag as RFC 9110 writes one:
// "..." or W/"..." (a weak tag never matches ours, but is well formed).
func validETag(t string) bool {
	t = strings.TrimPrefix(t, "W/")
	return t == "*" || len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' && !strings.Contains(t[1:len(t)-1], `"`)
}

// conditions are a write's If-Match and If-None-Match headers.
type conditions struct{ ifMatch, ifNoneMatch string }

func (c conditions) parse() (records.Precondition, error) {
	var p records.Precondition
	for _, t := range strings.Split(c.ifMatch, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if !validETag(t) {
				return p, huma.Error400BadRequest(`If-Match must list entity tags ("...") or be *`)
			}
			p.IfMatch = append(p.IfMatch, t)
		}
	}
	switch strings.TrimSpace(c.ifNoneMatch) {
	case "":
	case "*":
		p.IfNoneMatch = true
	default:
		return p, huma.Error400BadRequest("If-None-Match supports only *")
	}
	if p.IfNoneMatch && len(p.IfMatch) > 0 {
		return p, huma.Error400BadRequest("If-Match and If-None-Match cannot be combined")
	}
	return p, nil
}

type putRecordInput struct {
	Name        string `path:"name" doc:"Collection name."`
	ID          string `path:"id" doc:"Partition key value of the record."`
	IfMatch     string `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise."`
	IfNoneMatch string `header:"If-None-Match" doc:"*: create only; 412 if the record exists."`
	Body        Document
}

type putSortedRecordInput struct {
	Name        string `path:"name" doc:"Collection name."`
	ID          string `path:"id" doc:"Partition key value of the record."`
	Sort        string `path:"sort" doc:"Sort key value of the record."`
	IfMatch     string `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise."`
	IfNoneMatch string `header:"If-None-Match" doc:"*: create only; 412 if the record exists."`
	Body        Document
}

type etagOutput struct {
	Status int
	ETag   string `header:"ETag"`
	Body   struct {
		ETag string `json:"etag" doc:"Entity tag of the stored version."`
	}
}

func (s *server) putRecord(ctx context.Context, in *putRecordInput) (*etagOutput, error) {
	return s.put(ctx, in.Name, records.Key{ID: in.ID}, conditions{in.IfMatch, in.IfNoneMatch}, in.Body)
}

func (s *server) putSortedRecord(ctx context.Context, in *putSortedRecordInput) (*etagOutput, error) {
	return s.put(ctx, in.Name, records.Key{ID: in.ID, Sort: in.Sort}, conditions{in.IfMatch, in.IfNoneMatch}, in.Body)
}

func (s *server) put(ctx context.Context, coll string, k records.Key, c conditions, body Document) (*etagOutput, error) {
	p, err := c.parse()
	if err != nil {
		return nil, err
	}
	var etag string
	doc, err := records.ParseDocument(body)
	if err == nil {
		etag, err = s.cfg.Records.PutRecord(ctx, coll, k, doc, p)
	}
	if err := s.audited(ctx, "record.put", coll, &k, err); err != nil {
		return nil, err
	}
	out := &etagOutput{Status: http.StatusOK, ETag: etag}
	if p.IfNoneMatch {
		out.Status = http.StatusCreated
	}
	out.Body.ETag = etag
	return out, nil
}

type recordOutput struct {
	Status int
	ETag   string `header:"ETag"`
	Body   Document
}

func (s *server) getRecord(ctx context.Context, in *recordPath) (*recordOutput, error) {
	return s.get(ctx, in.Name, records.Key{ID: in.ID})
}

func (s *server) getSortedRecord(ctx context.Context, in *sortedRecordPath) (*recordOutput, error) {
	return s.get(ctx, in.Name, records.Key{ID: in.ID, Sort: in.Sort})
}

func (s *server) get(ctx context.Context, coll string, k records.Key) (*recordOutput, error) {
	r, err := s.cfg.Records.GetRecord(ctx, coll, k)
	if err := s.audited(ctx, "record.get", coll, &k, err); err != nil {
		return nil, err
	}
	return s.recordOut(ctx, r)
}

func (s *server) recordOut(ctx context.Context, r records.Record) (*recordOutput, error) {
	body, err := records.MarshalDocument(r.Doc)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &recordOutput{Status: http.StatusOK, ETag: r.ETag, Body: body}, nil
}

type deleteRecordInput struct {
	Name    string `path:"name" doc:"Collection name."`
	ID      string `path:"id" doc:"Partition key value of the record."`
	IfMatch string `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise."`
}

type deleteSortedRecordInput struct {
	Name    string `path:"name" doc:"Collection name."`
	ID      string `path:"id" doc:"Partition key value of the record."`
	Sort    string `path:"sort" doc:"Sort key value of the record."`
	IfMatch string `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise."`
}

type noContent struct{ Status int }

func (s *server) deleteRecord(ctx context.Context, in *deleteRecordInput) (*noContent, error) {
	return s.delete(ctx, in.Name, records.Key{ID: in.ID}, conditions{ifMatch: in.IfMatch})
}

func (s *server) deleteSortedRecord(ctx context.Context, in *deleteSortedRecordInput) (*noContent, error) {
	return s.delete(ctx, in.Name, records.Key{ID: in.ID, Sort: in.Sort}, conditions{ifMatch: in.IfMatch})
}

func (s *server) delete(ctx context.Context, coll string, k records.Key, c conditions) (*noContent, error) {
	p, err := c.parse()
	if err == nil {
		err = s.cfg.Records.DeleteRecord(ctx, coll, k, p)
	}
	if err := s.audited(ctx, "record.delete", coll, &k, err); err != nil {
		return nil, err
	}
	return &noContent{Status: http.StatusNoContent}, nil
}

type patchRecordInput struct {
	Name    string   `path:"name" doc:"Collection name."`
	ID      string   `path:"id" doc:"Partition key value of the record."`
	IfMatch string   `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise. Without it, a PATCH that races another write is retried on the new version."`
	Body    Document `contentType:"application/merge-patch+json"`
}

type patchSortedRecordInput struct {
	Name    string   `path:"name" doc:"Collection name."`
	ID      string   `path:"id" doc:"Partition key value of the record."`
	Sort    string   `path:"sort" doc:"Sort key value of the record."`
	IfMatch string   `header:"If-Match" doc:"Entity tags (or *): act only if the record is at one of these versions; 412 otherwise."`
	Body    Document `contentType:"application/merge-patch+json"`
}

func (s *server) patchRecord(ctx context.Context, in *patchRecordInput) (*recordOutput, error) {
	return s.patch(ctx, in.Name, records.Key{ID: in.ID}, conditions{ifMatch: in.IfMatch}, in.Body)
}

func (s *server) patchSortedRecord(ctx context.Context, in *patchSortedRecordInput) (*recordOutput, error) {
	return s.patch(ctx, in.Name, records.Key{ID: in.ID, Sort: in.Sort}, conditions{ifMatch: in.IfMatch}, in.Body)
}

func (s *server) patch(ctx context.Context, coll string, k records.Key, c conditions, body Document) (*recordOutput, error) {
	p, err := c.parse()
	var r records.Record
	if err == nil {
		doc, perr := records.ParseDocument(body)
		if err = perr; err == nil {
			r, err = s.cfg.Records.PatchRecord(ctx, coll, k, doc, p)
		}
	}
	if err := s.audited(ctx, "record.patch", coll, &k, err); err != nil {
		return nil, err
	}
	// The merged record goes back only to a token that may read it: write
	// scope alone must not become a way to read.
	if tok := tokenFrom(ctx); tok == nil || !tok.Allows(coll, tokens.Read) {
		return &recordOutput{Status: http.StatusNoContent, ETag: r.ETag}, nil
	}
	return s.recordOut(ctx, r)
}

// listInput takes limit and cursor, and every other query parameter as a
// search filter (resolved from the raw query).
type listInput struct {
	Name    string `path:"name" doc:"Collection name."`
	Limit   int    `query:"limit" minimum:"0" maximum:"1000" doc:"Records per page (default 100)."`
	Cursor  string `query:"cursor" doc:"Cursor from the previous page."`
	filters map[string]string
}

// Resolve collects the search filters: any query parameter other than
// limit and cursor names a searchable attribute.
func (in *listInput) Resolve(ctx huma.Context) []error {
	var errs []error
	u := ctx.URL()
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// url.Values.Query drops what it cannot parse: a search would
		// silently become a listing.
		return []error{&huma.ErrorDetail{Location: "query", Message: "the query string is malformed (bad percent-encoding or a ';')"}}
	}
	for name, vals := range query {
		if name == "limit" || name == "cursor" {
			continue
		}
		if len(vals) != 1 {
			errs = append(errs, &huma.ErrorDetail{Location: "query." + name, Message: "give a search attribute once"})
			continue
		}
		if in.filters == nil {
			in.filters = map[string]string{}
		}
		in.filters[name] = vals[0]
	}
	return errs
}

type listedRecord struct {
	ID     string   `json:"id"`
	Sort   string   `json:"sort,omitempty"`
	ETag   string   `json:"etag"`
	Record Document `json:"record"`
}

type listOutput struct {
	Body struct {
		Records []listedRecord `json:"records"`
		Cursor  string         `json:"cursor,omitempty" doc:"Pass as cursor for the next page; absent after the last page."`
		// RetiredSkipped counts records of the page left out because
		// their key version was retired.
		RetiredSkipped int `json:"retiredSkipped,omitempty" doc:"Records of this page left out because their key version was retired (reading one says so)."`
	}
}

func (s *server) listRecords(ctx context.Context, in *listInput) (*listOutput, error) {
	page, err := s.cfg.Records.ListRecords(ctx, in.Name, records.Query{Filters: in.filters, Cursor: in.Cursor, Limit: in.Limit})
	action := "record.list"
	if len(in.filters) > 0 {
		action = "record.search"
	}
	if err := s.audited(ctx, action, in.Name, nil, err); err != nil {
		return nil, err
	}
	out := &listOutput{}
	out.Body.Records = make([]listedRecord, 0, len(page.Records))
	for _, r := range page.Records {
		body, err := records.MarshalDocument(r.Doc)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out.Body.Records = append(out.Body.Records, listedRecord{ID: r.Key.ID, Sort: r.Key.Sort, ETag: r.ETag, Record: body})
	}
	out.Body.Cursor, out.Body.RetiredSkipped = page.Cursor, page.Retired
	return out, nil
}

// --- batches ---

type batchKey struct {
	ID   string `json:"id" doc:"Partition key value."`
	Sort string `json:"sort,omitempty" doc:"Sort key value, in collections with a sort key."`
}

type batchGetInput struct {
	Name string `path:"name"`
	Body struct {
		Keys []batchKey `json:"keys" minItems:"1" maxItems:"100"`
	}
}

type batchResult struct {
	ID     string   `json:"id"`
	Sort   string   `json:"sort,omitempty"`
	Status int      `json:"status" doc:"HTTP status of this entry alone."`
	ETag   string   `json:"etag,omitempty"`
	Record Document `json:"record,omitempty"`
	Error  string   `json:"error,omitempty"`
}

type batchOutput struct {
	Body struct {
		Results []batchResult `json:"results"`
	}
}

func (s *server) batchGet(ctx context.Context, in *batchGetInput) (*batchOutput, error) {
	keys := make([]records.Key, len(in.Body.Keys))
	for i, k := range in.Body.Keys {
		keys[i] = records.Key{ID: k.ID, Sort: k.Sort}
	}
	results, err := s.cfg.Records.BatchGet(ctx, in.Name, keys)
	if err != nil {
		return nil, s.audited(ctx, "record.batchGet", in.Name, nil, err)
	}
	return s.batchOut(ctx, in.Name, "record.get", results)
}

type batchPutEntry struct {
	ID          string   `json:"id"`
	Sort        string   `json:"sort,omitempty"`
	Record      Document `json:"record"`
	IfMatch     string   `json:"ifMatch,omitempty" doc:"Entity tag the stored record must have."`
	IfNoneMatch bool     `json:"ifNoneMatch,omitempty" doc:"Create only."`
}

type batchPutInput struct {
	Name string `path:"name"`
	Body struct {
		Records []batchPutEntry `json:"records" minItems:"1" maxItems:"25"`
	}
}

func (s *server) batchPut(ctx context.Context, in *batchPutInput) (*batchOutput, error) {
	reqs := make([]records.PutRequest, len(in.Body.Records))
	parseErrs := make([]error, len(in.Body.Records))
	for i, e := range in.Body.Records {
		reqs[i] = records.PutRequest{Key: records.Key{ID: e.ID, Sort: e.Sort}}
		reqs[i].Cond.IfNoneMatch = e.IfNoneMatch
		if e.IfMatch != "" {
			reqs[i].Cond.IfMatch = []string{e.IfMatch}
		}
		field := fmt.Sprintf("body.records[%d]", i)
		switch {
		case e.IfMatch != "" && e.IfNoneMatch:
			parseErrs[i] = &records.InvalidError{Field: field, Reason: "ifMatch and ifNoneMatch cannot be combined"}
		case e.IfMatch != "" && !validETag(e.IfMatch):
			parseErrs[i] = &records.InvalidError{Field: field + ".ifMatch", Reason: `must be an entity tag ("...") or *`}
		default:
			reqs[i].Doc, parseErrs[i] = records.ParseDocument(e.Record)
		}
	}
	// Entries that did not parse are not sent; the rest are.
	var send []records.PutRequest
	var at []int
	for i := range reqs {
		if parseErrs[i] == nil {
			send = append(send, reqs[i])
			at = append(at, i)
		}
	}
	results := make([]records.Result, len(reqs))
	for i := range reqs {
		results[i] = records.Result{Key: reqs[i].Key, Err: parseErrs[i]}
	}
	if len(send) > 0 {
		got, err := s.cfg.Records.BatchPut(ctx, in.Name, send)
		if err != nil {
			return nil, s.audited(ctx, "record.batchPut", in.Name, nil, err)
		}
		for j, r := range got {
			results[at[j]] = r
		}
	}
	return s.batchOut(ctx, in.Name, "record.put", results)
}

// batchOut renders batch results, auditing each entry.
func (s *server) batchOut(ctx context.Context, coll, action string, results []records.Result) (*batchOutput, error) {
	out := &batchOutput{}
	out.Body.Results = make([]batchResult, len(results))
	for i, r := range results {
		br := batchResult{ID: r.Key.ID, Sort: r.Key.Sort, Status: http.StatusOK, ETag: r.ETag}
		if err := s.audited(ctx, action, coll, &r.Key, r.Err); err != nil {
			status, msg := statusOf(err)
			if status == http.StatusServiceUnavailable && r.Err == nil {
				// The entry's audit record could not be written: the
				// whole request fails, as any audited request does.
				return nil, err
			}
			br.Status, br.Error, br.ETag = status, msg, ""
		} else if r.Record.Doc != nil {
			body, err := records.MarshalDocument(r.Record.Doc)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			br.Record = body
		}
		out.Body.Results[i] = br
	}
	return out, nil
}

// statusOf is the status and message of an error from problem.
func statusOf(err error) (int, string) {
	if se, ok := err.(huma.StatusError); ok {
		if em, ok := se.(*huma.ErrorModel); ok {
			return se.GetStatus(), em.Detail
		}
		return se.GetStatus(), se.Error()
	}
	return http.StatusInternalServerError, msgInternal
}

// auditName is the string whose HMAC names a record in the audit trail:
// the id, or, with a sort key, both unambiguously.
func auditName(k records.Key) string {
	if k.Sort == "" {
		return k.ID
	}
	return strconv.Itoa(len(k.ID)) + ":" + k.ID + k.Sort
}
