package item

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every failDecrypt call in the package names a reason code listed by
// Reasons: the metric exported at zero per reason covers every failure.
func TestReasonsListsEveryCode(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	var args []ast.Expr
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if lit, ok := valueLit(n); ok {
					consts[n.Names[0].Name] = lit
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "failDecrypt" {
					args = append(args, n.Args[0])
				}
			}
			return true
		})
	}
	if len(args) < 10 {
		t.Fatalf("found %d failDecrypt calls; the parse missed them", len(args))
	}
	for _, a := range args {
		code, ok := "", false
		switch a := a.(type) {
		case *ast.Ident:
			code, ok = consts[a.Name]
		case *ast.BasicLit:
			code, err = strconv.Unquote(a.Value)
			ok = err == nil
		}
		if !ok || !slices.Contains(Reasons(), code) {
			t.Errorf("%s: failDecrypt with reason %q, not in Reasons()", fset.Position(a.Pos()), code)
		}
	}
}

// valueLit returns the string literal of a one-name constant or variable.
func valueLit(v *ast.ValueSpec) (string, bool) {
	if len(v.Names) != 1 || len(v.Values) != 1 {
		return "", false
	}
	lit, ok := v.Values[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
