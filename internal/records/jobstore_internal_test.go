package records

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The names of a stored job are the stored form's own, and the same as
// the release before the split wrote (RewrapJob's JSON names then):
// renaming a field of the API's RewrapJob changes no stored row.
func TestStoredJobNames(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	rec := &jobRecord{
		RewrapJob: RewrapJob{Collection: "c", ID: "j", State: JobFailed, Phase: phaseRewrapping, Pass: 2, Items: 3, Scanned: 4,
			ToRewrap: 5, Rewrapped: 6, Retried: 7, Skipped: 8, Failed: 9, Rate: 1.5, MaxRate: 10, Resumed: 11,
			Started: now, Updated: now, Finished: &now, Error: "e"},
		Cursor: []byte{1, 2}, FirstPass: 12, PassStale: 13, PassDone: 14, PassFailed: 15,
	}
	raw, err := json.Marshal(storedForm(rec))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{"collection", "cursor", "error", "failed", "finished", "firstPass", "id", "items", "maxRate", "passDone",
		"passFailed", "passStale", "pass", "phase", "ratePerSecond", "resumed", "retried", "rewrapped", "scanned", "skipped",
		"started", "state", "toRewrap", "updated"}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Errorf("stored names %q; want %q", got, want)
	}
	var back storedJob
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.record(); !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip: %+v; want %+v", got, rec)
	}
}
