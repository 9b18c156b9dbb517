package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestBytesNeverPrinted(t *testing.T) {
	t.Parallel()
	canary := Bytes("CANARY-key-material-0123456789")
	var logbuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logbuf, nil)).Info("key", "k", canary)
	js, err := json.Marshal(struct{ K Bytes }{canary})
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprint(canary), fmt.Sprintf("%v %+v %#v %s", canary, canary, canary, canary),
		fmt.Sprintf("%v", struct{ K Bytes }{canary}), logbuf.String(), string(js),
	}
	for _, o := range outs {
		if strings.Contains(o, "CANARY") || strings.Contains(o, "43414e415259") {
			t.Errorf("secret leaked: %q", o)
		}
	}
}

func TestEqualAndZero(t *testing.T) {
	t.Parallel()
	a, b := Bytes{1, 2, 3}, Bytes{1, 2, 3}
	if !a.Equal(b) || a.Equal(Bytes{1, 2, 4}) || a.Equal(Bytes{1, 2}) {
		t.Fatal("Equal gave a wrong answer")
	}
	a.Zero()
	if !a.Equal(Bytes{0, 0, 0}) {
		t.Fatalf("Zero left %x", []byte(a))
	}
}
