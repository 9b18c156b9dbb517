package sink

import (
	"fmt"
	"strconv"
	"time"
)

// The message format is described in Syslog's doc comment.

// appName is the APP-NAME of every message.
const appName = "sealstore"

// Severities (RFC 5424 §6.2.1).
const (
	severityNotice = 5
	severityInfo   = 6
)

// DefaultFacility is authpriv, the facility of security messages that
// only privileged users may read.
const DefaultFacility = 10

// bom starts every MSG: it says the MSG is UTF-8.
const bom = "\xEF\xBB\xBF"

// timestampLayout is RFC 3339 with microseconds, in UTC.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// facilityNames are the facilities a configuration may name (those of
// syslog(3)); kern (0) is left out: it is the kernel's.
var facilityNames = map[string]int{
	"user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// ParseFacility returns the code of a facility named as syslog(3) names
// it ("authpriv", "local0", …), for SyslogConfig.Facility.
func ParseFacility(name string) (int, error) {
	code, ok := facilityNames[name]
	if !ok {
		return 0, fmt.Errorf("sink: unknown syslog facility %q", name)
	}
	return code, nil
}

// formatter renders records as RFC 5424 messages; its fields are checked
// by SyslogConfig.Validate (hostname and procid are PRINTUSASCII).
type formatter struct {
	facility int
	hostname string // or "-"
	procid   string
}

// append appends the message for r, which check has accepted, to dst.
func (f formatter) append(dst []byte, r Record) []byte {
	severity, msgid := severityNotice, "audit"
	if r.Kind == KindCheckpoint {
		severity, msgid = severityInfo, "checkpoint"
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(f.facility*8+severity), 10)
	dst = append(dst, ">1 "...)
	dst = appendTimestamp(dst, r.Time)
	dst = append(dst, ' ')
	dst = append(dst, f.hostname...)
	dst = append(dst, ' ')
	dst = append(dst, appName...)
	dst = append(dst, ' ')
	dst = append(dst, f.procid...)
	dst = append(dst, ' ')
	dst = append(dst, msgid...)
	dst = append(dst, " - "+bom...)
	return append(dst, r.JSON...)
}

func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if t.IsZero() || t.Year() < 0 || t.Year() > 9999 {
		return append(dst, '-')
	}
	return t.AppendFormat(dst, timestampLayout)
}

// printUSASCII reports whether s is 1 to maxLen characters of PRINTUSASCII
// (%d33-126), as RFC 5424's header fields must be.
func printUSASCII(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}
