package agents_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A snippet is a Go code block of README.md or of the package doc in
// doc.go. Users copy them verbatim, so each must compile and do what it
// says: TestDocSnippets builds every one of them into a package of its own
// and runs them against the fake API.
type snippet struct {
	file string // README.md or doc.go, for messages and //line
	line int    // the first line of the code, 1-based
	code string
	// compileOnly is set by an HTML comment "<!-- snippet: compile-only -->"
	// on the line before a README block, for code that must build but
	// cannot run here.
	compileOnly bool
}

// readmeSnippets returns README.md's ```go blocks.
func readmeSnippets(t *testing.T) []snippet {
	t.Helper()
	src, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	var out []snippet
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		s := snippet{file: "README.md", line: i + 2}
		s.compileOnly = i > 0 && strings.TrimSpace(lines[i-1]) == "<!-- snippet: compile-only -->"
		// A nested module's code (Redis, OpenTelemetry) cannot build in
		// the SDK's module; that module's own Example runs it, and the
		// comment names the Example.
		if i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "<!-- snippet: tested in ") {
			continue
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("README.md:%d: a ```go block that never ends", s.line-1)
		}
		s.code = strings.Join(body, "\n")
		out = append(out, s)
	}
	return out
}

// docSnippets returns the code blocks (the indented ones) of the package
// doc comment in doc.go.
func docSnippets(t *testing.T) []snippet {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("doc.go has no package doc")
	}
	text := f.Doc.Text()
	var p comment.Parser
	var out []snippet
	for _, b := range p.Parse(text).Content {
		code, ok := b.(*comment.Code)
		if !ok {
			continue
		}
		// Find the block's first line in the file for messages.
		first := strings.SplitN(code.Text, "\n", 2)[0]
		line := fset.Position(f.Doc.Pos()).Line
		for i, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) == strings.TrimSpace(first) {
				line += i
				break
			}
		}
		out = append(out, snippet{file: "doc.go", line: line, code: strings.TrimRight(code.Text, "\n")})
	}
	return out
}

// imports maps the package names snippets use to their paths. A snippet
// file imports those whose name it uses as a selector's left side.
var snippetImports = map[string]string{
	"agents":     "github.com/agentsapi/agents-go",
	"agentstest": "github.com/agentsapi/agents-go/agentstest",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"http":       "net/http",
	"io":         "io",
	"log":        "log",
	"os":         "os",
	"slog":       "log/slog",
	"strings":    "strings",
	"testing":    "testing",
	"time":       "time",
}

// snippetPrelude declares what the snippets take from the reader's own
// code: a context, a Client, an agent key, params, and so on. Package
// level variables may go unused; each snippet may shadow them.
const snippetPrelude = `package snippets

import (
	"context"
	"net/http"
	"sync/atomic"

	agents "github.com/agentsapi/agents-go"
)

var (
	ctx     = context.Background()
	client  *agents.Client // set by TestMain: a Client of the fake API
	agent   = "agt_customer_support"
	params  agents.ListSessionsParams
	traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	retries atomic.Int64
)

// process is the reader's own work on a session; it refuses the empty
// Session a loop that ignores its error would hand it.
func process(s agents.Session) {
	if s.ID == "" {
		panic("process: given an empty Session: the loop ignored an error")
	}
}

// otelhttp stands in for go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp,
// which the SDK does not depend on, with the shape of its NewTransport.
var otelhttp = struct {
	NewTransport func(http.RoundTripper, ...any) http.RoundTripper
}{func(rt http.RoundTripper, _ ...any) http.RoundTripper { return rt }}
`

// snippetMain runs the snippets against the fake API: AGENTS_BASE_URL and
// AGENTS_API_KEY name it, so the snippets' own NewClient calls reach it.
const snippetMain = `package snippets

import (
	"os"
	"testing"

	"github.com/agentsapi/agents-go/agentstest"
)

func TestMain(m *testing.M) {
	srv := agentstest.NewServer()
	os.Setenv("AGENTS_BASE_URL", srv.URL)
	os.Setenv("AGENTS_API_KEY", agentstest.DefaultKey)
	c, err := srv.NewClient()
	if err != nil {
		panic(err)
	}
	client = c
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func TestSnippets(t *testing.T) {
	for _, s := range runnable {
		if err := s.run(); err != nil {
			t.Errorf("%s: %v", s.where, err)
		}
	}
	// Again with an agent key the SDK refuses, for the snippets that
	// return their error rather than exit: one that ignored it would hand
	// process an empty Session, which panics.
	agent = "not an agent"
	for _, s := range runnable {
		if s.again {
			s.run()
		}
	}
}
`

