package records

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// Source is an import's source as a job reads it: a DynamoDB table the
// server reaches with its own AWS credentials and, for the reference
// layout, the KMS key the table's data keys were made under (package
// server adapts store/dynamo and keystore/kmsroot to it).
type Source interface {
	// KeySchema says how the table is keyed: store.ErrNotFound if it
	// does not exist.
	KeySchema(ctx context.Context, table string) (store.Table, error)
	// Scan reads a page of the table, as store.Store.Scan does.
	Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error)
	// DeleteUnchanged deletes the item under it's key if every attribute
	// of it still has its value: store.ErrConflict otherwise.
	DeleteUnchanged(ctx context.Context, t store.Table, it attr.Item) error
	// Decrypt is one KMS Decrypt of a data key under the source's key
	// (pinned): an error matching keystore.ErrUnwrap if KMS refuses the
	// ciphertext (another key's, or damaged), one matching
	// materials.ErrUnavailable if KMS cannot be reached.
	Decrypt(ctx context.Context, encryptedKey []byte) (secret.Bytes, error)
}

// SourceOpener opens an import's source; kms says whether the import
// decrypts with the source's KMS key (the reference layout). Settings it
// refuses are an *InvalidError naming the field.
type SourceOpener func(ctx context.Context, src ImportSource, kms bool) (Source, error)

// The reference system's item layout in its table secure_items: the AES
// key of each item is a KMS data key (GenerateDataKey, AES_256) whose
// CiphertextBlob is stored beside the AES-GCM ciphertext and its nonce.
const (
	refID         = "item_id"         // S
	refCiphertext = "sensitive_field" // B: AES-256-GCM ciphertext and tag, no associated data
	refKey        = "encrypted_key"   // B: the KMS CiphertextBlob of the data key
	refNonce      = "nonce"           // B, 12 bytes
	refNonceLen   = 12
	refKeyLen     = 32
	// maxKMSCiphertext is the largest CiphertextBlob KMS accepts.
	maxKMSCiphertext = 6144
)

// Why a source item was not imported (or, later, not verified or not
// deleted): codes that name no value. ImportReasons describes each.
const (
	reasonMissingAttribute    = "missing_attribute"
	reasonUnexpectedAttribute = "unexpected_attribute"
	reasonWrongType           = "wrong_type"
	reasonBadNonce            = "bad_nonce"
	reasonBadEncryptedKey     = "bad_encrypted_key"
	reasonKeyNotDecrypted     = "key_not_decrypted"
	reasonBadTag              = "bad_tag"
	reasonNotUTF8             = "not_utf8"
	reasonBadID               = "bad_id"
	reasonUnmapped            = "unmapped_attribute"
	reasonUnsupportedType     = "unsupported_type"
	reasonMissingKey          = "missing_key"
	reasonInvalid             = "invalid"
	reasonTooLarge            = "too_large"
	reasonConflict            = "conflict"
	reasonConflictUnreadable  = "conflict_unreadable"
	reasonNotImported         = "not_imported"
	reasonSourceChanged       = "source_changed"
	reasonMissing             = "missing"
	reasonUnreadable          = "unreadable"
	reasonDiffers             = "differs"
	reasonChangedSinceVerify  = "changed_since_verify"
	reasonDeleteRefused       = "delete_refused"
)

// ImportReasons describes every reason code an import reports.
var ImportReasons = map[string]string{
	reasonMissingAttribute:    "a required attribute is missing",
	reasonUnexpectedAttribute: "the item has an attribute the reference layout does not (importing it would lose it)",
	reasonWrongType:           "an attribute has the wrong DynamoDB type",
	reasonBadNonce:            "the nonce is not 12 bytes",
	reasonBadEncryptedKey:     "encrypted_key is empty or longer than KMS accepts",
	reasonKeyNotDecrypted:     "KMS refused to decrypt encrypted_key under the source key (another key's, or damaged)",
	reasonBadTag:              "AES-GCM authentication failed: ciphertext, tag, nonce and data key do not belong together",
	reasonNotUTF8:             "the decrypted secret is not UTF-8 text",
	reasonBadID:               "the key is not a usable record id (empty, too long, control characters, . or ..)",
	reasonUnmapped:            "the item has an attribute the map does not name (importing it would lose it)",
	reasonUnsupportedType:     "a value has no JSON form (binary or a set) or is a number DynamoDB JSON cannot carry",
	reasonMissingKey:          "a key attribute of the collection is missing, or not a string or number",
	reasonInvalid:             "the collection's schema refuses the record",
	reasonTooLarge:            "the record is over the 400 KB item limit once encrypted",
	reasonConflict:            "a record with this key exists in sealstore with other content; it was kept",
	reasonConflictUnreadable:  "a record with this key exists in sealstore and cannot be decrypted; it was kept",
	reasonNotImported:         "the source item was not imported (added to the source after the import pass read it, or failed)",
	reasonSourceChanged:       "the source item changed after it was imported and no longer matches sealstore's record",
	reasonMissing:             "sealstore's record is gone (deleted after the import)",
	reasonUnreadable:          "sealstore's record cannot be read back (tampered, retired or shredded key)",
	reasonDiffers:             "sealstore's record no longer matches the source item (changed after the import)",
	reasonChangedSinceVerify:  "the source item or sealstore's record changed after the verify pass; the source item was kept",
	reasonDeleteRefused:       "the source item changed while it was being deleted (or cannot be compared in one condition); it was kept",
}

