package sink

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var testFormat = formatter{facility: DefaultFacility, hostname: "host.example", procid: "4242"}

func TestFormatExact(t *testing.T) {
	t.Parallel()
	at := time.Date(2023, 11, 14, 22, 13, 20, 123456789, time.UTC)
	paris := time.FixedZone("CET", 3600)
	js := []byte(`{"action":"record.get","outcome":"ok"}`)
	tests := []struct {
		name string
		f    formatter
		rec  Record
		want string
	}{
		{"entry", testFormat, Record{KindEntry, at, js},
			"<85>1 2023-11-14T22:13:20.123456Z host.example sealstore 4242 audit - \uFEFF" + string(js)},
		{"checkpoint", testFormat, Record{KindCheckpoint, at, []byte(`{}`)},
			"<86>1 2023-11-14T22:13:20.123456Z host.example sealstore 4242 checkpoint - \uFEFF{}"},
		{"local0", formatter{16, "h", "1"}, Record{KindEntry, at, []byte(`{}`)},
			"<133>1 2023-11-14T22:13:20.123456Z h sealstore 1 audit - \uFEFF{}"},
		{"local7 checkpoint", formatter{23, "h", "1"}, Record{KindCheckpoint, at, []byte(`{}`)},
			"<190>1 2023-11-14T22:13:20.123456Z h sealstore 1 checkpoint - \uFEFF{}"},
		{"zone to UTC", testFormat, Record{KindEntry, time.Date(2024, 1, 1, 0, 30, 0, 0, paris), []byte(`{}`)},
			"<85>1 2023-12-31T23:30:00.000000Z host.example sealstore 4242 audit - \uFEFF{}"},
		{"no time", testFormat, Record{KindEntry, time.Time{}, []byte(`{}`)},
			"<85>1 - host.example sealstore 4242 audit - \uFEFF{}"},
		{"year 10000", testFormat, Record{KindEntry, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), []byte(`{}`)},
			"<85>1 - host.example sealstore 4242 audit - \uFEFF{}"},
		{"no hostname", formatter{10, "-", "7"}, Record{KindEntry, at, []byte(`{"é":"☃"}`)},
			"<85>1 2023-11-14T22:13:20.123456Z - sealstore 7 audit - \uFEFF{\"é\":\"☃\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(tt.f.append(nil, tt.rec))
			if got != tt.want {
				t.Errorf("message\n%q, want\n%q", got, tt.want)
			}
			if _, err := parse5424([]byte(got)); err != nil {
				t.Errorf("the parser refuses it: %v", err)
			}
		})
	}
}

// The test's parser is strict: it refuses what RFC 5424 does.
func TestParserRefuses(t *testing.T) {
	t.Parallel()
	const ok = "<85>1 2023-11-14T22:13:20.123456Z h sealstore 1 audit - \uFEFF{}"
	if _, err := parse5424([]byte(ok)); err != nil {
		t.Fatalf("refuses a good message: %v", err)
	}
	bad := map[string]string{
		"no PRI":           "85>1 2023-11-14T22:13:20Z h a 1 m -",
		"PRI 192":          "<192>1 2023-11-14T22:13:20Z h a 1 m -",
		"PRI leading 0":    "<085>1 2023-11-14T22:13:20Z h a 1 m -",
		"empty PRI":        "<>1 2023-11-14T22:13:20Z h a 1 m -",
		"version 2":        "<85>2 2023-11-14T22:13:20Z h a 1 m -",
		"no version":       "<85> 2023-11-14T22:13:20Z h a 1 m -",
		"7 fraction":       "<85>1 2023-11-14T22:13:20.1234567Z h a 1 m -",
		"no zone":          "<85>1 2023-11-14T22:13:20 h a 1 m -",
		"month 13":         "<85>1 2023-13-14T22:13:20Z h a 1 m -",
		"leap second":      "<85>1 2016-12-31T23:59:60Z h a 1 m -",
		"lower t":          "<85>1 2023-11-14t22:13:20Z h a 1 m -",
		"two spaces":       "<85>1 2023-11-14T22:13:20Z  h a 1 m -",
		"app too long":     "<85>1 - h " + strings.Repeat("a", 49) + " 1 m -",
		"msgid too long":   "<85>1 - h a 1 " + strings.Repeat("m", 33) + " -",
		"hostname UTF-8":   "<85>1 - hé a 1 m -",
		"SD element":       "<85>1 - h a 1 m [x@1 a=\"b\"]",
		"no SP after SD":   "<85>1 - h a 1 m -x",
		"no SD":            "<85>1 - h a 1 m",
		"BOM not UTF-8":    "<85>1 - h a 1 m - \uFEFF\xff",
		"header truncated": "<85>1 - h a",
	}
	for name, msg := range bad {
		if _, err := parse5424([]byte(msg)); err == nil {
			t.Errorf("%s: accepted %q", name, msg)
		}
	}
}

