package jinja

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flosch/pongo2/v6"
)

// pongo2 runs the translated template. Every Jinja tag is a {% jx U N %}
// tag whose pongo2 parser (parseTag) looks up statement N of translation
// unit U; that statement is the pongo2 node, holding its bodies as pongo2
// node wrappers. pongo2 thus parses the document structure, writes the
// text and drives execution; the statements implement Jinja's semantics
// (scoping, macros, inheritance) on the renderer below.

// node is a statement: a pongo2 node built by the translator.
type node interface {
	pongo2.INodeTag
}

// bodied statements read their bodies from pongo2's parser.
type bodied interface {
	parseBodies(doc *pongo2.Parser) *pongo2.Error
}

// unit is one translation in progress: the statements its {% jx %} tags
// refer to, and the blocks found.
type unit struct {
	id     int64
	nodes  []node
	blocks map[string]*blockStmt
}

var (
	unitSeq atomic.Int64
	units   sync.Map // id → *unit, while pongo2 parses it
)

func init() {
	if err := pongo2.RegisterTag("jx", parseTag); err != nil {
		panic(err)
	}
}

func parseTag(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	id := arguments.MatchType(pongo2.TokenNumber)
	idx := arguments.MatchType(pongo2.TokenNumber)
	if id == nil || idx == nil {
		return nil, arguments.Error("jx: internal tag without its references", start)
	}
	uid, _ := strconv.ParseInt(id.Val, 10, 64)
	n, _ := strconv.Atoi(idx.Val)
	v, ok := units.Load(uid)
	if !ok {
		return nil, arguments.Error("jx: unknown translation unit", start)
	}
	stmt := v.(*unit).nodes[n]
	if b, ok := stmt.(bodied); ok {
		if err := b.parseBodies(doc); err != nil {
			return nil, err
		}
	}
	return stmt, nil
}

// wrap reads a body up to one of ends.
func wrap(doc *pongo2.Parser, ends ...string) (*pongo2.NodeWrapper, *pongo2.Error) {
	w, _, err := doc.WrapUntilTag(ends...)
	return w, err
}

// --- the renderer: one per execution ---

type renderer struct {
	env   *Env
	frame *frame
	tc    *tctx
	// p2 is a pongo2 execution context of this render, to run bodies
	// with: the tags only use it to find the renderer.
	p2    *pongo2.ExecutionContext
	depth int
	// top is set while top-level code of a template runs: the code whose
	// output an executed {% extends %} suppresses.
	top bool
}

// tctx is Jinja's Context: one per template run (rendered, included or
// imported), shared by a template and the templates it extends.
type tctx struct {
	root   *frame
	blocks map[string][]*blockStmt
	parent *Template // set once {% extends %} ran
}

// frame is a scope: loop bodies, macros, blocks, {% with %} and captured
// bodies get their own; if does not. Names resolve through parents, as
// Jinja's compiled Python closures do.
type frame struct {
	names  []string
	vals   []any
	parent *frame
	data   map[string]any // template roots: the context they were given
	tc     *tctx          // template roots: for `self`
}

func (f *frame) set(name string, v any) {
	for i := len(f.names) - 1; i >= 0; i-- {
		if f.names[i] == name {
			f.vals[i] = v
			return
		}
	}
	f.names = append(f.names, name)
	f.vals = append(f.vals, v)
}

func (r *renderer) lookup(name string) any {
	for f := r.frame; f != nil; f = f.parent {
		for i := len(f.names) - 1; i >= 0; i-- {
			if f.names[i] == name {
				return f.vals[i]
			}
		}
		if f.tc != nil {
			if v, ok := f.data[name]; ok {
				if lz, ok := v.(Lazy); ok {
					v = Value(lz())
					f.data[name] = v
				}
				return v
			}
			if name == "self" {
				return &selfRef{tc: f.tc}
			}
		}
	}
	if g, ok := globals[name]; ok {
		return g
	}
	return &undefined{name: name}
}

