package audited

import (
	"context"
	"fmt"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
)

// Keys is the key lifecycle Service wraps (*records.Service), and that
// Service offers; the command line drives it over HTTP too
// (cliclient.Keys).
type Keys interface {
	KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error)
	RotateKey(ctx context.Context, coll string) (records.KeyVersion, error)
	SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error)
	StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error)
	RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error)
	ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error)
}

// Rotations are the automatic rotations Service wraps: *records.Service.
type Rotations interface {
	RotateDue(ctx context.Context) ([]records.DueRotation, error)
}

// ServiceActor names the service itself in the trail: the actor of the
// operations no one asked for (automatic rotations).
const ServiceActor = "sealstore"

// KeyStatus reads a collection's key status: a keys.status.
func (s *Service) KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error) {
	st, err := s.keys.KeyStatus(ctx, coll)
	return st, s.record(ctx, op{action: audit.KeysStatus, coll: coll}, err)
}

// RotateKey rotates a collection's key: a keys.rotate naming the new
// version.
func (s *Service) RotateKey(ctx context.Context, coll string) (records.KeyVersion, error) {
	v, err := s.keys.RotateKey(ctx, coll)
	detail := ""
	if err == nil {
		detail = versionDetail(v)
	}
	return v, s.record(ctx, op{action: audit.KeysRotate, coll: coll, detail: detail}, err)
}

func versionDetail(v records.KeyVersion) string {
	return fmt.Sprintf("version=%d id=%s", v.Version, v.ID)
}

// SetKeyPolicy retires versions (a keys.retire) or sets the rotation
// period (a keys.schedule).
func (s *Service) SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error) {
	st, err := s.keys.SetKeyPolicy(ctx, coll, p)
	action, detail := PolicyAction(p)
	return st, s.record(ctx, op{action: action, coll: coll, detail: detail}, err)
}

// PolicyAction is the action and detail of a key policy change.
func PolicyAction(p records.KeyPolicy) (action, detail string) {
	switch {
	case p.MinDecryptableVersion != nil:
		return audit.KeysRetire, fmt.Sprintf("minDecryptableVersion=%d force=%t", *p.MinDecryptableVersion, p.Force)
	case p.RotationPeriod != nil:
		return audit.KeysSchedule, "rotationPeriod=" + p.RotationPeriod.String()
	}
	return audit.KeysSchedule, ""
}

// StartRewrap starts or resumes a rewrap: a keys.rewrap naming the job.
func (s *Service) StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error) {
	job, err := s.keys.StartRewrap(ctx, coll, o)
	return job, s.record(ctx, op{action: audit.KeysRewrap, coll: coll, detail: "job=" + job.ID}, err)
}

// RewrapStatus reads a rewrap's progress: a keys.rewrap.status.
func (s *Service) RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error) {
	job, err := s.keys.RewrapStatus(ctx, coll)
	return job, s.record(ctx, op{action: audit.KeysRewrapStatus, coll: coll}, err)
}

// ShredKeys destroys a collection's keys: a keys.shred holding the
// receipt.
func (s *Service) ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error) {
	r, err := s.keys.ShredKeys(ctx, coll, confirm)
	detail := ""
	if err == nil {
		detail = r.Detail()
	}
	return r, s.record(ctx, op{action: audit.KeysShred, coll: coll, detail: detail}, err)
}

// RotateDue makes the automatic rotations that are due, each a
// keys.rotate by ServiceActor, done or failed; an entry that cannot be
// written is reported in the rotation's Err (the rotation itself is made).
func (s *Service) RotateDue(ctx context.Context) ([]records.DueRotation, error) {
	rotations, err := s.rotations.RotateDue(ctx)
	actx := WithActor(ctx, ServiceActor)
	for i := range rotations {
		r := &rotations[i]
		detail := "automatic: the rotation period was reached"
		if r.Err == nil {
			detail += "; " + versionDetail(r.Version)
		}
		if aerr := s.record(actx, op{action: audit.KeysRotate, coll: r.Collection, detail: detail}, r.Err); aerr != nil && r.Err == nil {
			r.Err = aerr
		}
	}
	return rotations, err
}
