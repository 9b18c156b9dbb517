package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/records"
)

// slowKeys answers a key status after delay; its other methods are not
// called by the test (the embedded nil interface would panic if they were).
type slowKeys struct {
	KeyAdmin
	delay time.Duration
}

func (k slowKeys) KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error) {
	select {
	case <-time.After(k.delay):
		return records.KeyStatus{Collection: coll, ActiveVersion: 3, MinDecryptableVersion: 1}, nil
	case <-ctx.Done():
		return records.KeyStatus{}, ctx.Err()
	}
}

// A route allowed longer than the HTTP server's write timeout still gets
// its answer out: the key routes count every record and may take minutes
// where the server allows a minute to write. Over HTTP/1.1, which
// sealstore's own server speaks, and HTTP/2, for a Go service that mounts
// this handler on a server that offers it. Here the server allows 300 ms
// and the status takes 1 s.
func TestLongRouteOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	s := newTestServerWith(t, 1000, func(c *Config) { c.Keys = slowKeys{delay: time.Second} })
	hs := httptest.NewUnstartedServer(s.h)
	hs.EnableHTTP2 = true
	hs.Config.WriteTimeout = 300 * time.Millisecond
	hs.StartTLS()
	t.Cleanup(hs.Close)

	h1 := hs.Client().Transport.(*http.Transport).Clone()
	h1.ForceAttemptHTTP2 = false
	h1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	h1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	for proto, c := range map[string]*http.Client{"HTTP/2.0": hs.Client(), "HTTP/1.1": {Transport: h1}} {
		req, err := http.NewRequest(http.MethodGet, hs.URL+"/v1/collections/c/keys", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.secrets["admin"])
		res, err := c.Do(req)
		if err != nil {
			t.Errorf("%s: a key status slower than the write timeout: %v; want its answer", proto, err)
			continue
		}
		var st records.KeyStatus
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if res.Proto != proto || res.StatusCode != http.StatusOK || err != nil || st.Collection != "c" || st.ActiveVersion != 3 {
			t.Errorf("%s: %s %d, %+v (%v); want 200 with the status of c, active version 3", proto, res.Proto, res.StatusCode, st, err)
		}
	}
}

// slowBatch answers a batch put after delay, or the context's error if it
// ends first.
type slowBatch struct {
	Records
	delay time.Duration
}

func (r slowBatch) BatchPut(ctx context.Context, _ string, reqs []records.PutRequest) ([]records.Result, error) {
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]records.Result, len(reqs))
	for i, q := range reqs {
		out[i] = records.Result{Key: q.Key, ETag: `"e"`}
	}
	return out, nil
}

// A write still working when the deadline for reading its body has passed
// keeps its context, and so its answer. Once the body is read net/http
// reads the connection in the background and cancels the request's context
// if that read fails; huma, left to itself, set a read deadline (5 s)
// after that read began, so a batch put to a slow store came back 499 once
// it had run 5 s.
func TestWriteOutlivesBodyReadDeadline(t *testing.T) {
	t.Parallel()
	delay := bodyReadTimeout + time.Second
	s := newTestServerWith(t, 1000, func(c *Config) { c.Records = slowBatch{Records: c.Records, delay: delay} })
	hs := httptest.NewTLSServer(s.h)
	t.Cleanup(hs.Close)
	req, err := http.NewRequest(http.MethodPost, hs.URL+"/v1/collections/c/records:batchPut",
		strings.NewReader(`{"records":[{"id":"a","record":{"id":"a","secret":"s"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.secrets["admin"])
	req.Header.Set("Content-Type", "application/json")
	res, err := hs.Client().Do(req)
	if err != nil {
		t.Fatalf("a batch put slower than the body's read deadline: %v; want its answer", err)
	}
	defer res.Body.Close()
	var out struct{ Results []struct{ Status int } }
	err = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusOK || err != nil || len(out.Results) != 1 || out.Results[0].Status/100 != 2 {
		t.Errorf("a batch put slower than the body's read deadline: %d, %+v (%v); want 200 with the record stored", res.StatusCode, out, err)
	}
}
