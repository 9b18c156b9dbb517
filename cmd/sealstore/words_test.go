package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/records"
)

func TestPlural(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n          int
		noun, want string
	}{
		{0, "chain", "0 chains"}, {1, "chain", "1 chain"}, {2, "chain", "2 chains"},
		{1, "entry", "1 entry"}, {2, "entry", "2 entries"},
		{1, "pass", "1 pass"}, {2, "pass", "2 passes"},
		{1, "KMS Decrypt", "1 KMS Decrypt"}, {3, "KMS Decrypt", "3 KMS Decrypts"},
		{2, "key", "2 keys"},
	} {
		if got := plural(c.n, c.noun); got != c.want {
			t.Errorf("plural(%d, %q) = %q; want %q", c.n, c.noun, got, c.want)
		}
	}
}

// The keys, rewrap and import lines say "1 record", "1 pass", "1 time",
// never "1 records", and the plural for any other count.
func TestCountsInOutputAgree(t *testing.T) {
	t.Parallel()
	status := func(items int64, shredded bool) string {
		st := records.KeyStatus{Collection: "c", BranchKeyID: "bk", ActiveVersion: 1, MinDecryptableVersion: 1, Items: items}
		if shredded {
			st.Shredded = &records.ShredReceipt{Time: time.Unix(0, 0), BranchKeyID: "bk", Versions: 1, BeaconKey: true, Items: items}
		}
		var b strings.Builder
		printStatus(&b, st)
		return b.String()
	}
	ones := records.ImportJob{Collection: "c", State: "done", Items: 1, Imported: 1, Recognised: 1, Conflicts: 1, Failed: 1,
		Verified: 1, Unverified: 1, DeleteSource: true, Deleted: 1, Kept: 1, KMSDecrypts: 1, Resumed: 1, Phase: "verifying", Scanned: 1}
	twos := records.ImportJob{Collection: "c", State: "done", Items: 2, Imported: 2, Recognised: 2, Conflicts: 2, Failed: 2,
		Verified: 2, Unverified: 2, DeleteSource: true, Deleted: 2, Kept: 2, KMSDecrypts: 2, Resumed: 2, Phase: "verifying", Scanned: 2}
	for _, c := range []struct{ what, got, want string }{
		{"keys status, 1 record", status(1, false), ", minimum decryptable version 1, 1 record\n"},
		{"keys status, 2 records", status(2, false), ", minimum decryptable version 1, 2 records\n"},
		{"keys status, shredded, 1 record", status(1, true), ": 1 version and its beacon key; 1 record made unreadable; 1 record remains stored, unreadable\n"},
		{"keys status, shredded, 2 records", status(2, true), "; 2 records made unreadable; 2 records remain stored, unreadable\n"},
		{"rewrap summary, 1 pass", rewrapSummary("c", records.RewrapJob{State: "done", Pass: 1, Resumed: 1}), "failed, 1 pass, resumed 1 time"},
		{"rewrap summary, 2 passes", rewrapSummary("c", records.RewrapJob{State: "done", Pass: 2}), "failed, 2 passes, resumed 0 times"},
		{"rewrap failures, 1", notRewrapped(1), "1 record could not be rewrapped (undecryptable, its key version unavailable, no longer fitting the schema, or changed at every attempt) and was left as it is; a rewrap started again retries it"},
		{"rewrap failures, 2", notRewrapped(2), "2 records could not be rewrapped (undecryptable, their key version unavailable, no longer fitting the schema, or changed at every attempt) and were left as they are; a rewrap started again retries them"},
		{"rewrap counting, 1", progressBar(records.RewrapJob{Pass: 1, Phase: "counting", Scanned: 1}, 0), " 1 record counted, "},
		{"import summary, ones", importSummary(ones), "— 1 source item: 1 imported (1 already there, identical), 1 conflict, 1 failed; verify not clean: 1 matches, 1 does not; 1 source item deleted, 1 kept; 1 KMS Decrypt; resumed 1 time"},
		{"import summary, twos", importSummary(twos), "— 2 source items: 2 imported (2 already there, identical), 2 conflicts, 2 failed; verify not clean: 2 match, 2 do not; 2 source items deleted, 2 kept; 2 KMS Decrypts; resumed 2 times"},
		{"import progress, ones", importProgress(ones), " 1 imported, 1 conflict, 1 failed, 1 verified, 1 KMS Decrypt, "},
		{"import progress, twos", importProgress(twos), " 2 imported, 2 conflicts, 2 failed, 2 verified, 2 KMS Decrypts, "},
		{"import problems, 1", notImported(1), "1 source item was not imported, "},
		{"import problems, 2", notImported(2), "2 source items were not imported, "},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: %q; want it to hold %q", c.what, c.got, c.want)
		}
	}
}
