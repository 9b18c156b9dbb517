package api

import (
	"context"
	"net/http"

	"github.com/sealstore/sealstore/internal/records"
)

type putCollectionInput struct {
	Name string `path:"name" doc:"Collection name: 1 to 64 letters, digits, '.', '_' or '-'."`
	Body records.Schema
}

type collectionOutput struct {
	Status int
	Body   records.CollectionInfo
}

func (s *server) putCollection(ctx context.Context, in *putCollectionInput) (*collectionOutput, error) {
	info, created, err := s.svc.PutCollection(ctx, in.Name, in.Body)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &collectionOutput{Status: http.StatusOK, Body: info}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

type collectionsOutput struct {
	Body struct {
		Collections []records.CollectionInfo `json:"collections"`
	}
}

func (s *server) listCollections(ctx context.Context, _ *struct{}) (*collectionsOutput, error) {
	all, err := s.svc.Collections(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	tok := tokenFrom(ctx)
	out := &collectionsOutput{}
	out.Body.Collections = []records.CollectionInfo{}
	for _, c := range all {
		if tok != nil && canSee(*tok, c.Name) {
			out.Body.Collections = append(out.Body.Collections, c)
		}
	}
	return out, nil
}

type collectionInput struct {
	Name string `path:"name" doc:"Collection name."`
}

func (s *server) getCollection(ctx context.Context, in *collectionInput) (*collectionOutput, error) {
	info, err := s.svc.Collection(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &collectionOutput{Status: http.StatusOK, Body: info}, nil
}

type beaconsOutput struct {
	Body struct {
		Beacons []records.BeaconAdvice `json:"beacons"`
	}
}

func (s *server) getBeacons(ctx context.Context, in *collectionInput) (*beaconsOutput, error) {
	adv, err := s.svc.Beacons(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &beaconsOutput{}
	out.Body.Beacons = adv
	return out, nil
}