func rendererOf(ctx *pongo2.ExecutionContext) *renderer {
	r := ctx.Public["jx"].(*renderer)
	if r.p2 == nil {
		r.p2 = ctx
	}
	return r
}

// suppressed reports whether top-level output is being dropped because the
// template extends another.
func (r *renderer) suppressed() bool { return r.top && r.tc.parent != nil }

// positioned is an error that already carries its file and line, on its
// way up through the statements that enclose the one that failed.
type positioned struct{ err error }

// catch turns a panic of the statement at b into the *pongo2.Error its
// Execute returns.
func catch(b *stmtBase, perr **pongo2.Error) {
	p := recover()
	if p == nil {
		return
	}
	*perr = &pongo2.Error{Sender: "jinja", OrigError: b.positioned(p)}
}

func (b *stmtBase) positioned(p any) error {
	switch x := p.(type) {
	case *failure:
		if x.undefined {
			return &UndefinedError{File: b.file, Line: b.line, Col: b.col, Msg: x.msg}
		}
		return &RuntimeError{File: b.file, Line: b.line, Col: b.col, Msg: x.msg}
	case positioned:
		return x.err
	}
	panic(p)
}

// exec runs a body; a failure in it panics on, already positioned.
func (r *renderer) exec(body *pongo2.NodeWrapper, w pongo2.TemplateWriter) {
	if body == nil {
		return
	}
	if err := body.Execute(r.p2, w); err != nil {
		panic(positioned{unwrapPongo(err)})
	}
}

func unwrapPongo(err error) error {
	var pe *pongo2.Error
	if errors.As(err, &pe) && pe.OrigError != nil {
		var inner *pongo2.Error
		if errors.As(pe.OrigError, &inner) {
			return unwrapPongo(inner)
		}
		return pe.OrigError
	}
	return err
}

// capture runs body in a new scope (parent: the current one) and returns
// its output, as Jinja does for set blocks, filter blocks and macros.
func (r *renderer) capture(body *pongo2.NodeWrapper, f *frame) string {
	saved, savedTop := r.frame, r.top
	r.frame, r.top = f, false
	defer func() { r.frame, r.top = saved, savedTop }()
	var b strings.Builder
	r.exec(body, &b)
	return b.String()
}

// --- statements ---

type stmtBase struct {
	file      string
	line, col int
}

type textStmt struct {
	stmtBase
	text string
}

func (s *textStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	r := rendererOf(ctx)
	if !r.suppressed() {
		w.WriteString(s.text)
	}
	return nil
}

type printStmt struct {
	stmtBase
	exprs []expr
}

func (s *printStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	// After {% extends %}, Jinja neither writes nor evaluates top-level
	// output.
	if r.suppressed() {
		return nil
	}
	defer catch(&s.stmtBase, &perr)
	for _, e := range s.exprs {
		w.WriteString(str(e.eval(r)))
	}
	return nil
}

type ifStmt struct {
	stmtBase
	conds   []expr
	hasElse bool
	bodies  []*pongo2.NodeWrapper
}

func (s *ifStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	n := len(s.conds)
	if s.hasElse {
		n++
	}
	for range n {
		w, err := wrap(doc, "jx_elif", "jx_else", "jx_end")
		if err != nil {
			return err
		}
		s.bodies = append(s.bodies, w)
	}
	return nil
}

func (s *ifStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	for i, c := range s.conds {
		if truth(c.eval(r)) {
			r.exec(s.bodies[i], w)
			return nil
		}
	}
	if s.hasElse {
		r.exec(s.bodies[len(s.conds)], w)
	}
	return nil
}

// target is what an assignment binds: a name, a tuple of targets, or a
// namespace attribute.
type target interface {
	bind(r *renderer, f *frame, v any)
}

type nameTarget struct{ name string }

func (t *nameTarget) bind(_ *renderer, f *frame, v any) { f.set(t.name, v) }

type tupleTarget struct{ items []target }

