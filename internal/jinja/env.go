package jinja

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"
)

// Env parses templates and loads the ones they include, import and extend
// from a file system, as a Jinja Environment with a FileSystemLoader does.
// It caches what it loaded and is safe for concurrent use.
type Env struct {
	fsys   fs.FS
	prefix string

	mu    sync.Mutex
	cache map[string]*loaded
}

type loaded struct {
	once sync.Once
	t    *Template
	err  error
}

// NewEnv returns an environment loading templates from fsys (nil: none can
// be loaded). Loaded templates are named in errors as prefix/name, so that
// messages name files the way the caller sees them.
func NewEnv(fsys fs.FS, prefix string) *Env {
	return &Env{fsys: fsys, prefix: prefix, cache: map[string]*loaded{}}
}

// NotFoundError is a template name that the loader can't find.
type NotFoundError struct {
	Name   string
	Reason string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("template %s not found: %s", strRepr(e.Name), e.Reason)
}

// cleanName normalizes a template name as Jinja's split_template_path
// does: "/"-separated, no "..", empty and "." parts dropped.
func cleanName(name string) (string, bool) {
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "..":
			return "", false
		case "", ".":
		default:
			if strings.ContainsRune(p, '\\') {
				return "", false
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/"), len(parts) > 0
}

// Get loads the template name.
func (e *Env) Get(name string) (*Template, error) {
	clean, ok := cleanName(name)
	if !ok {
		return nil, &NotFoundError{Name: name, Reason: "not a valid template name"}
	}
	if e.fsys == nil {
		return nil, &NotFoundError{Name: name, Reason: "no folder to load templates from (include, import and extend need one)"}
	}
	e.mu.Lock()
	l, ok := e.cache[clean]
	if !ok {
		l = &loaded{}
		e.cache[clean] = l
	}
	e.mu.Unlock()
	l.once.Do(func() {
		src, err := fs.ReadFile(e.fsys, clean)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				l.err = &NotFoundError{Name: name, Reason: "no such file in " + e.where()}
			} else {
				l.err = fmt.Errorf("load template %s: %w", name, err)
			}
			return
		}
		l.t, l.err = e.parse(clean, path.Join(e.prefix, clean), string(src))
	})
	return l.t, l.err
}

func (e *Env) where() string {
	if e.prefix == "" {
		return "the templates folder"
	}
	return e.prefix + "/"
}

// Template is a parsed template, ready to render many times, concurrently
// too.
type Template struct {
	name   string // as loaded ("proxy/labels.j2"), or as given to Parse
	env    *Env
	p2     *pongo2.Template
	blocks map[string]*blockStmt
}

// Parse parses Jinja source. name is used in error messages.
func (e *Env) Parse(name, src string) (*Template, error) {
	return e.parse(name, name, src)
}

func (e *Env) parse(name, file, src string) (*Template, error) {
	u := &unit{id: unitSeq.Add(1), blocks: map[string]*blockStmt{}}
	code, err := translate(file, src, u)
	if err != nil {
		return nil, err
	}
	units.Store(u.id, u)
	defer units.Delete(u.id)
	set := sets.Get().(*pongo2.TemplateSet)
	p2, err := set.FromString(code)
	sets.Put(set)
	if err != nil {
		// The translator emits valid pongo2; reaching this is a bug here,
		// not in the template.
		return nil, fmt.Errorf("%s: internal error translating the template for pongo2: %w", file, err)
	}
	return &Template{name: name, env: e, p2: p2, blocks: u.blocks}, nil
}

// A pongo2 set must not parse concurrently; each parse borrows one.
var sets = sync.Pool{New: func() any { return pongo2.NewSet("jinja", noLoader{}) }}

// noLoader: pongo2 never loads files itself here, the Env does.
type noLoader struct{}

func (noLoader) Abs(_, name string) string { return name }

func (noLoader) Get(string) (io.Reader, error) {
	return nil, errors.New("templates are loaded by the jinja environment, not by pongo2")
}

// Execute renders the template with data as its context: the names it
// sees (besides Jinja's globals range, dict, namespace, cycler, joiner).
func (t *Template) Execute(data map[string]any) (out string, err error) {
	r := &renderer{env: t.env}
	ctx := make(map[string]any, len(data))
	for k, v := range data {
		ctx[k] = Value(v)
	}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		switch x := p.(type) {
		case positioned:
			err = x.err
		case *failure:
			err = (&stmtBase{file: t.name, line: 1, col: 1}).positioned(x)
		default:
			panic(p)
		}
	}()
	return r.run(t, &frame{data: ctx}), nil
}
