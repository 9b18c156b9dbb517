package api

import (
	"context"
	"encoding/json"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/fault"
)

type verifyInput struct {
	Body struct {
		Checkpoints []json.RawMessage `json:"checkpoints,omitempty" maxItems:"100000" doc:"Checkpoint lines, as an audit sink writes them."`
		Records     bool              `json:"records,omitempty" doc:"Also compare every stored record with its last audited write."`
	}
}

type chainProblem struct {
	Chain  string `json:"chain"`
	Seq    uint64 `json:"seq,omitempty"`
	Reason string `json:"reason"`
}

type recordProblem struct {
	Collection string `json:"collection"`
	Record     string `json:"record" doc:"HMAC of the record id, as the trail names it."`
	Reason     string `json:"reason"`
}

type recordsCheck struct {
	Records      int             `json:"records"`
	Unverifiable int             `json:"unverifiable" doc:"Records whose last audited write predates entries that record versions."`
	Changed      int             `json:"changed" doc:"Records written while the check ran: not compared."`
	Problems     []recordProblem `json:"problems"`
}

type verifyOutput struct {
	Body struct {
		Chains      int            `json:"chains"`
		Entries     int            `json:"entries"`
		Problems    []chainProblem `json:"problems"`
		Checkpoints []chainProblem `json:"checkpoints"`
		Records     *recordsCheck  `json:"records,omitempty"`
	}
}

// verifyAudit serves POST /v1/audit:verify.
func (s *server) verifyAudit(ctx context.Context, in *verifyInput) (*verifyOutput, error) {
	lines := make([][]byte, len(in.Body.Checkpoints))
	for i, c := range in.Body.Checkpoints {
		lines[i] = c
	}
	cps, err := audit.ParseCheckpoints(lines)
	if err != nil {
		return nil, s.problem(ctx, &fault.FieldError{Field: "body.checkpoints", Reason: "holds a line that is not a checkpoint"})
	}
	rep, recs, err := s.cfg.VerifyAudit(ctx, cps, in.Body.Records)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &verifyOutput{}
	out.Body.Chains, out.Body.Entries = rep.Chains, rep.Entries
	out.Body.Problems, out.Body.Checkpoints = []chainProblem{}, []chainProblem{}
	for _, p := range rep.Problems {
		out.Body.Problems = append(out.Body.Problems, chainProblem{Chain: p.Chain, Seq: p.Seq, Reason: p.Reason})
	}
	for _, p := range rep.Checkpoints {
		out.Body.Checkpoints = append(out.Body.Checkpoints, chainProblem{Chain: p.Chain, Reason: p.Reason})
	}
	if recs != nil {
		rc := &recordsCheck{Records: recs.Records, Unverifiable: recs.Unverifiable, Changed: recs.Changed, Problems: []recordProblem{}}
		for _, p := range recs.Problems {
			rc.Problems = append(rc.Problems, recordProblem{Collection: p.Collection, Record: p.Record, Reason: p.Reason})
		}
		out.Body.Records = rc
	}
	return out, nil
}
