package server_test

import (
	"net/http"
	"strings"
)

// routeSpec is one row of the route table (api/routes.go) as a client
// sees it: method, path and the error statuses it documents.
type routeSpec struct {
	method, path string
	errors       []int
}

var (
	authErrs   = []int{401, 403, 429, 500, 503}
	recordErrs = []int{400, 401, 403, 404, 410, 412, 413, 422, 429, 500, 503}
	collErrs   = []int{401, 403, 404, 429, 500, 503}
	keyErrs    = []int{401, 403, 404, 409, 410, 422, 429, 500, 503}
)

// routeTable is every route the server serves (but /openapi.json and
// /docs, which document the others).
var routeTable = func() []routeSpec {
	rs := []routeSpec{
		{http.MethodGet, "/healthz", nil},
		{http.MethodGet, "/readyz", authErrs},
		{http.MethodPost, "/items/", recordErrs},
		{http.MethodGet, "/items/", []int{401, 403, 422}},
		{http.MethodGet, "/items/{item_id}", recordErrs},
		{http.MethodGet, "/metrics", authErrs},
		{http.MethodGet, "/v1/collections", authErrs},
		{http.MethodPut, "/v1/collections/{name}", []int{401, 403, 404, 409, 422, 429, 500, 503}},
		{http.MethodGet, "/v1/collections/{name}", collErrs},
		{http.MethodGet, "/v1/collections/{name}/reader-config", append([]int{410}, collErrs...)},
		{http.MethodGet, "/v1/collections/{name}/beacons", append([]int{410}, collErrs...)},
		{http.MethodGet, "/v1/collections/{name}/records", recordErrs},
		{http.MethodPost, "/v1/collections/{name}/records:batchGet", recordErrs},
		{http.MethodPost, "/v1/collections/{name}/records:batchPut", recordErrs},
	}
	for _, p := range []string{"/v1/collections/{name}/records/{id}", "/v1/collections/{name}/records/{id}/{sort}"} {
		rs = append(rs,
			routeSpec{http.MethodGet, p, recordErrs},
			routeSpec{http.MethodPut, p, recordErrs},
			routeSpec{http.MethodPatch, p, append([]int{409}, recordErrs...)},
			routeSpec{http.MethodDelete, p, recordErrs},
		)
	}
	return append(rs,
		routeSpec{http.MethodGet, "/v1/collections/{name}/keys", keyErrs},
		routeSpec{http.MethodPost, "/v1/collections/{name}/keys:rotate", keyErrs},
		routeSpec{http.MethodPost, "/v1/collections/{name}/keys:retire", keyErrs},
		routeSpec{http.MethodPut, "/v1/collections/{name}/keys/schedule", keyErrs},
		routeSpec{http.MethodPost, "/v1/collections/{name}/keys:rewrap", keyErrs},
		routeSpec{http.MethodGet, "/v1/collections/{name}/keys/rewrap", keyErrs},
		routeSpec{http.MethodDelete, "/v1/collections/{name}/keys", keyErrs},
		routeSpec{http.MethodPost, "/v1/collections/{name}/imports", keyErrs},
		routeSpec{http.MethodGet, "/v1/collections/{name}/imports", keyErrs},
		routeSpec{http.MethodGet, "/v1/collections/{name}/imports/problems", keyErrs},
		routeSpec{http.MethodPost, "/v1/tokens", []int{401, 403, 409, 422, 429, 500, 503}},
		routeSpec{http.MethodGet, "/v1/tokens", authErrs},
		routeSpec{http.MethodDelete, "/v1/tokens/{name}", []int{401, 404, 429, 500, 503}},
		routeSpec{http.MethodGet, "/v1/audit", []int{401, 403, 422, 429, 500, 503}},
		routeSpec{http.MethodPost, "/v1/audit:verify", []int{401, 403, 422, 429, 500, 503}},
	)
}()

// v1Routes are the /v1 rows of routeTable.
var v1Routes = func() []routeSpec {
	var out []routeSpec
	for _, r := range routeTable {
		if strings.HasPrefix(r.path, "/v1/") {
			out = append(out, r)
		}
	}
	return out
}()
