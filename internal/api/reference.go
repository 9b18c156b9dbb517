package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/jsoncheck"
	"github.com/sealstore/sealstore/internal/records"
)

// The reference routes (POST /items/, GET /items/{item_id}) answer errors
// as the reference's FastAPI app does, so that its clients parse them:
// application/json, {"detail": "message"}, and for input that does not
// validate, 422 {"detail": [{"type", "loc", "msg"}, …]} with pydantic v2's
// type names and messages. FastAPI also sends each bad input's value
// ("input"); sealstore never does, since it may be the secret.

// referenceRoute marks, in an operation's Metadata, a reference route.
const referenceRoute = "sealstore.reference"

// referenceError is an error answer of a reference route.
type referenceError struct {
	status int
	// Detail is a message, or the []issue of a validation failure.
	Detail any `json:"detail"`
}

func (e *referenceError) Error() string { return fmt.Sprintf("%d %v", e.status, e.Detail) }

// GetStatus implements huma.StatusError.
func (e *referenceError) GetStatus() int { return e.status }

// ContentType is FastAPI's: application/json, not problem+json.
func (e *referenceError) ContentType(string) string { return "application/json" }

// issue is one entry of a validation failure, as pydantic v2 reports it.
type issue struct {
	Type string `json:"type"`
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	// Ctx is FastAPI's context of a JSON syntax error; its text is
	// sealstore's and never quotes the body.
	Ctx map[string]string `json:"ctx,omitempty"`
}

// invalidBody is a POST /items/ body refused before it reached the use
// case: the answer it gets, and its kind (package fault) for the audit
// trail.
type invalidBody struct{ answer *referenceError }

func (e *invalidBody) Error() string { return "api: invalid item body: " + e.answer.Error() }

// Fault is Invalid, or BadRequest for a body that is not UTF-8.
func (e *invalidBody) Fault() (fault.Kind, string) {
	if e.answer.status == http.StatusBadRequest {
		return fault.BadRequest, ""
	}
	return fault.Invalid, ""
}

func invalidItem(issues ...issue) error {
	return &invalidBody{answer: &referenceError{status: http.StatusUnprocessableEntity, Detail: issues}}
}

// Pydantic v2's messages.
const (
	msgMissing   = "Field required"
	msgString    = "Input should be a valid string"
	msgDict      = "Input should be a valid dictionary"
	msgJSON      = "JSON decode error"
	msgBodyParse = "There was an error parsing the body" // FastAPI's, for a body that does not decode
)

// parseItem reads a POST /items/ body as FastAPI reads the reference's
// (`payload: dict`, then payload["id"] and payload["secret"], here typed
// as pydantic fields of type str): JSON unless the Content-Type names
// another type, a JSON object, string members id and secret. Other members
// are ignored. Member names are exact (Python's are; Go's decoder would
// also match "ID"), and of a repeated member the last counts, as in
// Python.
func parseItem(contentType string, body []byte) (id, secret string, err error) {
	switch {
	case len(body) == 0:
		return "", "", invalidItem(issue{Type: "missing", Loc: []any{"body"}, Msg: msgMissing})
	case !isJSON(contentType):
		return "", "", invalidItem(issue{Type: "dict_type", Loc: []any{"body"}, Msg: msgDict})
	}
	if err := jsoncheck.Check(body); errors.Is(err, jsoncheck.ErrNotUTF8) {
		return "", "", &invalidBody{answer: &referenceError{status: http.StatusBadRequest, Detail: msgBodyParse}}
	} else if err != nil {
		var je *jsoncheck.Error
		errors.As(err, &je)
		return "", "", invalidItem(jsonInvalid(je.Offset, "a \\u escape of an unpaired UTF-16 surrogate (not a character)"))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return "", "", invalidItem(jsonInvalid(syntaxPos(syn, len(body)), "the body is not valid JSON"))
		}
		return "", "", invalidItem(issue{Type: "dict_type", Loc: []any{"body"}, Msg: msgDict})
	}
	if members == nil { // null
		return "", "", invalidItem(issue{Type: "dict_type", Loc: []any{"body"}, Msg: msgDict})
	}
	var issues []issue
	id, issues = stringMember(members, "id", issues)
	secret, issues = stringMember(members, "secret", issues)
	if len(issues) > 0 {
		return id, "", invalidItem(issues...)
	}
	return id, secret, nil
}

