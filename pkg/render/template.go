package render

import (
	"io/fs"

	"github.com/selfhosted-go/selfhosted/internal/jinja"
)

// Template is a parsed template, ready to execute many times, also
// concurrently.
type Template struct{ t *jinja.Template }

// Execute renders the template with data: the names it sees, such as env
// and cloudflare_ips. Go maps become dicts iterating in sorted key order
// (Go maps have no order).
func (t *Template) Execute(data map[string]any) (string, error) { return t.t.Execute(data) }

// Loader parses templates that include, import and extend other
// templates, which it loads (once) from a file system by their
// slash-separated names, as Jinja's FileSystemLoader does.
type Loader struct{ env *jinja.Env }

// NewLoader returns a Loader reading templates from fsys, such as
// os.DirFS("services"); with a nil fsys, templates can't load others.
func NewLoader(fsys fs.FS) *Loader { return &Loader{env: jinja.NewEnv(fsys, "")} }

// Parse parses src; name is used in error messages.
func (l *Loader) Parse(name, src string) (*Template, error) {
	t, err := l.env.Parse(name, src)
	if err != nil {
		return nil, err
	}
	return &Template{t: t}, nil
}

// Load parses the template name of the loader's file system.
func (l *Loader) Load(name string) (*Template, error) {
	t, err := l.env.Get(name)
	if err != nil {
		return nil, err
	}
	return &Template{t: t}, nil
}

// Parse parses a template that loads no others.
func Parse(name, src string) (*Template, error) { return NewLoader(nil).Parse(name, src) }

// String parses and renders src in one step. Templates that include,
// import or extend others need a Loader.
func String(name, src string, data map[string]any) (string, error) {
	t, err := Parse(name, src)
	if err != nil {
		return "", err
	}
	return t.Execute(data)
}

// Errors name the template file and line; syntax errors the column too.
type (
	// SyntaxError is a template that does not parse.
	SyntaxError = jinja.SyntaxError
	// UndefinedError is a variable used without a value.
	UndefinedError = jinja.UndefinedError
	// RuntimeError is any other failure while rendering.
	RuntimeError = jinja.RuntimeError
	// NotFoundError is a template name a Loader can't find.
	NotFoundError = jinja.NotFoundError
)