func TestParseFacility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code int
		ok   bool
	}{{"authpriv", 10, true}, {"auth", 4, true}, {"user", 1, true}, {"local0", 16, true},
		{"local7", 23, true}, {"kern", 0, false}, {"AUTHPRIV", 0, false}, {"", 0, false}, {"10", 0, false}}
	for _, tt := range tests {
		code, err := ParseFacility(tt.name)
		if (err == nil) != tt.ok || code != tt.code {
			t.Errorf("ParseFacility(%q) = %d, %v; want %d, ok %v", tt.name, code, err, tt.code, tt.ok)
		}
	}
}

// Any record a sink accepts makes a message the strict parser accepts,
// with each field as expected and the JSON back as MSG.
func FuzzFormat(f *testing.F) {
	f.Add("entry", int64(1700000000), int64(123456789), []byte(`{"a":1}`), uint8(10))
	f.Add("checkpoint", int64(0), int64(0), []byte(`{"é":"\u2603"}`), uint8(23))
	f.Add("entry", int64(-62135596800), int64(0), []byte(`{}`), uint8(0))
	f.Add("audit", int64(253402300800), int64(1), []byte("{\"a\":\"\xff\"}"), uint8(1))
	f.Add("entry", int64(-1<<62), int64(-1), []byte(`[1]`), uint8(200))
	f.Fuzz(func(t *testing.T, kind string, sec, nsec int64, js []byte, facility uint8) {
		fm := formatter{facility: 1 + int(facility)%23, hostname: "h.example", procid: "99"}
		at := time.Unix(sec, nsec)
		wrapped, err := json.Marshal(map[string]string{"v": string(js), "k": kind})
		if err != nil {
			t.Fatal(err)
		}
		recs := []Record{{kind, at, js}, {KindEntry, at, wrapped}, {KindCheckpoint, at, wrapped}}
		for _, r := range recs {
			if check([]Record{r}) != nil {
				continue
			}
			checkFormatted(t, fm, r)
		}
	})
}

func checkFormatted(t *testing.T, fm formatter, r Record) {
	t.Helper()
	raw := fm.append(nil, r)
	m, err := parse5424(raw)
	if err != nil {
		t.Fatalf("parser refuses %q: %v", raw, err)
	}
	severity, msgid := severityNotice, "audit"
	if r.Kind == KindCheckpoint {
		severity, msgid = severityInfo, "checkpoint"
	}
	if m.pri != fm.facility*8+severity || m.hostname != fm.hostname || m.app != "sealstore" ||
		m.procid != fm.procid || m.msgid != msgid || m.sd != "-" || !m.bom {
		t.Fatalf("fields %+v from %q", m, raw)
	}
	if string(m.msg) != string(r.JSON) {
		t.Fatalf("MSG %q, want %q", m.msg, r.JSON)
	}
	u := r.Time.UTC()
	if u.IsZero() || u.Year() < 0 || u.Year() > 9999 {
		if m.timestamp != "-" {
			t.Fatalf("timestamp %q for %v, want -", m.timestamp, r.Time)
		}
		return
	}
	back, err := time.Parse(time.RFC3339Nano, m.timestamp)
	want := u.Add(-time.Duration(u.Nanosecond() % 1000))
	if err != nil || len(m.timestamp) != len(timestampLayout) || !back.Equal(want) {
		t.Fatalf("timestamp %q for %v (%v), want %v to the microsecond", m.timestamp, r.Time, err, want)
	}
}
