package item

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
)

// Decrypt authenticates and decrypts a stored item. The returned item has no
// aws_dbe_head or aws_dbe_foot. Any failure of the stored bytes returns an
// error matching ErrDecrypt; nothing is returned in part.
func (e *Encryptor) Decrypt(ctx context.Context, stored attr.Item) (attr.Item, error) {
	h, foot, err := e.parseEnvelope(stored)
	if err != nil {
		return nil, err
	}
	var small [8]field // the fields of most items, on the stack
	fs, err := e.storedFields(stored, h, small[:0])
	if err != nil {
		return nil, err
	}
	ec, err := e.fullContext(stored, h, fs)
	if err != nil {
		return nil, err
	}
	w := &decryption{m: materials.Decryption{Suite: h.Suite, Context: ec}}
	m, keys := &w.m, &w.keys
	if err := e.unwrap(ctx, m, h.EDKs); err != nil {
		return nil, err
	}
	defer m.Zero()
	err = keys.derive(h.Suite, m.DataKey, h.MessageID[:])
	defer keys.zero()
	if err != nil {
		return nil, failDecrypt(reasonFieldKey, err)
	}
	if err := e.authenticate(h, foot, stored[HeaderAttr].(attr.B), m, keys, fs); err != nil {
		return nil, err
	}
	return e.open(stored, keys, fs)
}

// decryption is the state of one Decrypt call that outlives its stack
// frame, in one allocation: the materials the keyring completes and the
// item's keys.
type decryption struct {
	m    materials.Decryption
	keys itemKeys
}

// unwrap has the keyring decrypt the data key. A key source that cannot be
// reached (or a caller that gave up) is reported as such, so a service can
// answer "retry later"; every other failure is the opaque ErrDecrypt.
func (e *Encryptor) unwrap(ctx context.Context, m *materials.Decryption, edks []materials.EDK) error {
	err := e.cfg.Keyring.OnDecrypt(ctx, m, edks)
	switch {
	case err == nil && (m.DataKey.Len() != m.Suite.KeyLen || m.SigningKey.Len() != m.Suite.KeyLen):
		m.Zero()
		return failDecrypt(reasonUnwrap, errors.New("keyring returned no data key or signing key"))
	case err == nil:
		return nil
	case errors.Is(err, materials.ErrUnavailable) || ctx.Err() != nil:
		return fmt.Errorf("item: keys unavailable: %w: %w", materials.ErrUnavailable, err)
	}
	return failDecrypt(reasonUnwrap, err)
}

func (e *Encryptor) parseEnvelope(stored attr.Item) (*Header, footer, error) {
	headV, ok1 := stored[HeaderAttr].(attr.B)
	footV, ok2 := stored[FooterAttr].(attr.B)
	if !ok1 || !ok2 {
		return nil, footer{}, failDecrypt(reasonNotEncrypted, fmt.Errorf("item has no binary %s and %s", HeaderAttr, FooterAttr))
	}
	h, err := ParseHeader(headV)
	if err != nil {
		return nil, footer{}, failDecrypt(reasonHeader, err)
	}
	f, err := parseFooter(footV, len(h.EDKs), h.Suite.Signed)
	if err != nil {
		return nil, footer{}, failDecrypt(reasonFooter, err)
	}
	return h, f, nil
}

// storedFields pairs the attributes that decryption authenticates, in
// canonical order, with the header legend (in fs, an empty slice, if it
// has room).
func (e *Encryptor) storedFields(stored attr.Item, h *Header, fs []field) ([]field, error) {
	if cap(fs) < len(h.Legend) {
		fs = make([]field, 0, len(h.Legend))
	}
	for name, v := range stored {
		path, signed := e.signedPath(name)
		if !signed {
			continue
		}
		f := field{name: name, path: path, legend: legendSign} // plaintext until the header's legend says
		if err := f.setValue(v); err != nil {
			return nil, failDecrypt(reasonAttribute, err)
		}
		f.typeID = v.TypeID()
		fs = append(fs, f)
	}
	if len(fs) != len(h.Legend) {
		return nil, failDecrypt(reasonLegend, fmt.Errorf("%d signed attributes, legend has %d", len(fs), len(h.Legend)))
	}
	sortFields(fs)
	for i := range fs {
		fs[i].legend = h.Legend[i]
		if fs[i].legend == legendEncrypt && (fs[i].typeID != attr.TypeB || len(fs[i].data) < 2) {
			return nil, failDecrypt(reasonAttribute, fmt.Errorf("encrypted attribute %q is not binary", fs[i].name))
		}
	}
	return fs, nil
}

