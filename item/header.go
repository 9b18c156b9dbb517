package item

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/materials"
)

// Legend bytes of the header.
const (
	legendEncrypt = 'e'
	legendSign    = 's'
	legendContext = 'c'
)

const (
	msgIDLen      = 32
	commitmentLen = 32
	// minHeaderLen is version, flavor, message id, legend and context
	// lengths, EDK count and commitment.
	minHeaderLen = 2 + msgIDLen + 2 + 2 + 1 + commitmentLen
)

// Header is the parsed aws_dbe_head attribute.
type Header struct {
	Version    byte
	Suite      materials.Suite
	MessageID  [msgIDLen]byte
	Legend     []byte
	Context    materials.Context // the stored part of the encryption context
	EDKs       []materials.EDK
	Commitment [commitmentLen]byte
}

// ParseHeader parses a serialized header. It accepts exactly the bytes that
// Bytes writes: Bytes(ParseHeader(b)) == b for every accepted b.
func ParseHeader(b []byte) (*Header, error) {
	if len(b) < minHeaderLen {
		return nil, errors.New("item: header is truncated")
	}
	h := &Header{Version: b[0]}
	if h.Version != 1 && h.Version != 2 {
		return nil, fmt.Errorf("item: unsupported header version %d", h.Version)
	}
	if b[1] > 1 {
		return nil, fmt.Errorf("item: unsupported format flavor %d", b[1])
	}
	h.Suite, _ = materials.SuiteByID(0x6700 | materials.SuiteID(b[1]))
	copy(h.MessageID[:], b[2:])
	rest, err := h.parseBody(b[2+msgIDLen : len(b)-commitmentLen])
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("item: header has trailing bytes")
	}
	copy(h.Commitment[:], b[len(b)-commitmentLen:])
	return h, nil
}

func (h *Header) parseBody(b []byte) ([]byte, error) {
	n := int(binary.BigEndian.Uint16(b)) // parseBody gets at least the 2 length bytes
	if len(b)-2 < n {
		return nil, errors.New("item: header legend is truncated")
	}
	legend, b := b[2:2+n], b[2+n:]
	if err := checkLegend(h.Version, legend); err != nil {
		return nil, err
	}
	h.Legend = legend
	var err error
	if h.Context, b, err = materials.ParseContext(b); err != nil {
		return nil, fmt.Errorf("item: header: %w", err)
	}
	if h.EDKs, b, err = materials.ParseEDKs(b); err != nil {
		return nil, fmt.Errorf("item: header: %w", err)
	}
	return b, nil
}

func checkLegend(version byte, legend []byte) error {
	for _, c := range legend {
		switch {
		case c == legendEncrypt || c == legendSign:
		case c == legendContext && version == 2:
		default:
			return fmt.Errorf("item: invalid legend byte 0x%02x for header version %d", c, version)
		}
	}
	return nil
}

// Partial returns the header bytes without the commitment.
func (h *Header) Partial() ([]byte, error) {
	return h.appendPartial(make([]byte, 0, h.size()))
}

// size is the length of the full header.
func (h *Header) size() int {
	size := 2 + msgIDLen + 2 + len(h.Legend) + 2 + 1 + commitmentLen
	for k, v := range h.Context {
		size += 4 + len(k) + len(v)
	}
	for _, e := range h.EDKs {
		size += 6 + len(e.ProviderID) + len(e.ProviderInfo) + len(e.Ciphertext)
	}
	return size
}

// appendPartial appends the header bytes without the commitment to b.
func (h *Header) appendPartial(b []byte) ([]byte, error) {
	b = append(b, h.Version, byte(h.Suite.ID&0xFF))
	b = append(b, h.MessageID[:]...)
	var err error
	if b, err = append16(b, h.Legend); err != nil {
		return nil, err
	}
	if len(h.Context) == 0 {
		b = append(b, 0, 0) // the serialization of the empty context
	} else {
		ec, err := h.Context.Serialize()
		if err != nil {
			return nil, err
		}
		b = append(b, ec...)
	}
	return materials.AppendEDKs(b, h.EDKs)
}

// Bytes returns the full serialized header.
func (h *Header) Bytes() ([]byte, error) {
	b, err := h.Partial()
	if err != nil {
		return nil, err
	}
	return append(b, h.Commitment[:]...), nil
}

func append16(b, field []byte) ([]byte, error) {
	if len(field) > 0xFFFF {
		return nil, errors.New("item: header field longer than 65535 bytes")
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(field)))
	return append(b, field...), nil
}
