package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
)

type keyStatusOutput struct{ Body records.KeyStatus }

func (s *server) keyStatus(ctx context.Context, in *collectionInput) (*keyStatusOutput, error) {
	st, err := s.svc.KeyStatus(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &keyStatusOutput{Body: st}, nil
}

type keyVersionOutput struct{ Body records.KeyVersion }

func (s *server) rotateKey(ctx context.Context, in *collectionInput) (*keyVersionOutput, error) {
	v, err := s.svc.RotateKey(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &keyVersionOutput{Body: v}, nil
}

type retireInput struct {
	Name string `path:"name" doc:"Collection name."`
	Body struct {
		MinDecryptableVersion int  `json:"minDecryptableVersion" minimum:"1" doc:"Versions below this one are retired."`
		Force                 bool `json:"force,omitempty" doc:"Retire even though records remain under those versions: they become unreadable."`
	}
}

func (s *server) retireKeys(ctx context.Context, in *retireInput) (*keyStatusOutput, error) {
	min := in.Body.MinDecryptableVersion
	st, err := s.svc.SetKeyPolicy(ctx, in.Name, records.KeyPolicy{MinDecryptableVersion: &min, Force: in.Body.Force})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &keyStatusOutput{Body: st}, nil
}

type scheduleInput struct {
	Name string `path:"name" doc:"Collection name."`
	Body struct {
		RotationPeriod string `json:"rotationPeriod" doc:"Rotate automatically when the active version is this old: a Go duration such as 720h (at least 1h), or \"\" to stop."`
	}
}

func (s *server) scheduleKeys(ctx context.Context, in *scheduleInput) (*keyStatusOutput, error) {
	var period time.Duration
	if p := strings.TrimSpace(in.Body.RotationPeriod); p != "" {
		var err error
		if period, err = time.ParseDuration(p); err != nil || period <= 0 {
			err = &records.InvalidError{Field: "body.rotationPeriod", Reason: "must be a duration such as 720h, or empty"}
			return nil, s.problem(ctx, s.svc.Refuse(ctx, audit.KeysSchedule, in.Name, nil, "rotationPeriod=0s", err))
		}
	}
	st, err := s.svc.SetKeyPolicy(ctx, in.Name, records.KeyPolicy{RotationPeriod: &period})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &keyStatusOutput{Body: st}, nil
}

type rewrapInput struct {
	Name string `path:"name" doc:"Collection name."`
	Body *struct {
		MaxRate int `json:"maxRate,omitempty" minimum:"0" maximum:"100000" doc:"Records per second at most (0: no limit)."`
	} `required:"false"`
}

type rewrapOutput struct {
	Status int
	Body   records.RewrapJob
}

func (s *server) startRewrap(ctx context.Context, in *rewrapInput) (*rewrapOutput, error) {
	var o records.RewrapOptions
	if in.Body != nil {
		o.MaxRate = in.Body.MaxRate
	}
	job, err := s.svc.StartRewrap(ctx, in.Name, o)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &rewrapOutput{Status: http.StatusAccepted, Body: job}, nil
}

func (s *server) rewrapStatus(ctx context.Context, in *collectionInput) (*rewrapOutput, error) {
	job, err := s.svc.RewrapStatus(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &rewrapOutput{Status: http.StatusOK, Body: job}, nil
}

type shredInput struct {
	Name    string `path:"name" doc:"Collection name."`
	Confirm string `query:"confirm" doc:"The collection's name again: shredding cannot be undone."`
}

type shredOutput struct{ Body records.ShredReceipt }

func (s *server) shredKeys(ctx context.Context, in *shredInput) (*shredOutput, error) {
	r, err := s.svc.ShredKeys(ctx, in.Name, in.Confirm)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &shredOutput{Body: r}, nil
}
