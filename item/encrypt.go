// Package item encrypts and decrypts one DynamoDB item in the structured
// format of the AWS Database Encryption SDK for DynamoDB (DB-ESDK): signed
// and encrypted attributes, aws_dbe_head and aws_dbe_foot, suites 0x6700 and
// 0x6701, format versions 1 and 2. It does no I/O beyond the keyring it is
// given.
//
// Decrypt verifies the header commitment, the recipient tag and (0x6701) the
// ECDSA signature before it decrypts anything, and every failure of the
// stored bytes is the single opaque ErrDecrypt. A key source that cannot be
// reached is materials.ErrUnavailable instead (retry later), and Encrypt's
// errors about the item given wrap ErrInvalidItem.
package item

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// Encryptor encrypts and decrypts items of one table configuration. It is
// safe for concurrent use.
type Encryptor struct {
	cfg   Config
	suite materials.Suite
	attrs map[string]attrInfo // every attribute cfg.Actions names
	// contextAttrs are the SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
	// attributes, sorted: every item must have them.
	contextAttrs []string
}

// attrInfo is what an item needs of a configured attribute, computed once.
type attrInfo struct {
	action Action
	path   []byte // canonical path: shared by all calls, never written
	ecKey  string // its encryption context key, aws-crypto-attr.<name>
}

// New validates cfg and returns an Encryptor.
func New(cfg Config) (*Encryptor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, _ := materials.SuiteByID(cfg.suiteID())
	e := &Encryptor{cfg: cfg.clone(), suite: s, attrs: make(map[string]attrInfo, len(cfg.Actions))}
	for name, a := range e.cfg.Actions {
		e.attrs[name] = attrInfo{action: a, path: canonicalPath(cfg.TableName, name), ecKey: ecAttrPrefix + name}
		if a == SignAndIncludeInEncryptionContext {
			e.contextAttrs = append(e.contextAttrs, name)
		}
	}
	sortStrings(e.contextAttrs)
	return e, nil
}

// Config returns a copy of the encryptor's configuration: changing it
// changes nothing here (a new configuration needs a new Encryptor).
func (e *Encryptor) Config() Config { return e.cfg.clone() }

// Encrypt returns the encrypted form of it. The input is not modified.
func (e *Encryptor) Encrypt(ctx context.Context, it attr.Item) (attr.Item, error) {
	var small [8]field // the fields of most items, on the stack
	fs, version, ctxAttrs, err := e.plainFields(it, small[:0])
	if err != nil {
		return nil, err
	}
	ec, err := e.baseContext(version, it, ctxAttrs)
	if err != nil {
		return nil, err
	}
	w := new(encryption)
	w.m = materials.Encryption{Suite: e.suite, Context: ec, EDKs: w.edks[:0], SigningKeys: w.sigs[:0]}
	m := &w.m
	signer, err := e.addSigningKey(m)
	if err != nil {
		return nil, err
	}
	if err := e.cfg.Keyring.OnEncrypt(ctx, m); err != nil {
		return nil, fmt.Errorf("item: keyring: %w", err)
	}
	defer m.Zero()
	if len(m.EDKs) == 0 || len(m.EDKs) != len(m.SigningKeys) || m.DataKey.Len() != e.suite.KeyLen {
		return nil, fmt.Errorf("item: keyring returned incomplete materials")
	}
	return e.seal(it, fs, version, m, &w.keys, signer)
}

// encryption is the state of one Encrypt call that outlives its stack
// frame, in one allocation: the materials the keyring completes (with room
// for one keyring's EDK and signing key) and the item's keys.
type encryption struct {
	m    materials.Encryption
	edks [1]materials.EDK
	sigs [1]secret.Bytes
	keys itemKeys
}

// plainFields resolves the action of every attribute and returns the signed
// ones in canonical order (in fs, an empty slice, if it has room), the
// format version, and the sorted names of the attributes bound into the
// encryption context.
func (e *Encryptor) plainFields(it attr.Item, fs []field) ([]field, byte, []string, error) {
	if err := e.checkKeys(it); err != nil {
		return nil, 0, nil, err
	}
	if cap(fs) < len(it) {
		fs = make([]field, 0, len(it))
	}
	var ctxAttrs []string
	for name, v := range it {
		a, err := e.attrFor(name)
		if err != nil {
			return nil, 0, nil, err
		}
		if v == nil {
			return nil, 0, nil, invalid("attribute %q has no value", name)
		}
		if a.action == DoNothing {
			continue
		}
		f := field{name: name, path: a.path, legend: legendSign, typeID: v.TypeID()}
		switch a.action {
		case EncryptAndSign:
			f.legend = legendEncrypt
		case SignAndIncludeInEncryptionContext:
			f.legend = legendContext
			ctxAttrs = append(ctxAttrs, name)
		}
		if err := f.setValue(v); err != nil {
			return nil, 0, nil, invalid("attribute %q: %w", name, err)
		}
		fs = append(fs, f)
	}
	sortFields(fs)
	sortStrings(ctxAttrs)
	version := byte(1)
	if len(ctxAttrs) > 0 {
		version = 2
	}
	return fs, version, ctxAttrs, nil
}

