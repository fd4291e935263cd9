package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/flosch/pongo2/v6"
)

// Template is a parsed Jinja template, ready to execute many times.
type Template struct {
	name string
	tpl  *pongo2.Template
	lits []any
}

// newTemplateSet returns a pongo2 set holding the jx_* runtime as globals;
// it loads nothing from disk. A set is not safe for concurrent parsing, so
// each goroutine that parses uses its own.
func newTemplateSet() *pongo2.TemplateSet {
	set := pongo2.NewSet("selfhosted-render", pongo2.MustNewLocalFileSystemLoader(""))
	set.Globals.Update(globals)
	return set
}

// Parse parses Jinja source. name is used in error messages.
func Parse(name, src string) (*Template, error) {
	return parse(newTemplateSet(), name, src)
}

func parse(set *pongo2.TemplateSet, name, src string) (*Template, error) {
	code, lits, err := translate(name, src)
	if err != nil {
		return nil, err
	}
	tpl, err := set.FromString(code)
	if err != nil {
		// The translator emits valid pongo2; reaching this is a bug here,
		// not in the template.
		return nil, fmt.Errorf("%s: internal error translating the template for pongo2: %w", name, err)
	}
	return &Template{name: name, tpl: tpl, lits: lits}, nil
}

// UndefinedError reports a variable used without a value.
type UndefinedError struct {
	File string
	Line int
	Msg  string
}

func (e *UndefinedError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

var pongoLine = regexp.MustCompile(`Line (\d+)`)

// Execute renders the template with data (the names templates see, such as
// env and cloudflare_ips).
func (t *Template) Execute(data map[string]any) (string, error) {
	st := &renderState{lits: t.lits}
	ctx := make(pongo2.Context, len(data)+1)
	for k, v := range data {
		ctx[safeName(k)] = v
	}
	ctx[stateKey] = st
	out, err := t.tpl.Execute(ctx)
	if st.err != nil {
		return "", &UndefinedError{File: t.name, Line: st.err.line, Msg: st.err.msg}
	}
	if err != nil {
		var perr *pongo2.Error
		if errors.As(err, &perr) {
			return "", fmt.Errorf("%s:%s: %s", t.name, strconv.Itoa(perr.Line), perr.OrigError)
		}
		return "", fmt.Errorf("%s: %w", t.name, err)
	}
	return out, nil
}

// String parses and renders src in one step.
func String(name, src string, data map[string]any) (string, error) {
	t, err := Parse(name, src)
	if err != nil {
		return "", err
	}
	return t.Execute(data)
}
