package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
)

// encodedForms returns the byte strings that reveal s in data: s itself,
// its hex (lower and upper case) and its base64 (standard and URL
// alphabets, padded and raw) at each of the three alignments a substring
// of a base64 stream can have.
func encodedForms(s string) map[string]string {
	forms := map[string]string{
		"plain":     s,
		"hex":       hex.EncodeToString([]byte(s)),
		"HEX":       strings.ToUpper(hex.EncodeToString([]byte(s))),
		"b64std":    base64.StdEncoding.EncodeToString([]byte(s)),
		"b64url":    base64.URLEncoding.EncodeToString([]byte(s)),
		"b64stdraw": base64.RawStdEncoding.EncodeToString([]byte(s)),
		"b64urlraw": base64.RawURLEncoding.EncodeToString([]byte(s)),
	}
	// Inside a longer stream s may start at any offset mod 3: the bytes
	// from the first group boundary on, in whole groups, encode the same
	// way whatever surrounds them.
	for j := range 3 {
		part := []byte(s[j:])
		part = part[:len(part)/3*3]
		forms[fmt.Sprintf("b64std@%d", j)] = base64.RawStdEncoding.EncodeToString(part)
		forms[fmt.Sprintf("b64url@%d", j)] = base64.RawURLEncoding.EncodeToString(part)
	}
	return forms
}

// findForms reports the forms of s found in data.
func findForms(data []byte, s string) []string {
	var found []string
	for name, f := range encodedForms(s) {
		if bytes.Contains(data, []byte(f)) {
			found = append(found, name)
		}
	}
	return found
}

// TestCanaryDetector checks that findForms sees a canary embedded at any
// offset in each encoding, so a clean result from it means something.
func TestCanaryDetector(t *testing.T) {
	t.Parallel()
	canary := "canary-" + randHex(16)
	encs := map[string]func([]byte) string{
		"plain":     func(b []byte) string { return string(b) },
		"hex":       hex.EncodeToString,
		"HEX":       func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) },
		"b64std":    base64.StdEncoding.EncodeToString,
		"b64url":    base64.URLEncoding.EncodeToString,
		"b64stdraw": base64.RawStdEncoding.EncodeToString,
		"b64urlraw": base64.RawURLEncoding.EncodeToString,
	}
	for name, enc := range encs {
		for k := range 5 {
			blob := []byte(strings.Repeat("~", k) + canary + strings.Repeat("#", k))
			if len(findForms([]byte("x"+enc(blob)+"y"), canary)) == 0 {
				t.Errorf("%s at offset %d: canary not detected", name, k)
			}
		}
	}
	if f := findForms([]byte("nothing here "+randHex(64)), canary); len(f) != 0 {
		t.Errorf("false positive: %v", f)
	}
}

