package cliclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/sealstore/sealstore/internal/records"
)

// Keys drives a server's key lifecycle routes; its methods are those of
// the use cases they reach.
type Keys struct{ C *Client }

func keysPath(coll string) string { return "/v1/collections/" + url.PathEscape(coll) + "/keys" }

// KeyStatus is GET .../keys.
func (k Keys) KeyStatus(ctx context.Context, coll string) (st records.KeyStatus, err error) {
	return st, k.C.Do(ctx, http.MethodGet, keysPath(coll), nil, &st)
}

// RotateKey is POST .../keys:rotate.
func (k Keys) RotateKey(ctx context.Context, coll string) (v records.KeyVersion, err error) {
	return v, k.C.Do(ctx, http.MethodPost, keysPath(coll)+":rotate", nil, &v)
}

// SetKeyPolicy is POST .../keys:retire or PUT .../keys/schedule.
func (k Keys) SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (st records.KeyStatus, err error) {
	if p.MinDecryptableVersion != nil {
		body := map[string]any{"minDecryptableVersion": *p.MinDecryptableVersion, "force": p.Force}
		return st, k.C.Do(ctx, http.MethodPost, keysPath(coll)+":retire", body, &st)
	}
	period := ""
	if p.RotationPeriod != nil && *p.RotationPeriod > 0 {
		period = p.RotationPeriod.String()
	}
	return st, k.C.Do(ctx, http.MethodPut, keysPath(coll)+"/schedule", map[string]string{"rotationPeriod": period}, &st)
}

// StartRewrap is POST .../keys:rewrap.
func (k Keys) StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (j records.RewrapJob, err error) {
	return j, k.C.Do(ctx, http.MethodPost, keysPath(coll)+":rewrap", map[string]int{"maxRate": o.MaxRate}, &j)
}

// RewrapStatus is GET .../keys/rewrap.
func (k Keys) RewrapStatus(ctx context.Context, coll string) (j records.RewrapJob, err error) {
	return j, k.C.Do(ctx, http.MethodGet, keysPath(coll)+"/rewrap", nil, &j)
}

// ShredKeys is DELETE .../keys?confirm=.
func (k Keys) ShredKeys(ctx context.Context, coll, confirm string) (r records.ShredReceipt, err error) {
	return r, k.C.Do(ctx, http.MethodDelete, keysPath(coll)+"?confirm="+url.QueryEscape(confirm), nil, &r)
}
