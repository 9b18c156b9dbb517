package cliclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/sealstore/sealstore/internal/readerconfig"
)

// ReaderConfig returns the reader configuration of collection coll (GET
// /v1/collections/{name}/reader-config).
func (c *Client) ReaderConfig(ctx context.Context, coll string) (readerconfig.Config, error) {
	var rc readerconfig.Config
	err := c.Do(ctx, http.MethodGet, "/v1/collections/"+url.PathEscape(coll)+"/reader-config", nil, &rc)
	return rc, err
}
