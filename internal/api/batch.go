package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
)

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
	results, err := s.svc.BatchGet(ctx, in.Name, keys)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.batchOut(ctx, results)
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
	results := make([]records.Result, len(in.Body.Records))
	var send []records.PutRequest
	var at []int
	for i, e := range in.Body.Records {
		req, err := putRequest(i, e)
		if err != nil {
			// Entries that do not parse are not sent; the rest are.
			results[i] = s.svc.RefuseBatchEntry(ctx, in.Name, audit.RecordPut, req.Key, err)
			continue
		}
		send = append(send, req)
		at = append(at, i)
	}
	if len(send) > 0 {
		got, err := s.svc.BatchPut(ctx, in.Name, send)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		for j, r := range got {
			results[at[j]] = r
		}
	}
	return s.batchOut(ctx, results)
}

// putRequest is entry i of a batch put, parsed.
func putRequest(i int, e batchPutEntry) (records.PutRequest, error) {
	req := records.PutRequest{Key: records.Key{ID: e.ID, Sort: e.Sort}}
	req.Cond.IfNoneMatch = e.IfNoneMatch
	if e.IfMatch != "" {
		req.Cond.IfMatch = []string{e.IfMatch}
	}
	field := fmt.Sprintf("body.records[%d]", i)
	var err error
	switch {
	case e.IfMatch != "" && e.IfNoneMatch:
		err = &records.InvalidError{Field: field, Reason: "ifMatch and ifNoneMatch cannot be combined"}
	case e.IfMatch != "" && !validETag(e.IfMatch):
		err = &records.InvalidError{Field: field + ".ifMatch", Reason: `must be an entity tag ("...") or *`}
	default:
		req.Doc, err = records.ParseDocument(e.Record)
	}
	return req, err
}

// batchOut renders batch results (each already audited).
func (s *server) batchOut(ctx context.Context, results []records.Result) (*batchOutput, error) {
	out := &batchOutput{}
	out.Body.Results = make([]batchResult, len(results))
	for i, r := range results {
		br := batchResult{ID: r.Key.ID, Sort: r.Key.Sort, Status: http.StatusOK, ETag: r.ETag}
		switch {
		case r.Err != nil:
			c := s.classify(ctx, r.Err)
			br.Status, br.Error, br.ETag = c.Kind.Status(), c.Message, ""
		case r.Record.Doc != nil:
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