// stringMember decodes members[name] as a string, or adds pydantic's
// issue with it.
func stringMember(members map[string]json.RawMessage, name string, issues []issue) (string, []issue) {
	raw, ok := members[name]
	if !ok {
		return "", append(issues, issue{Type: "missing", Loc: []any{"body", name}, Msg: msgMissing})
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", append(issues, issue{Type: "string_type", Loc: []any{"body", name}, Msg: msgString})
	}
	return s, issues
}

// jsonInvalid is FastAPI's issue for a body that is not JSON: its
// location is the byte offset of the error.
func jsonInvalid(offset int, why string) issue {
	return issue{Type: "json_invalid", Loc: []any{"body", offset}, Msg: msgJSON, Ctx: map[string]string{"error": why}}
}

// syntaxPos is the offset of the byte at fault (encoding/json's offset
// counts it as read), or the end of a body cut short.
func syntaxPos(e *json.SyntaxError, n int) int {
	if e.Offset >= int64(n) {
		return n
	}
	return int(max(e.Offset-1, 0))
}

// isJSON reports whether FastAPI reads a body of this Content-Type as
// JSON: none given, application/json, or application/*+json.
func isJSON(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	sub, ok := strings.CutPrefix(mt, "application/")
	return ok && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

// referenceProblem is the answer of a reference route to err: the FastAPI
// form of a refused body, or of a record id the records layer refused (at
// loc, where the route takes the id), else what problem makes of it (which
// fastAPIErrors renders as FastAPI's {"detail": …}).
func (s *server) referenceProblem(ctx context.Context, err error, loc ...any) error {
	var ib *invalidBody
	if errors.As(err, &ib) {
		return ib.answer
	}
	if c := fault.Classify(err); c.Kind == fault.Invalid && c.Field == "id" {
		return &referenceError{status: http.StatusUnprocessableEntity,
			Detail: []issue{{Type: "value_error", Loc: loc, Msg: "Value error, " + c.Reason}}}
	}
	return s.problem(ctx, err)
}

// fastAPIErrors renders the problem+json errors of reference routes (the
// access checks', huma's, problem's) as FastAPI's {"detail": "message"}.
func fastAPIErrors(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok || ctx.Operation() == nil || ctx.Operation().Metadata[referenceRoute] != true {
		return v, nil
	}
	ctx.SetHeader("Content-Type", "application/json")
	return &referenceError{status: em.Status, Detail: em.Detail}, nil
}

// writeReferenceError writes FastAPI's answer outside huma (routing).
func writeReferenceError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&referenceError{status: status, Detail: detail})
}

// isReferencePath reports whether a request path is under the reference
// routes' /items/.
func isReferencePath(p string) bool { return p == "/items" || strings.HasPrefix(p, "/items/") }

// routeAPI is the API the route table registers on: it documents each
// reference route as FastAPI's answers look (documentReference), and
// every other operation as it is.
type routeAPI struct{ huma.API }

// DocumentOperation implements huma.OperationDocumenter.
func (a routeAPI) DocumentOperation(op *huma.Operation) {
	if op.Hidden {
		return
	}
	if op.Metadata[referenceRoute] == true {
		doc := *op
		documentReference(&doc, a.OpenAPI().Components.Schemas)
		// The served route takes an empty body too, and answers it 422
		// as FastAPI does (huma would answer 400 first).
		if op.RequestBody != nil {
			op.RequestBody = &huma.RequestBody{Required: false, Content: op.RequestBody.Content}
		}
		a.OpenAPI().AddOperation(&doc)
		return
	}
	a.OpenAPI().AddOperation(op)
}

