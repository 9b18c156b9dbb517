package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/records"
)

func rewrapFlags(fs *flag.FlagSet) func(string, bool) (keysWork, error) {
	maxRate := fs.Int("max-rate", 0, "records per second at most (0: no limit)")
	detach := fs.Bool("detach", false, "start the rewrap and return")
	return func(_ string, standalone bool) (keysWork, error) {
		if standalone && *detach {
			return nil, errors.New("--detach needs a server to run the rewrap; standalone, the command runs it and waits")
		}
		return func(ctx context.Context, k keysCall) int {
			return rewrapCmd(ctx, k.admin, k.coll, *maxRate, *detach, k.stdout, k.stderr)
		}, nil
	}
}

// rewrapPoll is how often rewrap asks for progress.
const rewrapPoll = time.Second

func rewrapCmd(ctx context.Context, admin keyAdmin, coll string, maxRate int, detach bool, stdout, stderr io.Writer) int {
	job, err := admin.StartRewrap(ctx, coll, records.RewrapOptions{MaxRate: maxRate})
	if err != nil {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %s\n", coll, describe(err))
		return exitFail
	}
	if job.Resumed > 0 && job.State == "running" {
		fmt.Fprintf(stderr, "resuming the rewrap of %s (job %s)\n", coll, job.ID)
	}
	if detach {
		fmt.Fprintf(stdout, "rewrap of %s: %s (job %s); follow it with 'sealstore keys rewrap %s' or GET /v1/collections/%s/keys/rewrap\n", coll, job.State, job.ID, coll, url.PathEscape(coll))
		return exitOK
	}
	f := follower{admin: admin, coll: coll, maxRate: maxRate, stderr: stderr, tty: isTerminal(stderr)}
	job, code := f.follow(ctx, job)
	if code != exitOK {
		return code
	}
	fmt.Fprintln(stdout, rewrapSummary(coll, job))
	if job.State != "done" {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %s\n", coll, job.Error)
		return exitFail
	}
	if job.Failed > 0 {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %s\n", coll, notRewrapped(job.Failed))
		return exitFail
	}
	return exitOK
}

// notRewrapped says that n records could not be rewrapped.
func notRewrapped(n int64) string {
	return fmt.Sprintf("%s could not be rewrapped (undecryptable, %s key version unavailable, no longer fitting the schema, or changed at every attempt) and %s left as %s; a rewrap started again retries %s",
		plural(n, "record"), agree(n, "its", "their"), agree(n, "was", "were"), agree(n, "it is", "they are"), agree(n, "it", "them"))
}

// rewrapSummary is the line that says what a rewrap did.
func rewrapSummary(coll string, j records.RewrapJob) string {
	return fmt.Sprintf("rewrap of %s: %s — %d rewrapped, %d retried, %d skipped, %d failed, %s, resumed %s",
		coll, j.State, j.Rewrapped, j.Retried, j.Skipped, j.Failed, plural(j.Pass, "pass"), plural(j.Resumed, "time"))
}

// follower shows a running rewrap's progress until it ends.
type follower struct {
	admin   keyAdmin
	coll    string
	maxRate int
	stderr  io.Writer
	tty     bool
	poll    time.Duration // how often to ask for progress; rewrapPoll if zero
}

// follow polls job until it is no longer running, showing its progress:
// a bar on a terminal, a line every 5 s otherwise. It returns the job as
// it ended, or the exit status of an interrupt (Ctrl-C: the rewrap goes
// on) or of a failed poll.
func (f follower) follow(ctx context.Context, job records.RewrapJob) (records.RewrapJob, int) {
	lastLine, lastStart := time.Now(), time.Now()
	moves, last := 0, job
	for job.State == "running" {
		if job.Scanned != last.Scanned || job.Pass != last.Pass || job.Phase != last.Phase {
			moves++
		}
		last = job
		line := progressBar(job, moves)
		if idle := time.Since(job.Updated); idle > records.JobLease/2 {
			line = fmt.Sprintf("no progress for %.0fs: the process running the rewrap may have stopped; a server (or this command) takes it over once its %s lease runs out", idle.Seconds(), records.JobLease)
			// Past the lease, asking again takes the job over.
			if idle > records.JobLease+2*time.Second && time.Since(lastStart) > records.JobLease {
				lastStart = time.Now()
				if resumed, err := f.admin.StartRewrap(ctx, f.coll, records.RewrapOptions{MaxRate: f.maxRate}); err == nil {
					job = resumed
				}
			}
		}
		if f.tty {
			fmt.Fprintf(f.stderr, "\r\033[K%s", line)
		} else if time.Since(lastLine) >= 5*time.Second {
			fmt.Fprintln(f.stderr, line)
			lastLine = time.Now()
		}
		select {
		case <-ctx.Done():
			return job, f.stopped()
		case <-time.After(cmp.Or(f.poll, rewrapPoll)):
		}
		next, err := f.admin.RewrapStatus(ctx, f.coll)
		if err != nil && ctx.Err() != nil { // interrupted during the request
			return job, f.stopped()
		}
		if err != nil {
			fmt.Fprintf(f.stderr, "\nsealstore keys rewrap %s: %s (the rewrap goes on)\n", f.coll, describe(err))
			return job, exitFail
		}
		job = next
	}
	if f.tty {
		fmt.Fprint(f.stderr, "\r\033[K")
	}
	return job, exitOK
}

// stopped ends following when the command is interrupted (Ctrl-C).
func (f follower) stopped() int {
	fmt.Fprintln(f.stderr, "\nstopped following; the rewrap goes on (in the server, or, standalone, once a server or the next run takes it over)")
	return exitFail
}

// progressBar renders a job's progress on one line. A count whose total
// is not known yet (the job's first) shows the records counted, and a
// marker that moves on by one each of the moves the follower saw.
func progressBar(j records.RewrapJob, moves int) string {
	const width = 30
	if j.Phase == "counting" && j.Items == 0 {
		pos := moves % (width - 2)
		return fmt.Sprintf("[%s###%s]      pass %d %-10s %s counted, %d rewrapped, %.0f/s",
			strings.Repeat(".", pos), strings.Repeat(".", width-3-pos), j.Pass, j.Phase, plural(int(j.Scanned), "record"), j.Rewrapped, j.Rate)
	}
	frac := 0.0
	if j.Items > 0 {
		frac = min(float64(j.Scanned)/float64(j.Items), 1)
	}
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% pass %d %-10s %d/%d records, %d rewrapped, %.0f/s",
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, j.Pass, j.Phase, j.Scanned, j.Items, j.Rewrapped, j.Rate)
}