// 8. Secrets never reach the disk or the log in any plain encoding, and
// tokens never reach the log.
func TestCanaries(t *testing.T) {
	t.Parallel()
	out, log := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	s := startServer(t, opts{out: out, log: log})
	tok := s.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("no bootstrap token printed; Out:\n%s", out.String())
	}
	run := randHex(4)
	canary := func(what string) string { return "cnry-" + what + "-" + run + "-" + randHex(12) }
	var stored, refused []string

	// Stored secrets, through every route that takes one.
	c1, c2, c3, c4 := canary("first"), canary("replace"), canary("unicode"), canary("large")
	stored = append(stored, c1, c2, c3, c4)
	s.mustStore(tok, "item-a", c1)
	s.mustRead(tok, "item-a", c1)
	s.mustStore(tok, "item-a", c2) // replace
	s.mustRead(tok, "item-a", c2)
	s3 := "préfixe ✓ " + c3 + " \u2028 suffix"
	s.mustStore(tok, "item-b", s3)
	s.mustRead(tok, "item-b", s3)
	s4 := strings.Repeat("z", 200<<10) + c4 + strings.Repeat("z", 1000)
	s.mustStore(tok, "item-c", s4)
	s.mustRead(tok, "item-c", s4)
	// A read-back response does hold the secret (the detector works on it).
	if r := s.get(tok, "item-a"); len(findForms(r.body, c2)) == 0 {
		t.Fatalf("canary not found in its own read-back: %s", r.body)
	}

	// Refused requests carrying canaries.
	post := func(what string, body []byte, header map[string]string, token string) {
		t.Helper()
		r := s.do(http.MethodPost, "/items/", token, body, header)
		if r.status < 400 || r.status > 499 {
			t.Errorf("%s: status %d; want a 4xx", what, r.status)
		}
		for _, c := range refused {
			if f := findForms(r.body, c); len(f) != 0 {
				t.Errorf("%s: response body holds a canary (%v): %s", what, f, r.body)
			}
		}
	}
	mk := func(v any) []byte { b, _ := json.Marshal(v); return b }
	cObj, cArr, cSyntax, cCT, cBig, cNoID, cCtl, cNoTok, cTok, cHTTP :=
		canary("obj"), canary("arr"), canary("syntax"), canary("ctype"), canary("big"),
		canary("noid"), canary("ctl"), canary("notoken"), canary("authz"), canary("http")
	refused = append(refused, cObj, cArr, cSyntax, cCT, cBig, cNoID, cCtl, cNoTok, cTok, cHTTP)
	post("object secret", mk(map[string]any{"id": "item-a", "secret": map[string]string{"k": cObj}}), nil, tok)
	post("array secret", mk(map[string]any{"id": "item-a", "secret": []string{cArr}}), nil, tok)
	post("syntax error", []byte(`{"id":"item-a","secret":"`+cSyntax+`"`), nil, tok)
	post("text/plain", mk(map[string]string{"id": "item-a", "secret": cCT}), map[string]string{"Content-Type": "text/plain"}, tok)
	post("over the limit", mk(map[string]string{"id": "item-a", "secret": strings.Repeat(cBig, api.DefaultMaxBody/len(cBig)+10)}), nil, tok)
	post("missing id", mk(map[string]string{"secret": cNoID}), nil, tok)
	post("control character id", mk(map[string]string{"id": "a\x01b", "secret": cCtl}), nil, tok)
	post("no token", mk(map[string]string{"id": "item-a", "secret": cNoTok}), nil, "")
	post("canary as token", mk(map[string]string{"id": "item-a", "secret": cTok}), map[string]string{"Authorization": "Bearer " + cTok}, "")
	badTok := "sst_" + randB64URL(32)
	post("unknown sst_ token", mk(map[string]string{"id": "item-a", "secret": cTok}), nil, badTok)
	if s.httpAddr != "" {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.httpAddr+"/items/",
			strings.NewReader(string(mk(map[string]string{"id": "item-a", "secret": cHTTP}))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("plain-HTTP POST: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if len(findForms(b, cHTTP)) != 0 || strings.Contains(string(b), tok) {
			t.Errorf("plain-HTTP response echoes the secret or token: %s", b)
		}
	}
	s.mustRead(tok, "item-a", c2) // no refused request changed it

	if err := s.stop(); err != nil {
		t.Fatalf("server.Run: %v", err)
	}

	// Every byte of every file in the data directory.
	var files []string
	err := filepath.WalkDir(s.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// On DynamoDB the data directory holds only the certificate; the
	// records and keys are every byte of every value of every table.
	blobs := map[string][]byte{}
	if b := backendFor(t, s.dataDir); b.Kind == server.KindDynamoDB {
		for table, data := range rawTables(t, b) {
			blobs["DynamoDB table "+table] = data
		}
		if len(blobs) < 4 {
			t.Fatalf("only %d DynamoDB tables: %v", len(blobs), blobs)
		}
	} else if len(files) < 3 {
		t.Fatalf("only %d files in the data directory: %v", len(files), files)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(s.dataDir, path)
		blobs["data file "+rel] = data
	}
	all := append(append([]string{}, stored...), refused...)
	for rel, data := range blobs {
		for _, c := range all {
			if f := findForms(data, c); len(f) != 0 {
				t.Errorf("%s holds canary %s as %v", rel, c, f)
			}
		}
		for _, secretTok := range []string{tok, badTok} {
			if f := findForms(data, secretTok); len(f) != 0 {
				t.Errorf("%s holds a bearer token as %v", rel, f)
			}
		}
	}

	// The log: no canary, no token, not even the sst_ prefix.
	logData := log.Bytes()
	if len(logData) == 0 {
		t.Fatal("the log is empty")
	}
	for _, c := range all {
		if f := findForms(logData, c); len(f) != 0 {
			t.Errorf("the log holds canary %s as %v", c, f)
		}
	}
	for _, secretTok := range []string{tok, badTok} {
		if f := findForms(logData, secretTok); len(f) != 0 {
			t.Errorf("the log holds a bearer token as %v", f)
		}
	}
	if bytes.Contains(logData, []byte("sst_")) {
		t.Errorf("the log holds an sst_ string")
	}
	// Out: the banner shows the bootstrap token once and nothing else secret.
	outData := out.String()
	if n := strings.Count(outData, tok); n != 1 {
		t.Errorf("the bootstrap token appears %d times in Out; want once", n)
	}
	if n := countTokens(outData); n != 1 {
		t.Errorf("Out holds %d sst_ strings; want 1", n)
	}
	for _, c := range all {
		if f := findForms([]byte(outData), c); len(f) != 0 {
			t.Errorf("Out holds canary %s as %v", c, f)
		}
	}
}