func (t *tupleTarget) bind(r *renderer, f *frame, v any) {
	mustDefined(v)
	if !iterable(v) {
		throw("cannot unpack non-iterable %s object", typeName(v))
	}
	vs := items(v)
	switch {
	case len(vs) < len(t.items):
		throw("not enough values to unpack (expected %d, got %d)", len(t.items), len(vs))
	case len(vs) > len(t.items):
		throw("too many values to unpack (expected %d)", len(t.items))
	}
	for i, it := range t.items {
		it.bind(r, f, vs[i])
	}
}

type nsTarget struct{ ns, attr string }

func (t *nsTarget) bind(r *renderer, _ *frame, v any) {
	ns, ok := r.lookup(t.ns).(*namespace)
	if !ok {
		throw("cannot assign attribute on non-namespace object")
	}
	ns.attrs.Set(t.attr, v)
}

type forStmt struct {
	stmtBase
	target    target
	iter      expr
	cond      expr
	recursive bool
	usesLoop  bool // the body mentions `loop` (or the loop is recursive)
	hasElse   bool
	body, els *pongo2.NodeWrapper
}

func (s *forStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	if s.body, err = wrap(doc, "jx_else", "jx_end"); err != nil {
		return err
	}
	if s.hasElse {
		s.els, err = wrap(doc, "jx_end")
	}
	return err
}

func (s *forStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	s.loop(r, w, s.iter.eval(r), 0)
	return nil
}

// loop runs the loop over seq: the iterable is evaluated in the enclosing
// scope, each iteration gets a fresh scope with the target and `loop`.
func (s *forStmt) loop(r *renderer, w pongo2.TemplateWriter, seq any, depth int) {
	list := items(mustDefined(seq))
	outer := r.frame
	f := &frame{parent: outer, names: make([]string, 0, 4), vals: make([]any, 0, 4)}
	defer func() { r.frame = outer }()
	if s.cond != nil {
		// The filter sees the target but not this loop's `loop`.
		kept := make([]any, 0, len(list))
		r.frame = f
		for _, it := range list {
			f.names, f.vals = f.names[:0], f.vals[:0]
			s.target.bind(r, f, it)
			if truth(s.cond.eval(r)) {
				kept = append(kept, it)
			}
		}
		r.frame = outer
		list = kept
	} else if l, ok := seq.(*List); ok {
		list = append([]any(nil), l.Items...)
	}
	if len(list) == 0 {
		if s.els != nil {
			r.frame = &frame{parent: outer}
			r.exec(s.els, w)
		}
		return
	}
	lc := &loopCtx{items: list, depth0: depth, stmt: s}
	r.frame = f
	for i, it := range list {
		f.names, f.vals = f.names[:0], f.vals[:0]
		lc.index0 = i
		if s.usesLoop {
			f.names = append(f.names, "loop")
			f.vals = append(f.vals, lc)
		}
		s.target.bind(r, f, it)
		r.exec(s.body, w)
	}
}

type setStmt struct {
	stmtBase
	target target
	value  expr
}

func (s *setStmt) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	s.target.bind(r, r.frame, s.value.eval(r))
	return nil
}

// applyFilters runs a {% filter %} or {% set x | … %} chain over v.
func applyFilters(r *renderer, chain []*filterExpr, v any) any {
	for _, f := range chain {
		v = f.apply(r, v)
	}
	return v
}

type setBlockStmt struct {
	stmtBase
	target  target
	filters []*filterExpr
	body    *pongo2.NodeWrapper
}

func (s *setBlockStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *setBlockStmt) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	v := any(r.capture(s.body, &frame{parent: r.frame}))
	s.target.bind(r, r.frame, applyFilters(r, s.filters, v))
	return nil
}

type filterBlockStmt struct {
	stmtBase
	filters []*filterExpr
	body    *pongo2.NodeWrapper
}

func (s *filterBlockStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *filterBlockStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	// The body is suppressed after {% extends %} like the code around it,
	// but the filtered result is written regardless, as Jinja does.
	saved := r.frame
	r.frame = &frame{parent: saved}
	var b strings.Builder
	func() {
		defer func() { r.frame = saved }()
		r.exec(s.body, &b)
	}()
	switch out := applyFilters(r, s.filters, b.String()).(type) {
	case string:
		w.WriteString(out)
	case Markup:
		w.WriteString(string(out))
	default:
		throw("sequence item 0: expected str instance, %s found", typeName(out))
	}
	return nil
}