// wrap turns a snippet into a Go file of package snippets. Whole files
// and declarations are kept as they are; statements go into a function
// of their own, which uses every variable they declare at their top level
// (a snippet stops where the reader's code carries on) except err: a
// snippet must check every error itself, as must variables declared
// deeper, as Go requires.
// fn is the function's name, or "" for declarations; test reports whether
// the file must be a _test.go file.
func wrap(s snippet, n int) (src []byte, fn string, test bool, err error) {
	abs, err := filepath.Abs(s.file)
	if err != nil {
		return nil, "", false, err
	}
	lineDir := fmt.Sprintf("//line %s:%d\n", abs, s.line)
	fset := token.NewFileSet()
	var body string
	if strings.HasPrefix(strings.TrimSpace(s.code), "package ") {
		return []byte(lineDir + s.code + "\n"), "", strings.Contains(s.code, "*testing.T"), nil
	}
	f, declErr := parser.ParseFile(fset, "", "package snippets\n"+s.code, 0)
	if declErr == nil {
		body = lineDir + s.code + "\n"
		test = slices.ContainsFunc(f.Decls, func(d ast.Decl) bool {
			fd, ok := d.(*ast.FuncDecl)
			return ok && strings.HasPrefix(fd.Name.Name, "Test")
		})
	} else {
		const head = "package snippets\nfunc _() error {\n"
		f, err = parser.ParseFile(fset, "", head+s.code+"\nreturn nil\n}\n", 0)
		if err != nil {
			return nil, "", false, fmt.Errorf("%s:%d: neither declarations (%v) nor statements (%v)", s.file, s.line, declErr, err)
		}
		var uses []string
		for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
			for _, id := range declared(st) {
				if id != "_" && id != "err" && !slices.Contains(uses, id) {
					uses = append(uses, id)
				}
			}
		}
		fn = fmt.Sprintf("snippet%02d", n)
		var b strings.Builder
		fmt.Fprintf(&b, "func %s() error {\n%s%s\n", fn, lineDir, s.code)
		for _, u := range uses {
			fmt.Fprintf(&b, "\t_ = %s\n", u)
		}
		b.WriteString("\treturn nil\n}\n")
		body = b.String()
	}
	var imps []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if p, ok := snippetImports[id.Name]; ok && !slices.Contains(imps, id.Name+" "+p) {
					imps = append(imps, id.Name+" "+p)
				}
			}
		}
		return true
	})
	slices.Sort(imps)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated from %s:%d by TestDocSnippets.\n\npackage snippets\n\nimport (\n", s.file, s.line)
	for _, imp := range imps {
		name, path, _ := strings.Cut(imp, " ")
		fmt.Fprintf(&b, "\t%s %q\n", name, path)
	}
	b.WriteString(")\n\n")
	b.WriteString(body)
	return b.Bytes(), fn, test, nil
}

// declared returns the names a statement declares in the scope it is in.
func declared(st ast.Stmt) []string {
	var names []string
	switch st := st.(type) {
	case *ast.AssignStmt:
		if st.Tok == token.DEFINE {
			for _, e := range st.Lhs {
				if id, ok := e.(*ast.Ident); ok {
					names = append(names, id.Name)
				}
			}
		}
	case *ast.DeclStmt:
		if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			for _, sp := range gd.Specs {
				for _, id := range sp.(*ast.ValueSpec).Names {
					names = append(names, id.Name)
				}
			}
		}
	}
	return names
}

func TestDocSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go tool")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	snippets := append(readmeSnippets(t), docSnippets(t)...)
	if len(snippets) < 10 {
		t.Fatalf("found only %d snippets: has the extraction broken?", len(snippets))
	}

	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", fmt.Sprintf("module snippets\n\ngo 1.26.0\n\nrequire github.com/agentsapi/agents-go v0.0.0\n\nreplace github.com/agentsapi/agents-go => %s\n", root))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	write("prelude.go", snippetPrelude)
	write("main_test.go", snippetMain)

	var table strings.Builder
	table.WriteString("package snippets\n\nvar runnable = []struct {\n\twhere string\n\trun   func() error\n\tagain bool\n}{\n")
	for i, s := range snippets {
		src, fn, test, err := wrap(s, i)
		if err != nil {
			t.Error(err)
			continue
		}
		name := fmt.Sprintf("snippet%02d.go", i)
		if test {
			name = fmt.Sprintf("snippet%02d_test.go", i)
		}
		write(name, string(src))
		if fn != "" && !s.compileOnly {
			again := !strings.Contains(s.code, "log.Fatal")
			fmt.Fprintf(&table, "\t{%q, %s, %v},\n", fmt.Sprintf("%s:%d", s.file, s.line), fn, again)
		}
	}
	table.WriteString("}\n")
	write("runnable.go", table.String())

	// Test (vet off: snippets are fragments) with the root module's
	// requirements and sums only: no network.
	cmd := exec.Command(goTool, "test", "-count=1", "-vet=off", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off", "AGENTS_BASE_URL=", "AGENTS_API_KEY=")
	t.Logf("%d snippets, %d of them run", len(snippets), strings.Count(table.String(), "\n\t{"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the README and doc.go snippets do not all build and run (%v); the file:line below are the docs' own:\n%s", err, out)
	}
}