// documentReference makes op's error responses FastAPI's (HTTPError,
// HTTPValidationError for 422) and its request body, if any, the
// {id, secret} object the handler reads.
func documentReference(op *huma.Operation, reg huma.Registry) {
	schemas := reg.Map()
	if schemas["HTTPValidationError"] == nil {
		for name, sc := range fastAPISchemas() {
			schemas[name] = sc
		}
	}
	op.Responses = maps.Clone(op.Responses)
	for _, code := range op.Errors {
		name := "HTTPError"
		if code == http.StatusUnprocessableEntity {
			name = "HTTPValidationError"
		}
		op.Responses[strconv.Itoa(code)] = &huma.Response{Description: http.StatusText(code),
			Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/" + name}}}}
	}
	if op.RequestBody != nil {
		op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/ItemIn"}}}}
	}
}

// fastAPISchemas are the components the reference routes' documentation
// names: FastAPI's error models and the item body.
func fastAPISchemas() map[string]*huma.Schema {
	str := func(doc string) *huma.Schema { return &huma.Schema{Type: huma.TypeString, Description: doc} }
	return map[string]*huma.Schema{
		"HTTPError": {Type: huma.TypeObject, Required: []string{"detail"},
			Description: "An error of a reference route, as FastAPI answers one (application/json).",
			Properties:  map[string]*huma.Schema{"detail": str("What went wrong.")}},
		"HTTPValidationError": {Type: huma.TypeObject, Required: []string{"detail"},
			Description: "Input that does not validate, as FastAPI answers it (application/json), without the input values.",
			Properties: map[string]*huma.Schema{"detail": {Type: huma.TypeArray,
				Items: &huma.Schema{Ref: "#/components/schemas/ValidationError"}}}},
		"ValidationError": {Type: huma.TypeObject, Required: []string{"loc", "msg", "type"},
			Properties: map[string]*huma.Schema{
				"loc": {Type: huma.TypeArray, Description: `Where: ["body", "id"], ["body", <byte offset>] for JSON that does not parse, ["path", "item_id"].`,
					Items: &huma.Schema{AnyOf: []*huma.Schema{{Type: huma.TypeString}, {Type: huma.TypeInteger}}}},
				"msg":  str("Pydantic's message, e.g. Field required."),
				"type": str("Pydantic's error type: missing, string_type, dict_type, json_invalid, value_error."),
				"ctx":  {Type: huma.TypeObject, Description: "For json_invalid: {\"error\": why}.", AdditionalProperties: true},
			}},
		"ItemIn": {Type: huma.TypeObject, Required: []string{"id", "secret"}, AdditionalProperties: true,
			Properties: map[string]*huma.Schema{
				"id":     str("Item id: 1 to 1024 bytes, no control characters."),
				"secret": str("The secret; stored encrypted, never logged."),
			}},
	}
}

// Reference route handlers.

type postItemInput struct {
	ContentType string `header:"Content-Type" hidden:"true"`
	RawBody     []byte
}

func (s *server) postItem(ctx context.Context, in *postItemInput) (*statusOutput, error) {
	id, secret, err := parseItem(in.ContentType, in.RawBody)
	if err != nil {
		var key *records.Key
		if id != "" {
			key = &records.Key{ID: id}
		}
		return nil, s.referenceProblem(ctx, s.svc.Refuse(ctx, audit.RecordPut, records.ItemsCollection, key, "", err), "body", "id")
	}
	if _, err := s.svc.PutSecret(ctx, id, secret); err != nil {
		return nil, s.referenceProblem(ctx, err, "body", "id")
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
		return nil, s.referenceProblem(ctx, err, "path", "item_id")
	}
	out := &getItemOutput{}
	out.Body.ItemID = in.ItemID
	out.Body.Secret = Secret(secret)
	return out, nil
}

// getEmptyItem answers GET /items/, the reference's read with an empty id.
func (s *server) getEmptyItem(ctx context.Context, _ *struct{}) (*getItemOutput, error) {
	return nil, s.referenceProblem(ctx, records.CheckID(""), "path", "item_id")
}