type macroStmt struct {
	stmtBase
	name                                              string
	params                                            []string
	defaults                                          []expr
	caller, catchVarargs, catchKwargs, explicitCaller bool
	body                                              *pongo2.NodeWrapper
}

func (s *macroStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *macroStmt) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	r := rendererOf(ctx)
	r.frame.set(s.name, &macro{def: s, name: s.name, closure: r.frame, tc: r.tc})
	return nil
}

type callBlockStmt struct {
	stmtBase
	call   *callExpr
	caller *macroStmt
}

func (s *callBlockStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	return s.caller.parseBodies(doc)
}

func (s *callBlockStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	caller := &macro{def: s.caller, name: "", closure: r.frame, tc: r.tc}
	var fn any
	if ga, ok := s.call.fn.(*getattrExpr); ok {
		fn = getattr(ga.obj.eval(r), ga.name, ga.path)
	} else {
		fn = s.call.fn.eval(r)
	}
	a := s.call.args.eval(r)
	a.kw = append(a.kw, kwVal{"caller", caller})
	savedTop := r.top
	r.top = false
	out := str(call(r, fn, a))
	r.top = savedTop
	// Jinja writes a call block's output even after {% extends %}.
	w.WriteString(out)
	return nil
}

type withStmt struct {
	stmtBase
	targets []target
	values  []expr
	body    *pongo2.NodeWrapper
}

func (s *withStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *withStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	f := &frame{parent: r.frame}
	for i, t := range s.targets {
		t.bind(r, f, s.values[i].eval(r))
	}
	saved := r.frame
	r.frame = f
	defer func() { r.frame = saved }()
	r.exec(s.body, w)
	return nil
}

type autoescapeStmt struct {
	stmtBase
	value expr
	body  *pongo2.NodeWrapper
}

func (s *autoescapeStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *autoescapeStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	if truth(s.value.eval(r)) {
		throw("{%% autoescape true %%} is not supported: rendered files are configuration, not HTML")
	}
	saved := r.frame
	r.frame = &frame{parent: saved}
	defer func() { r.frame = saved }()
	r.exec(s.body, w)
	return nil
}

// --- template inheritance and composition ---

type blockStmt struct {
	stmtBase
	name             string
	scoped, required bool
	toplevel         bool // not inside a loop, macro, block…: skipped after {% extends %}
	body             *pongo2.NodeWrapper
}

func (s *blockStmt) parseBodies(doc *pongo2.Parser) *pongo2.Error {
	var err *pongo2.Error
	s.body, err = wrap(doc, "jx_end")
	return err
}

func (s *blockStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	if s.toplevel && r.tc.parent != nil {
		return nil
	}
	parent := r.tc.root
	if s.scoped {
		parent = r.frame
	}
	r.renderBlock(r.tc, s.name, 0, parent, w)
	return nil
}

// renderBlock renders level i of block name's stack (0: the most derived
// template's), with `super` rendering the next level.
func (r *renderer) renderBlock(tc *tctx, name string, i int, parent *frame, w pongo2.TemplateWriter) {
	stack := tc.blocks[name]
	if i >= len(stack) {
		throw("there is no parent block called '%s'", name)
	}
	b := stack[i]
	if b.required {
		throw("Required block '%s' not found.", name)
	}
	f := &frame{parent: parent}
	if i+1 < len(stack) {
		f.set("super", builtin{name: "super", fn: func(r *renderer, a *args) any {
			a.bind("super")
			var out strings.Builder
			r.renderBlock(tc, name, i+1, parent, &out)
			return out.String()
		}})
	} else {
		f.set("super", &undefined{hint: "there is no parent block called '" + name + "'.", name: "super"})
	}
	saved, savedTop, savedTC := r.frame, r.top, r.tc
	r.frame, r.top, r.tc = f, false, tc
	defer func() { r.frame, r.top, r.tc = saved, savedTop, savedTC }()
	r.exec(b.body, w)
}

