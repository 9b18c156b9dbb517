package sink

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// message is an RFC 5424 message as parse5424 reads it.
type message struct {
	pri                          int
	timestamp                    string // as sent; "-" for none
	hostname, app, procid, msgid string
	sd                           string
	bom                          bool
	msg                          []byte
}

// timestampRE is RFC 5424's TIMESTAMP (§6.2.3) but the NILVALUE.
var timestampRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$`)

// parse5424 is a strict parser of RFC 5424 messages (§6), for the kind
// this package sends: STRUCTURED-DATA must be the NILVALUE.
func parse5424(b []byte) (message, error) {
	var m message
	rest, err := parsePRI(b, &m)
	if err != nil {
		return m, err
	}
	fields := []struct {
		dst  *string
		max  int
		name string
	}{{&m.timestamp, 32, "TIMESTAMP"}, {&m.hostname, 255, "HOSTNAME"}, {&m.app, 48, "APP-NAME"},
		{&m.procid, 128, "PROCID"}, {&m.msgid, 32, "MSGID"}}
	for _, f := range fields {
		field, after, ok := bytes.Cut(rest, []byte(" "))
		if !ok || !printUSASCII(string(field), f.max) {
			return m, fmt.Errorf("%s %.40q is not 1 to %d PRINTUSASCII then SP", f.name, field, f.max)
		}
		*f.dst, rest = string(field), after
	}
	if m.timestamp != "-" && !validTimestamp(m.timestamp) {
		return m, fmt.Errorf("TIMESTAMP %q is not RFC 5424's", m.timestamp)
	}
	if !bytes.HasPrefix(rest, []byte("-")) {
		return m, fmt.Errorf("STRUCTURED-DATA %.20q is not the NILVALUE", rest)
	}
	m.sd, rest = "-", rest[1:]
	return m, parseMSG(rest, &m)
}

// parsePRI reads "<PRIVAL>1 " (§6.2.1, §6.2.2): PRIVAL 0 to 191, no
// leading zero, VERSION 1.
func parsePRI(b []byte, m *message) ([]byte, error) {
	if len(b) == 0 || b[0] != '<' {
		return nil, errors.New("no PRI")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return nil, errors.New("PRIVAL is not 1 to 3 digits")
	}
	digits := string(b[1:end])
	pri, err := strconv.Atoi(digits)
	if err != nil || pri > 191 || strconv.Itoa(pri) != digits {
		return nil, fmt.Errorf("PRIVAL %q is not 0 to 191 without a leading zero", digits)
	}
	m.pri = pri
	rest, ok := bytes.CutPrefix(b[end+1:], []byte("1 "))
	if !ok {
		return nil, errors.New("VERSION is not 1 followed by SP")
	}
	return rest, nil
}

func validTimestamp(s string) bool {
	if !timestampRE.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s) // each field's range; no leap second
	return err == nil
}

// parseMSG reads what follows STRUCTURED-DATA: nothing, or SP MSG, where
// a MSG that starts with a BOM must be UTF-8.
func parseMSG(rest []byte, m *message) error {
	if len(rest) == 0 {
		return nil
	}
	rest, ok := bytes.CutPrefix(rest, []byte(" "))
	if !ok {
		return errors.New("no SP between STRUCTURED-DATA and MSG")
	}
	rest, m.bom = bytes.CutPrefix(rest, []byte(bom))
	if m.bom && !utf8.Valid(rest) {
		return errors.New("MSG starts with a BOM but is not UTF-8")
	}
	m.msg = rest
	return nil
}
