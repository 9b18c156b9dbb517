package api

import (
	"context"
	"net/http"

	"github.com/sealstore/sealstore/internal/records"
)

type startImportInput struct {
	Name string `path:"name" doc:"Collection name (items, for a table in the reference layout)."`
	Body records.ImportRequest
}

type importOutput struct {
	Status int
	Body   records.ImportJob
}

func (s *server) startImport(ctx context.Context, in *startImportInput) (*importOutput, error) {
	job, err := s.svc.StartImport(ctx, in.Name, in.Body)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &importOutput{Status: http.StatusAccepted, Body: job}, nil
}

func (s *server) importStatus(ctx context.Context, in *collectionInput) (*importOutput, error) {
	job, err := s.svc.ImportStatus(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &importOutput{Status: http.StatusOK, Body: job}, nil
}

type importProblemsInput struct {
	Name   string `path:"name" doc:"Collection name."`
	Cursor string `query:"cursor" doc:"Cursor from the previous page."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"Problems per page (default 100)."`
}

type importProblemsOutput struct {
	Body struct {
		records.ImportProblems
		Reasons map[string]string `json:"reasons" doc:"Every reason code, with its meaning."`
	}
}

func (s *server) importProblems(ctx context.Context, in *importProblemsInput) (*importProblemsOutput, error) {
	p, err := s.svc.ImportProblems(ctx, in.Name, in.Cursor, in.Limit)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &importProblemsOutput{}
	out.Body.ImportProblems, out.Body.Reasons = p, records.ImportReasons
	return out, nil
}
