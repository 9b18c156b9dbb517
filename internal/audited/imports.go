package audited

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
)

// Imports are the import jobs Service wraps (*records.Service); the
// command line drives them over HTTP too (cliclient.Imports).
type Imports interface {
	StartImport(ctx context.Context, coll string, r records.ImportRequest) (records.ImportJob, error)
	ImportStatus(ctx context.Context, coll string) (records.ImportJob, error)
	ImportProblems(ctx context.Context, coll, cursor string, limit int) (records.ImportProblems, error)
}

// StartImport starts or resumes an import: a record.import without a
// record, whose detail names the job and every option it was asked with.
// Each record the job imports is an entry of its own (RecordImported).
func (s *Service) StartImport(ctx context.Context, coll string, r records.ImportRequest) (records.ImportJob, error) {
	job, err := s.imports.StartImport(ctx, coll, r)
	return job, s.record(ctx, op{action: audit.RecordImport, coll: coll, detail: ImportDetail("start", job, r)}, err)
}

// ImportStatus reads an import's progress. It is not audited: it names
// no record, and a followed import polls it every second.
func (s *Service) ImportStatus(ctx context.Context, coll string) (records.ImportJob, error) {
	return s.imports.ImportStatus(ctx, coll)
}

// ImportProblems lists the source items an import reported, by key: a
// record.import without a record, whose detail says so.
func (s *Service) ImportProblems(ctx context.Context, coll, cursor string, limit int) (records.ImportProblems, error) {
	p, err := s.imports.ImportProblems(ctx, coll, cursor, limit)
	return p, s.record(ctx, op{action: audit.RecordImport, coll: coll, detail: "problems listed: job=" + p.Job}, err)
}

// ImportResumed records an import the service resumed by itself (its
// server stopped): a record.import by ServiceActor naming the job and its
// options.
func (s *Service) ImportResumed(ctx context.Context, coll string, job records.ImportJob) error {
	r := records.ImportRequest{Source: job.Source, Map: job.Map, MaxRate: job.MaxRate, DeleteSource: job.DeleteSource}
	return s.record(WithActor(ctx, ServiceActor), op{action: audit.RecordImport, coll: coll, detail: ImportDetail("resumed automatically", job, r)}, nil)
}

// ImportDetail is the detail of an import's entry: what happened, the
// job as it stands and the options asked for. It names tables, endpoints,
// the key's ARN and attribute names, never a value.
func ImportDetail(what string, job records.ImportJob, r records.ImportRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: job=%s state=%s resumed=%d table=%s", what, job.ID, job.State, job.Resumed, r.Source.Table)
	for _, kv := range [][2]string{{"region", r.Source.Region}, {"dynamodbEndpoint", r.Source.DynamoDBEndpoint},
		{"kmsEndpoint", r.Source.KMSEndpoint}, {"kmsKeyId", r.Source.KMSKeyID}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	if len(r.Map) == 0 {
		b.WriteString(" layout=reference")
	} else {
		b.WriteString(" layout=plaintext map=")
		for i, target := range slices.Sorted(maps.Keys(r.Map)) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q=%q", target, r.Map[target])
		}
	}
	fmt.Fprintf(&b, " maxRate=%d deleteSource=%t", r.MaxRate, r.DeleteSource)
	return b.String()
}
