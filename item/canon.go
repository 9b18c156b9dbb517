package item

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"slices"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
)

// field is one signed attribute on its way in or out of the format.
type field struct {
	name   string
	path   []byte // canonical path
	legend byte   // 'e', 's' or 'c'
	// typeID and data are the terminal as stored: for an encrypted field
	// 0xFFFF and (original type id || ciphertext || tag).
	typeID uint16
	data   []byte
	// A string value is held as the string, never copied into a buffer of
	// its own: a string to encrypt is copied straight to where its
	// ciphertext goes and sealed in place there (encryptFields), a plaintext
	// one is hashed from the string (canonicalHash). data stays empty.
	text    attr.S
	hasText bool
}

// setValue sets f's value to the serialization of v, as attr.Marshal does,
// without copying a string or a binary: a valid string is held in f.text, a
// binary is used as it is (the engine only reads it), every other type is
// attr.Marshal's.
func (f *field) setValue(v attr.Value) error {
	switch v := v.(type) {
	case attr.B:
		f.data = v
		return nil
	case attr.S:
		if utf8.ValidString(string(v)) {
			f.text, f.hasText = v, true
			return nil
		}
	}
	data, err := attr.Marshal(v)
	f.data = data
	return err
}

// canonicalPath is the DB-ESDK canonical path of a top-level attribute: the
// table name, the depth (1), then '$', the name's length and the name, all
// numbers 8-byte big endian.
func canonicalPath(table, name string) []byte {
	b := make([]byte, 0, len(table)+8+1+8+len(name))
	b = append(b, table...)
	b = binary.BigEndian.AppendUint64(b, 1)
	b = append(b, '$')
	b = binary.BigEndian.AppendUint64(b, uint64(len(name)))
	return append(b, name...)
}

// sortFields orders fields by canonical path, the order of the legend, the
// field ordinals and the canonical hash.
func sortFields(fs []field) {
	slices.SortFunc(fs, func(a, b field) int { return bytes.Compare(a.path, b.path) })
}

// canonicalHash is SHA-384 over the header, the length-prefixed serialized
// encryption context and every signed field in canonical order.
func canonicalHash(header, ec []byte, fs []field) [sha512.Size384]byte {
	h := sha512.New384()
	h.Write(header)
	writeU64(h, uint64(len(ec)))
	h.Write(ec)
	for _, f := range fs {
		h.Write(f.path)
		if f.legend == legendEncrypt {
			writeU64(h, uint64(len(f.data)-2))
			h.Write([]byte("ENCRYPTED"))
			h.Write(f.data)
			continue
		}
		writeU64(h, uint64(len(f.data)+len(f.text)))
		h.Write([]byte("PLAINTEXT"))
		var t [2]byte
		binary.BigEndian.PutUint16(t[:], f.typeID)
		h.Write(t[:])
		h.Write(f.data)
		var chunk [256]byte // a string's bytes pass through the stack
		for text := f.text; len(text) > 0; {
			n := copy(chunk[:], text)
			h.Write(chunk[:n])
			text = text[n:]
		}
	}
	var sum [sha512.Size384]byte
	h.Sum(sum[:0])
	return sum
}

func writeU64(h hash.Hash, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
}

func sortStrings(s []string) { slices.Sort(s) }
