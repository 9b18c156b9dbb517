package audit

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/secret"
)

// HKDF info strings of the two audit keys; the version lets a later format
// use fresh keys.
const (
	infoChain  = "sealstore audit chain v1"
	infoRecord = "sealstore audit record v1"
)

// Labels that open every MAC input, so that no input of one kind reads as
// one of another.
const (
	labelGenesis = "genesis"
	labelEntry   = "entry"
	labelEntry2  = "entry v2"
	labelBatch   = "batch"
	labelRecord  = "record"
)

// recordIDLen is the length of a record id's MAC in bytes (128 bits).
const recordIDLen = 16

// keySet holds the keys derived from the audit branch key's beacon key.
type keySet struct {
	chain      *macKey // MACs chain links, entries and batches
	record     *macKey // MACs record ids
	checkpoint *macKey // seals checkpoints
}

// macKey is an HMAC-SHA256 key with a pool of keyed hashes, so that a MAC
// costs neither the key's hashing nor an allocation of the hash state.
type macKey struct {
	pool sync.Pool
}

func newMACKey(key []byte) *macKey {
	k := secret.New(key)
	m := &macKey{}
	m.pool.New = func() any { return hmac.New(sha256.New, k.InsecureBytes()) }
	return m
}

// ensureKeys loads the audit keys, creating the branch key first if it is
// missing. It asks for the key before creating one, since Create costs a
// root-key call and writes even when the key exists.
func ensureKeys(ctx context.Context, keys Keys) (keySet, error) {
	ks, err := loadKeys(ctx, keys)
	if !errors.Is(err, hierarchy.ErrNotFound) {
		// Loaded, or failed for a reason that creating a key would not
		// cure (the root key unreachable, a tampered key store).
		return ks, err
	}
	_, err = keys.Create(ctx, KeyID)
	if err != nil && !errors.Is(err, keystore.ErrExists) {
		return keySet{}, fmt.Errorf("audit: create key %s: %w", KeyID, err)
	}
	return loadKeys(ctx, keys)
}

// EnsureKey creates the audit branch key if it is missing, so that
// 'sealstore init' does the root-key work once rather than the first
// request of every new deployment.
func EnsureKey(ctx context.Context, keys Keys) error {
	_, err := ensureKeys(ctx, keys)
	return err
}

// loadKeys derives the audit keys from the beacon key of KeyID. The beacon
// key is left as it is: a Keys may share it with a cache.
func loadKeys(ctx context.Context, keys Keys) (keySet, error) {
	beacon, err := keys.BeaconKey(ctx, KeyID)
	if err != nil {
		return keySet{}, fmt.Errorf("audit: load key %s: %w", KeyID, err)
	}
	if beacon.Len() != keystore.KeyLen {
		return keySet{}, fmt.Errorf("audit: key %s is not %d bytes", KeyID, keystore.KeyLen)
	}
	chain, err := hkdf.Key(sha256.New, beacon.InsecureBytes(), nil, infoChain, sha256.Size)
	if err != nil {
		return keySet{}, fmt.Errorf("audit: derive chain key: %w", err)
	}
	record, err := hkdf.Key(sha256.New, beacon.InsecureBytes(), nil, infoRecord, sha256.Size)
	if err != nil {
		return keySet{}, fmt.Errorf("audit: derive record key: %w", err)
	}
	cp, err := checkpointKey(chain)
	if err != nil {
		return keySet{}, fmt.Errorf("audit: derive checkpoint key: %w", err)
	}
	return keySet{chain: newMACKey(chain), record: newMACKey(record), checkpoint: newMACKey(cp)}, nil
}

// macInput is the encoding a MAC covers: every field as its 4-byte
// big-endian length and its bytes, so that distinct field lists never
// encode alike.
type macInput []byte

func (m macInput) str(s string) macInput {
	m = binary.BigEndian.AppendUint32(m, uint32(len(s)))
	return append(m, s...)
}

func (m macInput) bytes(b []byte) macInput {
	m = binary.BigEndian.AppendUint32(m, uint32(len(b)))
	return append(m, b...)
}

func (m macInput) u64(n uint64) macInput {
	m = binary.BigEndian.AppendUint32(m, 8)
	return binary.BigEndian.AppendUint64(m, n)
}

func sum(key *macKey, in macInput) []byte {
	h := key.pool.Get().(hash.Hash)
	h.Write(in)
	out := h.Sum(nil)
	h.Reset()
	key.pool.Put(h)
	return out
}

// recordID is Log.RecordID.
func (k keySet) recordID(collection, id string) string {
	in := macInput(nil).str(labelRecord).str(collection).str(id)
	return hex.EncodeToString(sum(k.record, in)[:recordIDLen])
}

// genesis is the MAC the first entry of chain links to.
func (k keySet) genesis(chain string) []byte {
	return sum(k.chain, macInput(nil).str(labelGenesis).str(chain))
}

// entryMAC is the MAC of entry s of chain, which follows the entry whose
// MAC is prev.
func (k keySet) entryMAC(chain string, prev []byte, s *sealed) []byte {
	label := labelEntry
	if s.format == format2 {
		label = labelEntry2
	}
	in := macInput(nil).str(label).str(chain).u64(s.seq).bytes(prev).
		str(s.time).str(s.token).str(s.action).str(s.collection).str(s.record).str(s.outcome).str(s.detail)
	if s.format == format2 {
		in = in.str(s.etag).str(s.request).str(s.client)
	}
	return sum(k.chain, in)
}

// batchMAC binds batch n of chain to its last entry, so that entries cut
// from the end of a batch show even in a chain's newest batch.
func (k keySet) batchMAC(chain string, n uint64, last *sealed) []byte {
	in := macInput(nil).str(labelBatch).str(chain).u64(n).u64(last.seq).bytes(last.mac)
	return sum(k.chain, in)
}
