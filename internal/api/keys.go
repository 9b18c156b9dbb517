package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// KeyAdmin is the key lifecycle the /v1/collections/{name}/keys routes
// run.
type KeyAdmin interface {
	KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error)
	RotateKey(ctx context.Context, coll string) (records.KeyVersion, error)
	SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error)
	StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error)
	RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error)
	ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error)
}

// keyRoutes is the key lifecycle's part of the route table.
func (s *server) keyRoutes() []route {
	admin := tokens.Scope{Action: tokens.Admin}
	const timeout = 5 * time.Minute // status and retire count every record
	errs := []int{401, 403, 404, 409, 410, 422, 429, 500, 503}
	keys := func(method, path, action, summary string, add func(huma.API, huma.Operation)) route {
		return route{method: method, path: "/v1/collections/{name}/" + path, scope: admin, collection: true, action: action,
			tags: []string{"Keys"}, maxBody: 4 << 10, timeout: timeout, summary: summary, errors: errs, add: add}
	}
	rewrap := keys(http.MethodPost, "keys:rewrap", "keys.rewrap", "Start (or resume) re-encrypting every record under the active version, inside the server; 202 with the job", handle(s.startRewrap))
	rewrap.status = http.StatusAccepted
	return []route{
		keys(http.MethodGet, "keys", "keys.status", "Key versions, the active and minimum decryptable ones, and the records under each (counted)", handle(s.keyStatus)),
		keys(http.MethodPost, "keys:rotate", "keys.rotate", "Rotate: a new branch key version becomes active; older records keep reading", handle(s.rotateKey)),
		keys(http.MethodPost, "keys:retire", "keys.retire", "Retire every version below a minimum: their records are refused from then on (refused while such records remain, unless forced)", handle(s.retireKeys)),
		keys(http.MethodPut, "keys/schedule", "keys.schedule", "Set or clear the automatic rotation period", handle(s.scheduleKeys)),
		rewrap,
		keys(http.MethodGet, "keys/rewrap", "keys.rewrap.status", "Progress of the collection's rewrap", handle(s.rewrapStatus)),
		keys(http.MethodDelete, "keys", "keys.shred", "Shred: destroy every key version and the beacon key; every record of the collection becomes unreadable, for good", handle(s.shredKeys)),
	}
}

type keyStatusOutput struct{ Body records.KeyStatus }

func (s *server) keyStatus(ctx context.Context, in *collectionInput) (*keyStatusOutput, error) {
	st, err := s.cfg.Keys.KeyStatus(ctx, in.Name)
	if err := s.audited(ctx, "keys.status", in.Name, nil, err); err != nil {
		return nil, err
	}
	return &keyStatusOutput{Body: st}, nil
}

type keyVersionOutput struct{ Body records.KeyVersion }

func (s *server) rotateKey(ctx context.Context, in *collectionInput) (*keyVersionOutput, error) {
	v, err := s.cfg.Keys.RotateKey(ctx, in.Name)
	detail := ""
	if err == nil {
		detail = fmt.Sprintf("version=%d id=%s", v.Version, v.ID)
	}
	if err := s.auditedDetail(ctx, "keys.rotate", in.Name, nil, detail, err); err != nil {
		return nil, err
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
	st, err := s.cfg.Keys.SetKeyPolicy(ctx, in.Name, records.KeyPolicy{MinDecryptableVersion: &min, Force: in.Body.Force})
	detail := fmt.Sprintf("minDecryptableVersion=%d force=%t", min, in.Body.Force)
	if err := s.auditedDetail(ctx, "keys.retire", in.Name, nil, detail, err); err != nil {
		return nil, err
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
	var err error
	if p := strings.TrimSpace(in.Body.RotationPeriod); p != "" {
		if period, err = time.ParseDuration(p); err != nil || period <= 0 {
			err = &records.InvalidError{Field: "body.rotationPeriod", Reason: "must be a duration such as 720h, or empty"}
		}
	}
	var st records.KeyStatus
	if err == nil {
		st, err = s.cfg.Keys.SetKeyPolicy(ctx, in.Name, records.KeyPolicy{RotationPeriod: &period})
	}
	if err := s.auditedDetail(ctx, "keys.schedule", in.Name, nil, "rotationPeriod="+period.String(), err); err != nil {
		return nil, err
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
	job, err := s.cfg.Keys.StartRewrap(ctx, in.Name, o)
	if err := s.auditedDetail(ctx, "keys.rewrap", in.Name, nil, "job="+job.ID, err); err != nil {
		return nil, err
	}
	return &rewrapOutput{Status: http.StatusAccepted, Body: job}, nil
}

func (s *server) rewrapStatus(ctx context.Context, in *collectionInput) (*rewrapOutput, error) {
	job, err := s.cfg.Keys.RewrapStatus(ctx, in.Name)
	if err := s.audited(ctx, "keys.rewrap.status", in.Name, nil, err); err != nil {
		return nil, err
	}
	return &rewrapOutput{Status: http.StatusOK, Body: job}, nil
}

type shredInput struct {
	Name    string `path:"name" doc:"Collection name."`
	Confirm string `query:"confirm" doc:"The collection's name again: shredding cannot be undone."`
}

type shredOutput struct{ Body records.ShredReceipt }

func (s *server) shredKeys(ctx context.Context, in *shredInput) (*shredOutput, error) {
	r, err := s.cfg.Keys.ShredKeys(ctx, in.Name, in.Confirm)
	detail := ""
	if err == nil {
		detail = r.Detail()
	}
	if err := s.auditedDetail(ctx, "keys.shred", in.Name, nil, detail, err); err != nil {
		return nil, err
	}
	return &shredOutput{Body: r}, nil
}