type extendsStmt struct {
	stmtBase
	template expr
}

func (s *extendsStmt) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	if r.tc.parent != nil {
		throw("extended multiple times")
	}
	t := r.load(s.template.eval(r), false)
	r.tc.parent = t
	for name, b := range t.blocks {
		r.tc.blocks[name] = append(r.tc.blocks[name], b)
	}
	return nil
}

type includeStmt struct {
	stmtBase
	template      expr
	ignoreMissing bool
	withContext   bool
}

func (s *includeStmt) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	t := r.load(s.template.eval(r), s.ignoreMissing)
	if t == nil {
		return nil
	}
	root := &frame{}
	if s.withContext {
		root.parent = r.frame
	}
	// Jinja writes an include's output even after {% extends %}.
	w.WriteString(r.run(t, root))
	return nil
}

type importStmt struct {
	stmtBase
	template    expr
	target      string      // import … as target
	names       [][2]string // from … import name as alias
	from        bool
	withContext bool
}

func (s *importStmt) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) (perr *pongo2.Error) {
	r := rendererOf(ctx)
	defer catch(&s.stmtBase, &perr)
	t := r.load(s.template.eval(r), false)
	root := &frame{}
	if s.withContext {
		root.parent = r.frame
	}
	out := r.run(t, root)
	m := &module{name: t.name, exports: map[string]any{}, output: out}
	for i, n := range root.names {
		if !strings.HasPrefix(n, "_") {
			m.exports[n] = root.vals[i]
		}
	}
	if !s.from {
		r.frame.set(s.target, m)
		return nil
	}
	for _, n := range s.names {
		v, ok := m.exports[n[0]]
		if !ok {
			v = &undefined{name: n[1], hint: "the template " + strRepr(t.name) + " (imported on line " + strconv.Itoa(s.line) + ") does not export the requested name " + strRepr(n[0])}
		}
		r.frame.set(n[1], v)
	}
	return nil
}

// load resolves a template name (or a list of names: the first that
// exists) through the environment's loader.
func (r *renderer) load(name any, ignoreMissing bool) *Template {
	if r.depth > maxDepth {
		throw("maximum recursion depth exceeded while loading templates")
	}
	var names []any
	switch x := mustDefined(name).(type) {
	case string:
		names = []any{x}
	case *List, Tuple:
		names = items(x)
	default:
		throw("template name must be a string, not %s", typeName(name))
	}
	var firstErr error
	for _, n := range names {
		s, ok := n.(string)
		if !ok {
			throw("template name must be a string, not %s", typeName(n))
		}
		t, err := r.env.Get(s)
		if err == nil {
			return t
		}
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			panic(positioned{err})
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if ignoreMissing {
		return nil
	}
	if len(names) == 0 {
		throw("no template names given")
	}
	throw("%s", firstErr.Error())
	return nil
}

// run renders t with root as its top scope and returns its output,
// following {% extends %} to the parent templates.
func (r *renderer) run(t *Template, root *frame) string {
	tc := &tctx{root: root, blocks: make(map[string][]*blockStmt, len(t.blocks))}
	for name, b := range t.blocks {
		tc.blocks[name] = []*blockStmt{b}
	}
	root.tc = tc
	saved, savedTC, savedTop := r.frame, r.tc, r.top
	r.frame, r.tc, r.top = root, tc, true
	r.depth++
	defer func() { r.frame, r.tc, r.top = saved, savedTC, savedTop; r.depth-- }()
	ctx := pongo2.Context{"jx": r}
	var b strings.Builder
	for {
		out, err := t.p2.Execute(ctx)
		if err != nil {
			panic(positioned{unwrapPongo(err)})
		}
		b.WriteString(out)
		if tc.parent == nil {
			return b.String()
		}
		t, tc.parent = tc.parent, nil
		r.frame = root
	}
}