// decoded is what a source item became: a complete record document, or
// the reason it cannot be one; kms counts the KMS calls it took.
type decoded struct {
	doc    attr.Item
	reason string
	kms    int64
}

// decodeReference decrypts an item of the reference layout into the
// items collection's document {item_id, secret}: one KMS Decrypt of its
// data key, then AES-256-GCM with its nonce and no associated data. An
// item that is malformed is refused before any KMS call.
func decodeReference(ctx context.Context, src Source, it attr.Item) (decoded, error) {
	id, ct, ek, nonce, reason := referenceParts(it)
	if reason == "" && CheckID(id) != nil {
		reason = reasonBadID
	}
	if reason != "" {
		return decoded{reason: reason}, nil
	}
	key, err := src.Decrypt(ctx, ek)
	if errors.Is(err, keystore.ErrUnwrap) {
		return decoded{reason: reasonKeyNotDecrypted, kms: 1}, nil
	}
	if err != nil {
		return decoded{kms: 1}, fmt.Errorf("records: the source's KMS key: %w", err)
	}
	defer key.Zero()
	if key.Len() != refKeyLen {
		return decoded{reason: reasonKeyNotDecrypted, kms: 1}, nil
	}
	plain, ok := openGCM(key.InsecureBytes(), nonce, ct)
	defer clear(plain)
	switch {
	case !ok:
		return decoded{reason: reasonBadTag, kms: 1}, nil
	case !utf8.Valid(plain):
		return decoded{reason: reasonNotUTF8, kms: 1}, nil
	}
	return decoded{doc: attr.Item{itemsKey: attr.S(id), itemsSecret: attr.S(plain)}, kms: 1}, nil
}

// referenceParts checks an item's attributes against the reference
// layout and returns them, or the reason it does not fit.
func referenceParts(it attr.Item) (id string, ct, ek, nonce []byte, reason string) {
	for name := range it {
		if name != refID && name != refCiphertext && name != refKey && name != refNonce {
			return "", nil, nil, nil, reasonUnexpectedAttribute
		}
	}
	for _, name := range []string{refID, refCiphertext, refKey, refNonce} {
		if _, ok := it[name]; !ok {
			return "", nil, nil, nil, reasonMissingAttribute
		}
	}
	s, ok1 := it[refID].(attr.S)
	c, ok2 := it[refCiphertext].(attr.B)
	k, ok3 := it[refKey].(attr.B)
	n, ok4 := it[refNonce].(attr.B)
	switch {
	case !ok1 || !ok2 || !ok3 || !ok4:
		return "", nil, nil, nil, reasonWrongType
	case len(n) != refNonceLen:
		return "", nil, nil, nil, reasonBadNonce
	case len(k) == 0 || len(k) > maxKMSCiphertext:
		return "", nil, nil, nil, reasonBadEncryptedKey
	}
	return string(s), c, k, n, ""
}

// openGCM decrypts ct (ciphertext and tag) under key and nonce, without
// associated data, as the reference encrypts.
func openGCM(key, nonce, ct []byte) ([]byte, bool) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	return plain, err == nil
}

// decodePlain maps an item of a plaintext table into a document of c:
// each attribute to the record attribute the map names for it (bySource:
// source name → record name), values as the JSON model of documents
// allows (S, N, BOOL, NULL, L, M). Key attributes must be strings, or
// numbers, which become their decimal strings.
func decodePlain(c *collection, bySource map[string]string, it attr.Item) decoded {
	doc := make(attr.Item, len(it))
	for name, v := range it {
		target, ok := bySource[name]
		if !ok {
			return decoded{reason: reasonUnmapped}
		}
		jv, ok := jsonValue(v)
		if !ok {
			return decoded{reason: reasonUnsupportedType}
		}
		doc[target] = jv
	}
	for _, k := range []string{c.info.Schema.PartitionKey, c.info.Schema.SortKey} {
		if k == "" {
			continue
		}
		switch v := doc[k].(type) {
		case attr.S:
			if CheckID(string(v)) != nil {
				return decoded{reason: reasonBadID}
			}
		case attr.N:
			doc[k] = attr.S(v) // jsonValue normalized it
		default:
			return decoded{reason: reasonMissingKey}
		}
	}
	return decoded{doc: doc}
}

// jsonValue is v if a JSON document can hold it (numbers normalized), or
// false for binary values and sets, which it cannot.
func jsonValue(v attr.Value) (attr.Value, bool) {
	switch v := v.(type) {
	case attr.S:
		return v, utf8.ValidString(string(v))
	case attr.N:
		n, err := attr.NormalizeNumber(string(v))
		return attr.N(n), err == nil
	case attr.Bool, attr.Null:
		return v, true
	case attr.L:
		out := make(attr.L, len(v))
		for i, e := range v {
			var ok bool
			if out[i], ok = jsonValue(e); !ok {
				return nil, false
			}
		}
		return out, true
	case attr.M:
		out := make(attr.M, len(v))
		for k, e := range v {
			jv, ok := jsonValue(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = jv
		}
		return out, true
	}
	return nil, false
}
