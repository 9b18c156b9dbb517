package cliclient

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/sealstore/sealstore/internal/audit"
)

// VerifyAudit asks the server to verify its audit trail (POST
// /v1/audit:verify), with checkpoints and, if records, every record.
func (c *Client) VerifyAudit(ctx context.Context, cps []audit.Checkpoint, records bool) (audit.Report, *audit.RecordsReport, error) {
	lines := make([]json.RawMessage, len(cps))
	for i, cp := range cps {
		b, err := json.Marshal(cp)
		if err != nil {
			return audit.Report{}, nil, err
		}
		lines[i] = b
	}
	var out struct {
		Chains, Entries int
		Problems        []audit.Problem
		Checkpoints     []audit.CheckpointProblem
		Records         *struct {
			Records, Unverifiable, Changed int
			Problems                       []audit.RecordProblem
		}
	}
	body := map[string]any{"checkpoints": lines, "records": records}
	if err := c.Do(ctx, http.MethodPost, "/v1/audit:verify", body, &out); err != nil {
		return audit.Report{}, nil, err
	}
	rep := audit.Report{Chains: out.Chains, Entries: out.Entries, Problems: out.Problems, Checkpoints: out.Checkpoints}
	var rr *audit.RecordsReport
	if out.Records != nil {
		rr = &audit.RecordsReport{Records: out.Records.Records, Unverifiable: out.Records.Unverifiable,
			Changed: out.Records.Changed, Problems: out.Records.Problems}
	}
	return rep, rr, nil
}
