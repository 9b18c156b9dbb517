package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/records"
)

// importer starts an import and follows it to its end.
type importer struct {
	api            audited.Imports
	coll           string
	req            records.ImportRequest
	stdout, stderr io.Writer
	tty            bool
}

// importPoll is how often the progress is read.
const importPoll = time.Second

func (m importer) fail(format string, a ...any) int {
	fmt.Fprintf(m.stderr, "sealstore import %s: %s\n", m.coll, fmt.Sprintf(format, a...))
	return exitFail
}

// run starts (or resumes, or joins) the import; unless detach, it follows
// it with a progress bar and prints its summary and problems.
func (m importer) run(ctx context.Context, detach bool) int {
	job, err := m.api.StartImport(ctx, m.coll, m.req)
	if err != nil {
		return m.fail("%s", describe(err))
	}
	switch {
	case job.State == records.JobRunning && job.Resumed > 0:
		fmt.Fprintf(m.stderr, "resuming the import into %s (job %s, resumed %s)\n", m.coll, job.ID, plural(job.Resumed, "time"))
	case job.DeleteSource != m.req.DeleteSource || job.MaxRate != m.req.MaxRate:
		fmt.Fprintf(m.stderr, "the import into %s (job %s) is running with --max-rate %d and --delete-source %t, as it was started\n",
			m.coll, job.ID, job.MaxRate, job.DeleteSource)
	}
	if detach {
		fmt.Fprintf(m.stdout, "import into %s: %s (job %s); follow it with the same command or GET /v1/collections/%s/imports\n",
			m.coll, job.State, job.ID, url.PathEscape(m.coll))
		return exitOK
	}
	job, code := m.follow(ctx, job)
	if code != exitOK {
		return code
	}
	fmt.Fprintln(m.stdout, importSummary(job))
	if job.State != records.JobDone {
		return m.fail("%s", job.Error)
	}
	problems, code := m.problems(ctx)
	if code != exitOK {
		return code
	}
	if job.Clean == nil || !*job.Clean || job.Kept > 0 {
		return m.fail("%s", notImported(problems))
	}
	return exitOK
}

// notImported says that n source items were not imported, verified or
// deleted.
func notImported(n int) string {
	return fmt.Sprintf("%s %s not imported, not verified or not deleted (listed above, with the reason); the source items are kept unless deleted",
		plural(n, "source item"), agree(n, "was", "were"))
}

// importSummary is the line that says what an import did.
func importSummary(j records.ImportJob) string {
	clean := "not clean"
	if j.Clean != nil && *j.Clean {
		clean = "clean"
	}
	s := fmt.Sprintf("import into %s: %s — %s: %d imported (%d already there, identical), %s, %d failed; verify %s: %d %s, %d %s",
		j.Collection, j.State, plural(j.Items, "source item"), j.Imported, j.Recognised, plural(j.Conflicts, "conflict"), j.Failed, clean,
		j.Verified, agree(j.Verified, "matches", "match"), j.Unverified, agree(j.Unverified, "does not", "do not"))
	if j.DeleteSource {
		s += fmt.Sprintf("; %s deleted, %d kept", plural(j.Deleted, "source item"), j.Kept)
	}
	return s + fmt.Sprintf("; %s; resumed %s", plural(j.KMSDecrypts, "KMS Decrypt"), plural(j.Resumed, "time"))
}

// problems prints every problem of the import, one a line: phase,
// reason, the source item's key; and what each reason means, on stderr.
func (m importer) problems(ctx context.Context) (int, int) {
	n, cursor, seen := 0, "", map[string]bool{}
	for {
		page, err := m.api.ImportProblems(ctx, m.coll, cursor, 1000)
		if err != nil {
			return n, m.fail("listing the problems: %s", describe(err))
		}
		for _, p := range page.Problems {
			n++
			fmt.Fprintf(m.stdout, "%s\t%s\t%s\n", p.Phase, p.Reason, p.Key)
			if !seen[p.Reason] {
				seen[p.Reason] = true
				fmt.Fprintf(m.stderr, "%s: %s\n", p.Reason, records.ImportReasons[p.Reason])
			}
		}
		if page.Cursor == "" {
			return n, exitOK
		}
		cursor = page.Cursor
	}
}

// follow polls job until it is no longer running, showing its progress:
// a bar on a terminal, a line every 5 s otherwise. A job whose runner
// stopped (its lease ran out) is asked for again, which takes it over.
func (m importer) follow(ctx context.Context, job records.ImportJob) (records.ImportJob, int) {
	lastLine, lastStart := time.Now(), time.Now()
	for job.State == records.JobRunning {
		line := importProgress(job)
		if idle := time.Since(job.Updated); idle > records.JobLease/2 {
			line = fmt.Sprintf("no progress for %.0fs: the process running the import may have stopped; a server (or this command) takes it over once its %s lease runs out", idle.Seconds(), records.JobLease)
			if idle > records.JobLease+2*time.Second && time.Since(lastStart) > records.JobLease {
				lastStart = time.Now()
				if resumed, err := m.api.StartImport(ctx, m.coll, m.req); err == nil {
					job = resumed
				}
			}
		}
		if m.tty {
			fmt.Fprintf(m.stderr, "\r\033[K%s", line)
		} else if time.Since(lastLine) >= 5*time.Second {
			fmt.Fprintln(m.stderr, line)
			lastLine = time.Now()
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(m.stderr, "\nstopped following; the import goes on in the server")
			return job, exitFail
		case <-time.After(importPoll):
		}
		next, err := m.api.ImportStatus(ctx, m.coll)
		if err != nil {
			return job, m.fail("%s (the import goes on)", describe(err))
		}
		job = next
	}
	if m.tty {
		fmt.Fprint(m.stderr, "\r\033[K")
	}
	return job, exitOK
}

// importProgress renders a job's progress on one line.
func importProgress(j records.ImportJob) string {
	const width = 30
	frac := 0.0
	if j.Items > 0 {
		frac = min(float64(j.Scanned)/float64(j.Items), 1)
	}
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% %-9s %d/%d items, %d imported, %s, %d failed, %d verified, %s, %.0f/s",
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, j.Phase, j.Scanned, j.Items, j.Imported, plural(j.Conflicts, "conflict"),
		j.Failed, j.Verified, plural(j.KMSDecrypts, "KMS Decrypt"), j.Rate)
}
