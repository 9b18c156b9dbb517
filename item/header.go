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
	legend, b, ok := cut16(b)
	if !ok {
		return nil, errors.New("item: header legend is truncated")
	}
	if err := checkLegend(h.Version, legend); err != nil {
		return nil, err
	}
	h.Legend = legend
	var err error
	if h.Context, b, err = materials.ParseContext(b); err != nil {
		return nil, fmt.Errorf("item: header: %w", err)
	}
	h.EDKs, b, err = parseEDKs(b)
	return b, err
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

func parseEDKs(b []byte) ([]materials.EDK, []byte, error) {
	if len(b) < 1 || b[0] == 0 {
		return nil, nil, errors.New("item: header has no encrypted data keys")
	}
	n := int(b[0])
	b = b[1:]
	edks := make([]materials.EDK, 0, n)
	for range n {
		var id, info, ct []byte
		ok1, ok2, ok3 := false, false, false
		id, b, ok1 = cut16(b)
		if ok1 {
			info, b, ok2 = cut16(b)
		}
		if ok2 {
			ct, b, ok3 = cut16(b)
		}
		if !ok3 {
			return nil, nil, errors.New("item: header encrypted data key is truncated")
		}
		edks = append(edks, materials.EDK{ProviderID: string(id), ProviderInfo: info, Ciphertext: ct})
	}
	return edks, b, nil
}

func cut16(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

// Partial returns the header bytes without the commitment.
func (h *Header) Partial() ([]byte, error) {
	size := 2 + msgIDLen + 2 + len(h.Legend) + 2 + 1 + commitmentLen
	for k, v := range h.Context {
		size += 4 + len(k) + len(v)
	}
	for _, e := range h.EDKs {
		size += 6 + len(e.ProviderID) + len(e.ProviderInfo) + len(e.Ciphertext)
	}
	b := append(make([]byte, 0, size), h.Version, byte(h.Suite.ID&0xFF))
	b = append(b, h.MessageID[:]...)
	var err error
	if b, err = append16(b, h.Legend); err != nil {
		return nil, err
	}
	ec, err := h.Context.Serialize()
	if err != nil {
		return nil, err
	}
	b = append(b, ec...)
	if len(h.EDKs) == 0 || len(h.EDKs) > 255 {
		return nil, fmt.Errorf("item: %d encrypted data keys (1 to 255 allowed)", len(h.EDKs))
	}
	b = append(b, byte(len(h.EDKs)))
	for _, e := range h.EDKs {
		for _, f := range [][]byte{[]byte(e.ProviderID), e.ProviderInfo, e.Ciphertext} {
			if b, err = append16(b, f); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
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
