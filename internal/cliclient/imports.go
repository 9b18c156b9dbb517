package cliclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sealstore/sealstore/internal/records"
)

// Imports drives a server's import routes; its methods are those of the
// use cases they reach.
type Imports struct{ C *Client }

func importsPath(coll string) string { return "/v1/collections/" + url.PathEscape(coll) + "/imports" }

// StartImport is POST .../imports.
func (i Imports) StartImport(ctx context.Context, coll string, r records.ImportRequest) (j records.ImportJob, err error) {
	return j, i.C.Do(ctx, http.MethodPost, importsPath(coll), r, &j)
}

// ImportStatus is GET .../imports.
func (i Imports) ImportStatus(ctx context.Context, coll string) (j records.ImportJob, err error) {
	return j, i.C.Do(ctx, http.MethodGet, importsPath(coll), nil, &j)
}

// ImportProblems is GET .../imports/problems.
func (i Imports) ImportProblems(ctx context.Context, coll, cursor string, limit int) (p records.ImportProblems, err error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := importsPath(coll) + "/problems"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return p, i.C.Do(ctx, http.MethodGet, path, nil, &p)
}
