package records_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// fakeSource is an import source in memory: a table keyed as table says
// and a KMS that knows the data keys it made, under which key each.
type fakeSource struct {
	table store.Table
	pin   string // the key Decrypt is pinned to

	mu       sync.Mutex
	items    map[string]attr.Item // by the partition key's string form
	dataKeys map[string]fakeDataKey
	decrypts int
	passes   int
	// beforeScan, if set, runs before the first Scan of the n-th pass
	// over the table (from 1: the count), unlocked.
	beforeScan func(n int)
	// onDecrypt, if set, runs before each Decrypt (n from 1), unlocked;
	// an error it returns is the call's.
	onDecrypt func(ctx context.Context, n int) error
}

type fakeDataKey struct {
	keyID string
	key   []byte
}

const (
	fakeKey      = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-00000000000a"
	fakeOtherKey = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-00000000000b"
)

func newFakeSource() *fakeSource {
	return &fakeSource{table: store.Table{Name: "secure_items", PartitionKey: "item_id"}, pin: fakeKey,
		items: map[string]attr.Item{}, dataKeys: map[string]fakeDataKey{}}
}

// opener opens f, whatever the settings, after checking that the job
// asks for KMS exactly for the reference layout.
func (f *fakeSource) opener(t *testing.T) records.SourceOpener {
	return func(_ context.Context, src records.ImportSource, kms bool) (records.Source, error) {
		if kms != (src.KMSKeyID != "") {
			t.Errorf("OpenSource(kms=%v) for %+v", kms, src)
		}
		return f, nil
	}
}

func (f *fakeSource) KeySchema(_ context.Context, table string) (store.Table, error) {
	if table != f.table.Name {
		return store.Table{}, fmt.Errorf("fake: %w", store.ErrNotFound)
	}
	return f.table, nil
}

func (f *fakeSource) Scan(_ context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	if cursor == nil {
		f.mu.Lock()
		f.passes++
		n, hook := f.passes, f.beforeScan
		f.mu.Unlock()
		if hook != nil {
			hook(n)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := slices.Sorted(maps.Keys(f.items))
	start := 0
	if cursor != nil {
		start, _ = slices.BinarySearch(keys, string(cursor))
		if start < len(keys) && keys[start] == string(cursor) {
			start++
		}
	}
	end := min(start+limit, len(keys))
	var page store.Page
	for _, k := range keys[start:end] {
		page.Items = append(page.Items, maps.Clone(f.items[k]))
	}
	if end < len(keys) {
		page.Next = []byte(keys[end-1])
	}
	return page, nil
}

func (f *fakeSource) DeleteUnchanged(_ context.Context, t store.Table, it attr.Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := keyString(it[t.PartitionKey])
	cur, ok := f.items[k]
	if !ok {
		return store.ErrConflict
	}
	for name, v := range it {
		if !attr.Equal(cur[name], v) {
			return store.ErrConflict
		}
	}
	delete(f.items, k)
	return nil
}

func (f *fakeSource) Decrypt(ctx context.Context, blob []byte) (secret.Bytes, error) {
	f.mu.Lock()
	f.decrypts++
	n, hook := f.decrypts, f.onDecrypt
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, n); err != nil {
			return secret.Bytes{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dk, ok := f.dataKeys[string(blob)]
	if !ok || dk.keyID != f.pin {
		return secret.Bytes{}, fmt.Errorf("fake KMS: IncorrectKeyException: %w", keystore.ErrUnwrap)
	}
	return secret.Copy(dk.key), nil
}

func keyString(v attr.Value) string {
	switch v := v.(type) {
	case attr.S:
		return string(v)
	case attr.N:
		return string(v)
	}
	return fmt.Sprint(v)
}

// put stores it in the source table.
func (f *fakeSource) put(it attr.Item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[keyString(it[f.table.PartitionKey])] = maps.Clone(it)
}

func (f *fakeSource) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items)
}

func (f *fakeSource) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.decrypts
}

// encrypt is the reference's encrypt_data: a fresh data key of keyID
// (GenerateDataKey AES_256), AES-GCM with a random 12-byte nonce and no
// associated data. It returns the item the reference stores for id.
func (f *fakeSource) encrypt(t *testing.T, keyID, id, plaintext string) attr.Item {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	blob := []byte("blob-" + rand.Text())
	f.mu.Lock()
	f.dataKeys[string(blob)] = fakeDataKey{keyID: keyID, key: key}
	f.mu.Unlock()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return attr.Item{"item_id": attr.S(id), "sensitive_field": attr.B(gcm.Seal(nil, nonce, []byte(plaintext), nil)),
		"encrypted_key": attr.B(blob), "nonce": attr.B(nonce)}
}

// errKMSDown is a KMS outage.
var errKMSDown = fmt.Errorf("fake KMS: %w: connection refused", materials.ErrUnavailable)

// waitImport waits for coll's import to end and returns it.
func waitImport(t *testing.T, svc *records.Service, coll string) records.ImportJob {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		j, err := svc.ImportStatus(t.Context(), coll)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != records.JobRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import still runs after a minute: %+v", j)
		}
	}
}

// problems returns every problem of coll's import, by the key's JSON.
func problems(t *testing.T, svc *records.Service, coll string) map[string]records.ImportProblem {
	t.Helper()
	out := map[string]records.ImportProblem{}
	cursor := ""
	for {
		page, err := svc.ImportProblems(t.Context(), coll, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Problems {
			if _, dup := out[string(p.Key)]; dup {
				t.Errorf("problem of %s listed twice", p.Key)
			}
			out[string(p.Key)] = p
		}
		if page.Cursor == "" {
			return out
		}
		cursor = page.Cursor
	}
}

func idKey(id string) string {
	b, _ := json.Marshal(map[string]string{"item_id": id})
	return string(b)
}

// imports counts the records Options.Imported was told of, by key.
type imports struct {
	mu    sync.Mutex
	etags map[records.Key][]string
}

func (im *imports) hook(_ context.Context, coll string, k records.Key, etag string) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.etags == nil {
		im.etags = map[records.Key][]string{}
	}
	im.etags[k] = append(im.etags[k], etag)
	return nil
}

func (im *imports) of(k records.Key) []string {
	im.mu.Lock()
	defer im.mu.Unlock()
	return slices.Clone(im.etags[k])
}

func itoa(i int) string { return strconv.Itoa(i) }

// rand32 is 32 random characters.
func rand32() string { return rand.Text()[:26] + rand.Text()[:6] }

// newSecretText is a distinct secret for id, with characters JSON must
// escape and multi-byte UTF-8.
func newSecretText(id string) string { return "secret \"" + id + "\" \\ é€😀 " + rand.Text() }
