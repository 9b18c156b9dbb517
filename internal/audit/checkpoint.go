package audit

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// A Checkpoint is how far one chain had been written when a server said
// so: its last entry's position and MAC, sealed with a key derived from
// the audit key. Someone who can write the database but not use the root
// key cannot make one, so a checkpoint kept outside the database (in a
// sink) shows the chains and entries deleted after it.
type Checkpoint struct {
	Time  time.Time
	Chain string
	// Seq is the position of the chain's last entry; MAC its MAC.
	Seq uint64
	MAC []byte
	// Seal authenticates the fields above.
	Seal []byte
}

const infoCheckpoint = "sealstore audit checkpoint v1"

// labelCheckpoint opens a checkpoint's MAC input.
const labelCheckpoint = "checkpoint"

// seal is the MAC of c's fields under the checkpoint key of k.
func (k keySet) seal(c *Checkpoint) []byte {
	in := macInput(nil).str(labelCheckpoint).str(c.Time.UTC().Format(time.RFC3339Nano)).str(c.Chain).u64(c.Seq).bytes(c.MAC)
	return sum(k.checkpoint, in)
}

// checkpointKey derives the checkpoint key from the chain key.
func checkpointKey(chain []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, chain, nil, infoCheckpoint, sha256.Size)
}

// checkpointJSON is a checkpoint as a sink line and as
// 'sealstore audit verify --checkpoints' reads it.
type checkpointJSON struct {
	Type  string    `json:"type"` // "checkpoint"
	Time  time.Time `json:"time"`
	Chain string    `json:"chain"`
	Seq   uint64    `json:"seq"`
	MAC   string    `json:"mac"`
	Seal  string    `json:"seal"`
}

// MarshalJSON writes the checkpoint as a line of a sink.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkpointJSON{Type: "checkpoint", Time: c.Time.UTC(), Chain: c.Chain, Seq: c.Seq,
		MAC: hex.EncodeToString(c.MAC), Seal: hex.EncodeToString(c.Seal)})
}

// ParseCheckpoints reads the checkpoints among JSON lines (a sink's file
// holds entries and checkpoints; other lines are skipped). A line that
// says it is a checkpoint but does not parse is an error naming it.
func ParseCheckpoints(lines [][]byte) ([]Checkpoint, error) {
	var out []Checkpoint
	for i, ln := range lines {
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(ln, &probe) != nil || probe.Type != "checkpoint" {
			continue
		}
		var cj checkpointJSON
		err := json.Unmarshal(ln, &cj)
		mac, err1 := hex.DecodeString(cj.MAC)
		seal, err2 := hex.DecodeString(cj.Seal)
		if err := errors.Join(err, err1, err2); err != nil || cj.Chain == "" {
			return nil, fmt.Errorf("audit: line %d: not a checkpoint: %v", i+1, err)
		}
		out = append(out, Checkpoint{Time: cj.Time, Chain: cj.Chain, Seq: cj.Seq, MAC: mac, Seal: seal})
	}
	return out, nil
}

// chainEnds tracks the last entry of every chain a Log wrote.
type chainEnds struct {
	mu   sync.Mutex
	ends map[string]Checkpoint
}

func (c *chainEnds) wrote(chain string, seq uint64, mac []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ends == nil {
		c.ends = map[string]Checkpoint{}
	}
	c.ends[chain] = Checkpoint{Chain: chain, Seq: seq, MAC: mac}
}

// Checkpoints returns a sealed checkpoint of every chain this Log has
// written to, now; none before the first entry is written.
func (l *Log) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	ks, err := l.keySet(ctx)
	if err != nil {
		return nil, err
	}
	now := l.now().UTC()
	l.ends.mu.Lock()
	out := make([]Checkpoint, 0, len(l.ends.ends))
	for _, c := range l.ends.ends {
		c.Time = now
		c.Seal = ks.seal(&c)
		out = append(out, c)
	}
	l.ends.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Chain < out[j].Chain })
	return out, nil
}

// CheckpointProblem is what a checkpoint shows that the trail lost.
type CheckpointProblem struct {
	Chain  string
	Reason string
}

// checkpointCheck is one Verify's use of checkpoints: the newest valid
// checkpoint of each chain, the positions whose MACs Verify must note,
// and the problems with the checkpoints themselves.
type checkpointCheck struct {
	newest   map[string]Checkpoint
	problems []CheckpointProblem
}

func newCheckpointCheck(ks keySet, cps []Checkpoint) *checkpointCheck {
	cc := &checkpointCheck{newest: map[string]Checkpoint{}}
	for _, c := range cps {
		if !hmac.Equal(c.Seal, ks.seal(&c)) {
			cc.problems = append(cc.problems, CheckpointProblem{Chain: c.Chain, Reason: fmt.Sprintf("the checkpoint of %s is not sealed by this deployment's audit key (forged or corrupt): ignored", c.Time.UTC().Format(time.RFC3339))})
			continue
		}
		if cur, ok := cc.newest[c.Chain]; !ok || c.Seq > cur.Seq {
			cc.newest[c.Chain] = c
		}
	}
	return cc
}

// wanted is the position of chain's checkpoint, if it has one.
func (cc *checkpointCheck) wanted(chain string) (uint64, bool) {
	c, ok := cc.newest[chain]
	return c.Seq, ok
}

// check compares each chain's checkpoint with how far Verify found the
// chain (ends): a chain the trail lacks was deleted; one that ends before
// its checkpoint's entry was truncated; one whose entry there has another
// MAC was rewritten.
func (cc *checkpointCheck) check(ends map[string]chainEnd) []CheckpointProblem {
	out := cc.problems
	chains := make([]string, 0, len(cc.newest))
	for id := range cc.newest {
		chains = append(chains, id)
	}
	sort.Strings(chains)
	for _, id := range chains {
		end, ok := ends[id]
		if p := checkEnd(cc.newest[id], end, ok); p != "" {
			out = append(out, CheckpointProblem{Chain: id, Reason: p})
		}
	}
	return out
}

// checkEnd compares a chain's checkpoint with how far the trail holds it.
func checkEnd(c Checkpoint, end chainEnd, found bool) string {
	at := c.Time.UTC().Format(time.RFC3339)
	switch {
	case !found:
		return fmt.Sprintf("chain deleted: the trail has no chain %s, which a checkpoint of %s saw up to entry %d", c.Chain, at, c.Seq)
	case end.next <= c.Seq && end.broken:
		return fmt.Sprintf("chain broken at entry %d (see its problem), before entry %d, which a checkpoint of %s saw", end.next, c.Seq, at)
	case end.next <= c.Seq:
		last := "before its first entry"
		if end.next > 0 {
			last = fmt.Sprintf("at entry %d", end.next-1)
		}
		return fmt.Sprintf("chain truncated: the trail ends %s, a checkpoint of %s saw entry %d", last, at, c.Seq)
	case !hmac.Equal(end.mac, c.MAC):
		return fmt.Sprintf("chain rewritten: entry %d is not the one a checkpoint of %s saw", c.Seq, at)
	}
	return ""
}

// chainEnd is how far Verify found a chain intact: the position after
// its last verified entry, and the MAC of the entry a checkpoint names.
type chainEnd struct {
	next   uint64
	mac    []byte
	broken bool // Verify found a problem at next
}
