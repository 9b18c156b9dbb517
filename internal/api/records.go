package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

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
				return p, fault.New(fault.BadRequest, `If-Match must list entity tags ("...") or be *`)
			}
			p.IfMatch = append(p.IfMatch, t)
		}
	}
	switch strings.TrimSpace(c.ifNoneMatch) {
	case "":
	case "*":
		p.IfNoneMatch = true
	default:
		return p, fault.New(fault.BadRequest, "If-None-Match supports only *")
	}
	if p.IfNoneMatch && len(p.IfMatch) > 0 {
		return p, fault.New(fault.BadRequest, "If-Match and If-None-Match cannot be combined")
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
	var doc attr.Item
	if err == nil {
		doc, err = records.ParseDocument(body)
	}
	if err != nil {
		return nil, s.problem(ctx, s.svc.Refuse(ctx, audit.RecordPut, coll, &k, "", err))
	}
	etag, err := s.svc.PutRecord(ctx, coll, k, doc, p)
	if err != nil {
		return nil, s.problem(ctx, err)
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
	r, err := s.svc.GetRecord(ctx, coll, k)
	if err != nil {
		return nil, s.problem(ctx, err)
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
	if err != nil {
		return nil, s.problem(ctx, s.svc.Refuse(ctx, audit.RecordDelete, coll, &k, "", err))
	}
	if err := s.svc.DeleteRecord(ctx, coll, k, p); err != nil {
		return nil, s.problem(ctx, err)
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
	var doc attr.Item
	if err == nil {
		doc, err = records.ParseDocument(body)
	}
	if err != nil {
		return nil, s.problem(ctx, s.svc.Refuse(ctx, audit.RecordPatch, coll, &k, "", err))
	}
	r, err := s.svc.PatchRecord(ctx, coll, k, doc, p)
	if err != nil {
		return nil, s.problem(ctx, err)
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
	page, err := s.svc.ListRecords(ctx, in.Name, records.Query{Filters: in.filters, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, s.problem(ctx, err)
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
