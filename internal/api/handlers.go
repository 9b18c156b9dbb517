package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/common/expfmt"
)

// Secret is a secret value in a request or response: JSON carries it,
// logs and fmt print [redacted].
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Format prints [redacted] for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

type statusOutput struct {
	Body struct {
		Status string `json:"status" example:"stored"`
	}
}

func (s *server) healthz(context.Context, *struct{}) (*statusOutput, error) {
	out := &statusOutput{}
	out.Body.Status = "ok"
	return out, nil
}

func (s *server) readyz(ctx context.Context, _ *struct{}) (*statusOutput, error) {
	if err := s.svc.Ready(ctx); err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &statusOutput{}
	out.Body.Status = "ready"
	return out, nil
}

type metricsOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *server) metricsRoute(context.Context, *struct{}) (*metricsOutput, error) {
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encode metrics: %w", err)
		}
	}
	return &metricsOutput{ContentType: string(expfmt.NewFormat(expfmt.TypeTextPlain)), Body: []byte(b.String())}, nil
}
