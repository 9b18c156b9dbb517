package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/common/expfmt"

	"github.com/sealstore/sealstore/internal/records"
)

// Secret is a secret value in a request or response: JSON carries it,
// logs and fmt print [redacted].
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Format prints [redacted] for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

type postItemInput struct {
	Body struct {
		_      struct{} `additionalProperties:"true"`
		ID     string   `json:"id" doc:"Item id: 1 to 1024 bytes, no control characters."`
		Secret Secret   `json:"secret" doc:"The secret; stored encrypted, never logged."`
	}
}

type statusOutput struct {
	Body struct {
		Status string `json:"status" example:"stored"`
	}
}

func (s *server) postItem(ctx context.Context, in *postItemInput) (*statusOutput, error) {
	if _, err := s.svc.PutSecret(ctx, in.Body.ID, string(in.Body.Secret)); err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &statusOutput{}
	out.Body.Status = "stored"
	return out, nil
}

type getItemInput struct {
	ItemID string `path:"item_id" doc:"Item id."`
}

type getItemOutput struct {
	Body struct {
		ItemID string `json:"item_id"`
		Secret Secret `json:"secret"`
	}
}

func (s *server) getItem(ctx context.Context, in *getItemInput) (*getItemOutput, error) {
	secret, err := s.svc.GetSecret(ctx, in.ItemID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &getItemOutput{}
	out.Body.ItemID = in.ItemID
	out.Body.Secret = Secret(secret)
	return out, nil
}

// getEmptyItem answers GET /items/, the reference's read with an empty id.
func (s *server) getEmptyItem(ctx context.Context, _ *struct{}) (*getItemOutput, error) {
	return nil, s.problem(ctx, records.CheckID(""))
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
