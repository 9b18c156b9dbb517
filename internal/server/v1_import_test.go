package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestV1ImportRefusals: every bad import request is a clear 4xx that
// names the problem, decided before the source is contacted, and in the
// audit trail; tokens without admin on the collection are refused.
func TestV1ImportRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	s.mustCollection("cust", custSchema)
	adm := s.tokens[tokAdmin]
	const arn = "arn:aws:kms:us-east-1:111122223333:key/f5a13670-b8c7-45fd-97e8-44c16135cf01"
	ref := `"source":{"table":"secure_items","region":"us-east-1","kmsKeyId":"` + arn + `"}`
	for _, c := range []struct {
		coll, body string
		status     int
		detail     string
	}{
		{"items", `{` + ref + `,"maxRate":-1}`, 422, "maxRate"},
		{"items", `{` + ref + `,"maxRate":100001}`, 422, "maxRate"},
		{"items", `{` + ref + `,"other":1}`, 422, ""},
		{"items", `{"source":{}}`, 422, ""},
		{"items", `{"source":{"table":"a/b","kmsKeyId":"` + arn + `"}}`, 422, "body.source.table"},
		{"items", `{"source":{"table":"secure_items"}}`, 422, "body.source.kmsKeyId"},
		{"items", `{"source":{"table":"secure_items","kmsKeyId":"alias/x","region":"us-east-1"}}`, 422, "body.source.kmsKeyId"},
		{"items", `{"source":{"table":"src","kmsKeyId":"` + arn + `","dynamodbEndpoint":"http://10.0.0.1:8000"}}`, 422, "body.source.dynamodbEndpoint"},
		{"items", `{"source":{"table":"src","kmsKeyId":"` + arn + `","kmsEndpoint":"ftp://kms"}}`, 422, "body.source.kmsEndpoint"},
		{"cust", `{` + ref + `}`, 422, "body.map"},
		{"cust", `{"source":{"table":"src"},"map":{"email":"e"}}`, 422, "must name the source attribute of the collection's key attribute id"},
		{"cust", `{"source":{"table":"src"},"map":{"id":"i","aws_dbe_head":"h"}}`, 422, "aws_dbe_"},
		{"cust", `{"source":{"table":"src","kmsKeyId":"` + arn + `"},"map":{"id":"i"}}`, 422, "only to the reference layout"},
		{"cust", `not json`, 400, ""},
		{"nope", `{` + ref + `}`, 404, ""},
	} {
		r := s.do(http.MethodPost, collPath(c.coll, "/imports"), adm, []byte(c.body), nil)
		p := checkProblem(t, "POST "+c.coll+"/imports "+c.body, r, c.status)
		if !strings.Contains(p.Detail+validationErrors(r.body), c.detail) {
			t.Errorf("POST %s/imports %s: detail %q does not say %q", c.coll, c.body, p.Detail, c.detail)
		}
	}
	for _, path := range []string{"/imports", "/imports/problems"} {
		checkProblem(t, "GET items"+path+" as items:read,write", s.do(http.MethodGet, collPath("items", path), s.tokens[tokRW], nil, nil), http.StatusForbidden)
		checkProblem(t, "GET items"+path+" as other:admin", s.do(http.MethodGet, collPath("items", path), s.tokens[tokOther], nil, nil), http.StatusNotFound)
	}
	checkProblem(t, "POST items/imports as items:read,write", s.do(http.MethodPost, collPath("items", "/imports"), s.tokens[tokRW], []byte(`{`+ref+`}`), nil), http.StatusForbidden)
	var job struct{ State string }
	if r := s.do(http.MethodGet, collPath("items", "/imports"), adm, nil, nil); r.status != http.StatusOK || json.Unmarshal(r.body, &job) != nil || job.State != "none" {
		t.Errorf("GET items/imports after refusals: %d %s; want state none", r.status, r.body)
	}
	r := s.do(http.MethodGet, "/v1/audit?action=record.import&collection=items&outcome=invalid", adm, nil, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"detail":"start: job= state= resumed=0 table=secure_items region=us-east-1 kmsKeyId=`) {
		t.Errorf("the refused imports are not in the audit trail: %d %s", r.status, r.body)
	}
}

// validationErrors returns the locations and messages of a problem's
// errors (huma's validation refusals, made before the handler).
func validationErrors(body []byte) string {
	var p struct {
		Errors []struct{ Location, Message string }
	}
	_ = json.Unmarshal(body, &p)
	var b strings.Builder
	for _, e := range p.Errors {
		b.WriteString(" " + e.Location + " " + e.Message)
	}
	return b.String()
}