func (e *Encryptor) checkKeys(it attr.Item) error {
	if _, ok := it[e.cfg.PartitionKey]; !ok {
		return invalid("partition key %q is missing", e.cfg.PartitionKey)
	}
	if _, ok := it[e.cfg.SortKey]; e.cfg.SortKey != "" && !ok {
		return invalid("sort key %q is missing", e.cfg.SortKey)
	}
	for _, name := range e.contextAttrs {
		if _, ok := it[name]; !ok {
			return invalid("attribute %q is SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT but missing", name)
		}
	}
	return nil
}

func (e *Encryptor) attrFor(name string) (attrInfo, error) {
	if strings.HasPrefix(name, ReservedPrefix) {
		if strings.HasPrefix(name, BeaconPrefix) {
			return attrInfo{action: DoNothing}, nil
		}
		return attrInfo{}, invalid("attribute name %q uses the reserved prefix %q", name, ReservedPrefix)
	}
	if a, ok := e.attrs[name]; ok {
		return a, nil
	}
	if e.cfg.allowedUnsigned(name) {
		return attrInfo{action: DoNothing}, nil
	}
	return attrInfo{}, invalid("attribute %q has no configured action and is not an allowed unsigned attribute", name)
}

func (e *Encryptor) seal(it attr.Item, fs []field, version byte, m *materials.Encryption, keys *itemKeys, signer *signingKey) (attr.Item, error) {
	h := &Header{Version: version, Suite: e.suite, Context: storedContext(m.Context), EDKs: m.EDKs}
	rand.Read(h.MessageID[:])
	err := keys.derive(e.suite, m.DataKey, h.MessageID[:])
	defer keys.zero()
	if err != nil {
		return nil, err
	}
	h.Legend = make([]byte, len(fs))
	for i, f := range fs {
		h.Legend[i] = f.legend
	}
	// The encrypted fields, the header and the footer share one allocation.
	out := make([]byte, 0, sealedSize(fs)+h.size()+footerLen(len(m.SigningKeys), signer != nil))
	if out, err = encryptFields(out, keys, fs); err != nil {
		return nil, err
	}
	var head, foot []byte
	if out, head, err = appendHeader(out, h, keys); err != nil {
		return nil, err
	}
	if _, foot, err = e.appendFooter(out, head, m, fs, keys, signer); err != nil {
		return nil, err
	}
	return assemble(it, fs, head, foot), nil
}

// sealedSize is the stored size of the fields to encrypt.
func sealedSize(fs []field) int {
	size := 0
	for _, f := range fs {
		if f.legend == legendEncrypt {
			size += 2 + len(f.data) + len(f.text) + gcmTagLen
		}
	}
	return size
}

// encryptFields seals every field to encrypt, appending each to out. A
// string is copied to where its ciphertext goes and encrypted in place.
func encryptFields(out []byte, keys *itemKeys, fs []field) ([]byte, error) {
	ordinal := 0
	for i := range fs {
		f := &fs[i]
		if f.legend != legendEncrypt {
			continue
		}
		start := len(out)
		out = binary.BigEndian.AppendUint16(out, f.typeID)
		plain := f.data
		if f.hasText {
			n := len(out)
			out = append(out, f.text...)
			out, plain = out[:n], out[n:]
		}
		var err error
		if out, err = keys.seal(out, ordinal, f.path, plain); err != nil {
			return nil, err
		}
		f.typeID, f.data, f.text = attr.TypeB, tail(out, start), ""
		ordinal++
	}
	return out, nil
}

// appendHeader appends the header, commitment included, to out.
func appendHeader(out []byte, h *Header, keys *itemKeys) (_, head []byte, err error) {
	start := len(out)
	if out, err = h.appendPartial(out); err != nil {
		return nil, nil, err
	}
	h.Commitment = keys.commitment(out[start:])
	out = append(out, h.Commitment[:]...)
	return out, tail(out, start), nil
}

// appendFooter appends the footer, the recipient tags and (0x6701) the
// signature over the canonical hash, to out.
func (e *Encryptor) appendFooter(out, head []byte, m *materials.Encryption, fs []field, keys *itemKeys, signer *signingKey) (_, foot []byte, err error) {
	ec, err := m.Context.Serialize()
	if err != nil {
		return nil, nil, err
	}
	keys.hash = canonicalHash(head, ec, fs)
	start := len(out)
	for _, k := range m.SigningKeys {
		out = appendRecipientTag(out, k, keys.hash[:])
	}
	if signer != nil {
		sig, err := sign(signer.key, keys.hash[:])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, sig...)
	}
	return out, tail(out, start), nil
}

// tail is b from start on, capped at its length: it shares b's allocation
// but cannot grow into whatever is appended to b next.
func tail(b []byte, start int) []byte { return b[start:len(b):len(b)] }

// assemble builds the stored item: unsigned attributes as given, signed
// ones as their terminals, plus header and footer.
func assemble(it attr.Item, fs []field, head, foot []byte) attr.Item {
	out := make(attr.Item, len(it)+2)
	for name, v := range it {
		out[name] = v
	}
	for _, f := range fs {
		if f.legend == legendEncrypt {
			out[f.name] = attr.B(f.data)
		}
	}
	out[HeaderAttr] = attr.B(head)
	out[FooterAttr] = attr.B(foot)
	return out
}

// storedContext is the part of the context written in the header: what the
// decryptor cannot rebuild from the item (the signing public key). Without
// one it is nil, the empty context.
func storedContext(ec materials.Context) materials.Context {
	if pk, ok := ec[ecPublicKey]; ok {
		return materials.Context{ecPublicKey: pk}
	}
	return nil
}
