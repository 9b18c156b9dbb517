package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/records"
)

// scriptedRewrap answers RewrapStatus with its jobs in turn.
type scriptedRewrap struct {
	audited.Keys
	jobs []records.RewrapJob
}

func (s *scriptedRewrap) RewrapStatus(context.Context, string) (records.RewrapJob, error) {
	j := s.jobs[0]
	s.jobs = s.jobs[1:]
	j.Updated = time.Now()
	return j, nil
}

// The progress bar moves while a rewrap counts: during the job's first
// count (no total yet) a marker moves on as records are counted, and the
// line says how many; during a later count the bar fills as scanned nears
// the last count's total. Before, a count showed a bar that stood still.
func TestKeysRewrapProgressCounting(t *testing.T) {
	t.Parallel()
	running := func(pass int, phase string, scanned, items int64) records.RewrapJob {
		return records.RewrapJob{State: records.JobRunning, Pass: pass, Phase: phase, Scanned: scanned, Items: items, Updated: time.Now()}
	}
	admin := &scriptedRewrap{jobs: []records.RewrapJob{
		running(1, "counting", 100, 0),
		running(1, "counting", 200, 0),
		running(1, "counting", 300, 0),
		running(2, "counting", 100, 300),
		running(2, "counting", 200, 300),
		{State: records.JobDone, Pass: 2, Phase: "counting", Items: 300, Scanned: 300},
	}}
	var stderr strings.Builder
	f := follower{admin: admin, coll: "c", stderr: &stderr, tty: true, poll: time.Millisecond}
	job, code := f.follow(t.Context(), running(1, "counting", 0, 0))
	if code != exitOK || job.State != records.JobDone {
		t.Fatalf("follow: %+v, exit %d", job, code)
	}
	var shown []string
	for _, l := range strings.Split(stderr.String(), "\r\033[K") {
		if l != "" {
			shown = append(shown, l)
		}
	}
	want := []struct{ bar, rest string }{
		{"[###...........................]", "pass 1 counting   0 records counted"},
		{"[.###..........................]", "pass 1 counting   100 records counted"},
		{"[..###.........................]", "pass 1 counting   200 records counted"},
		{"[...###........................]", "pass 1 counting   300 records counted"},
		{"[##########....................]", " 33% pass 2 counting   100/300 records"},
		{"[####################..........]", " 67% pass 2 counting   200/300 records"},
	}
	if len(shown) != len(want) {
		t.Fatalf("%d progress lines %q; want %d", len(shown), shown, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(shown[i], w.bar) || !strings.Contains(shown[i], w.rest) || !progressRE.MatchString(shown[i]) {
			t.Errorf("progress line %d: %q; want %s then %q", i, shown[i], w.bar, w.rest)
		}
	}
}