// signedPath reports whether decryption authenticates the attribute, and
// if so returns its canonical path: every attribute is signed unless
// configured DO_NOTHING, allowed unsigned, or reserved (aws_dbe_*, as in
// the SDK), so an attribute added to a stored item is detected.
func (e *Encryptor) signedPath(name string) ([]byte, bool) {
	if strings.HasPrefix(name, ReservedPrefix) {
		return nil, false
	}
	if a, ok := e.attrs[name]; ok {
		return a.path, a.action != DoNothing
	}
	if e.cfg.allowedUnsigned(name) {
		return nil, false
	}
	return canonicalPath(e.cfg.TableName, name), true
}

// fullContext rebuilds the required encryption context from the item and
// merges the stored part, refusing any disagreement.
func (e *Encryptor) fullContext(stored attr.Item, h *Header, fs []field) (materials.Context, error) {
	var ctxAttrs []string
	for _, f := range fs {
		if f.legend == legendContext {
			ctxAttrs = append(ctxAttrs, f.name)
		}
	}
	sortStrings(ctxAttrs)
	ec, err := e.baseContext(h.Version, stored, ctxAttrs)
	if err != nil {
		return nil, failDecrypt(reasonContext, err)
	}
	for k, v := range h.Context {
		if old, ok := ec[k]; ok && old != v {
			return nil, failDecrypt(reasonContext, fmt.Errorf("stored context disagrees on %q", k))
		}
		ec[k] = v
	}
	if _, ok := ec[ecPublicKey]; ok != h.Suite.Signed {
		return nil, failDecrypt(reasonContext, fmt.Errorf("public key presence does not match suite"))
	}
	return ec, nil
}

func (e *Encryptor) authenticate(h *Header, foot footer, head []byte, m *materials.Decryption, keys *itemKeys, fs []field) error {
	partial := head[:len(head)-commitmentLen]
	if want := keys.commitment(partial); !hmac.Equal(want[:], h.Commitment[:]) {
		return failDecrypt(reasonCommitment, nil)
	}
	ec, err := m.Context.Serialize()
	if err != nil {
		return failDecrypt(reasonContext, err)
	}
	keys.hash = canonicalHash(head, ec, fs)
	if m.EDKIndex < 0 || m.EDKIndex >= foot.edks || !hmac.Equal(appendRecipientTag(nil, m.SigningKey, keys.hash[:]), foot.tag(m.EDKIndex)) {
		return failDecrypt(reasonRecipientTag, nil)
	}
	if h.Suite.Signed && !verify(m.Context[ecPublicKey], keys.hash[:], foot.signature()) {
		return failDecrypt(reasonSignature, nil)
	}
	return nil
}

// open decrypts the authenticated fields. Each plaintext is read from one
// scratch buffer, which attr.Unmarshal never aliases, and which is cleared
// when done.
func (e *Encryptor) open(stored attr.Item, keys *itemKeys, fs []field) (attr.Item, error) {
	out := make(attr.Item, len(stored))
	for name, v := range stored {
		if !strings.HasPrefix(name, ReservedPrefix) {
			out[name] = v
		}
	}
	size := 0
	for _, f := range fs {
		if f.legend == legendEncrypt {
			size = max(size, len(f.data)-2-gcmTagLen)
		}
	}
	plain := make([]byte, 0, size)
	defer func() { clear(plain[:cap(plain)]) }()
	ordinal := 0
	for _, f := range fs {
		if f.legend != legendEncrypt {
			continue
		}
		v, err := openField(keys, ordinal, f, plain[:0])
		if err != nil {
			return nil, err
		}
		out[f.name] = v
		ordinal++
	}
	return out, nil
}

func openField(keys *itemKeys, ordinal int, f field, buf []byte) (attr.Value, error) {
	typeID, plain, err := keys.open(buf, ordinal, f.path, f.data)
	if err != nil {
		return nil, failDecrypt(reasonField, err)
	}
	v, err := attr.Unmarshal(typeID, plain)
	if err != nil { // the attr error could quote decrypted bytes: drop it
		return nil, failDecrypt(reasonFieldValue, fmt.Errorf("attribute %q: decrypted value of type 0x%04x is malformed", f.name, typeID))
	}
	return v, nil
}
