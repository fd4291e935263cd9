package jinja

import (
	"fmt"
	"strconv"
	"strings"
)

// The parser follows Jinja2's parser.py: statements over the lexer's
// segments, expressions over each tag's tokens. It emits pongo2 source in
// which text stays text and every Jinja tag becomes {% jx UNIT N %}, N
// naming the statement node built here (see exec.go), with the tag's body
// up to {% jx_end %} for block statements.

type translator struct {
	file string
	src  string
	segs []segment
	si   int
	out  strings.Builder
	unit *unit
	// textNodes: the template extends another, so its top-level output
	// must be suppressed once the extends ran: text goes through nodes
	// that can check.
	textNodes bool
	trackers  []*nameTracker
	open      []openTag // block statements being translated
	inner     int       // enclosing statements with their own scope (for, macro…)
	toplevel  bool      // the current statement is at the template's top scope
	blocks    map[string]bool
	// per tag
	toks []token
	i    int
	seg  segment
}

type openTag struct {
	kw   string
	line int
}

// nameTracker finds whether a body uses special names (a macro: caller,
// varargs and kwargs; a loop: loop), as Jinja's find_undeclared does: a
// load counts unless a store came first, and blocks are not looked into.
type nameTracker struct {
	watch       string         // the names, space-separated
	state       map[string]int // 1 loaded, -1 stored first
	scopedBlock bool           // a loop body holds a scoped block
}

func newTracker(names string) *nameTracker {
	return &nameTracker{watch: " " + names + " ", state: map[string]int{}}
}

func (tr *translator) track(name string, state int) {
	if name != "caller" && name != "varargs" && name != "kwargs" && name != "loop" {
		return
	}
	for i := len(tr.trackers) - 1; i >= 0; i-- {
		t := tr.trackers[i]
		if t == nil {
			return // a block: Jinja's visitor stops there
		}
		if strings.Contains(t.watch, " "+name+" ") && t.state[name] == 0 {
			t.state[name] = state
		}
	}
}

func (tr *translator) load(name string)  { tr.track(name, 1) }
func (tr *translator) store(name string) { tr.track(name, -1) }

func translate(file, src string, u *unit) (string, error) {
	src = normalizeSource(src)
	segs, err := lex(file, src)
	if err != nil {
		return "", err
	}
	tr := &translator{file: file, src: src, segs: segs, unit: u, blocks: map[string]bool{}}
	tr.out.Grow(len(src) + len(src)/4)
	for _, s := range segs {
		if s.kind == segStmt && len(s.tokens) > 0 && s.tokens[0].kind == tokName && s.tokens[0].val == "extends" {
			tr.textNodes = true
			break
		}
	}
	end, err := tr.body()
	if err != nil {
		return "", err
	}
	if end != "" {
		return "", tr.errorf(&tr.seg.tokens[0], "unexpected {%% %s %%}", end)
	}
	return tr.out.String(), nil
}

// --- errors and tokens ---

func (tr *translator) errorf(tok *token, format string, args ...any) error {
	line, col := tr.seg.line, tr.seg.col
	if tok != nil && tok.pos <= len(tr.src) {
		line = 1 + strings.Count(tr.src[:tok.pos], "\n")
		col = tok.pos - strings.LastIndexByte(tr.src[:tok.pos], '\n')
	}
	return &SyntaxError{File: tr.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (tr *translator) peek() *token {
	if tr.i < len(tr.toks) {
		return &tr.toks[tr.i]
	}
	return nil
}

func (tr *translator) peekAt(n int) *token {
	if tr.i+n < len(tr.toks) {
		return &tr.toks[tr.i+n]
	}
	return nil
}

func (tr *translator) peekIs(kind tokKind, val string) bool {
	t := tr.peek()
	return t != nil && t.kind == kind && t.val == val
}

func (tr *translator) peekName(val string) bool { return tr.peekIs(tokName, val) }
func (tr *translator) peekOp(val string) bool   { return tr.peekIs(tokOp, val) }

func (tr *translator) accept(kind tokKind, val string) bool {
	if tr.peekIs(kind, val) {
		tr.i++
		return true
	}
	return false
}

func (tr *translator) expect(kind tokKind, val string) error {
	if tr.accept(kind, val) {
		return nil
	}
	return tr.unexpected("expected '" + val + "'")
}

func (tr *translator) unexpected(what string) error {
	t := tr.peek()
	if t == nil {
		return tr.errorf(&token{pos: tr.seg.end}, "%s, found the end of the tag", what)
	}
	return tr.errorf(t, "%s, found %s", what, strRepr(t.val))
}

func (tr *translator) name() (string, *token, error) {
	t := tr.peek()
	if t == nil || t.kind != tokName {
		return "", nil, tr.unexpected("expected a name")
	}
	tr.i++
	return t.val, t, nil
}

func (tr *translator) end() error {
	if tr.peek() != nil {
		return tr.unexpected("expected the end of the statement")
	}
	return nil
}

// --- body and statements ---

func (tr *translator) emit(n node) {
	tr.unit.nodes = append(tr.unit.nodes, n)
	fmt.Fprintf(&tr.out, "{%% jx %d %d %%}", tr.unit.id, len(tr.unit.nodes)-1)
}

// block emits a block statement whose tag is read, translates its body up
// to endTag and closes it.
func (tr *translator) block(n node, endTag string) error {
	tr.emit(n)
	if _, err := tr.body(endTag); err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	tr.out.WriteString("{% jx_end %}")
	return nil
}

func (tr *translator) pos() stmtBase {
	return stmtBase{file: tr.file, line: tr.seg.line, col: tr.seg.col}
}

// body translates segments until a statement whose keyword is one of ends
// (returned, its tokens current) or the end of the template ("").
func (tr *translator) body(ends ...string) (string, error) {
	for tr.si < len(tr.segs) {
		s := tr.segs[tr.si]
		tr.si++
		tr.seg, tr.toks, tr.i = s, s.tokens, 0
		switch s.kind {
		case segText:
			tr.text(s.text)
		case segPrint:
			e, err := tr.parseTuple(true, nil, false)
			if err != nil {
				return "", err
			}
			if err := tr.end(); err != nil {
				return "", err
			}
			tr.emit(&printStmt{stmtBase: tr.pos(), exprs: []expr{e}})
		case segStmt:
			if len(s.tokens) == 0 || s.tokens[0].kind != tokName {
				return "", tr.errorf(nil, "tag name expected")
			}
			kw := s.tokens[0].val
			for _, e := range ends {
				if kw == e {
					tr.i = 1
					return kw, nil
				}
			}
			tr.i = 1
			if err := tr.statement(kw); err != nil {
				return "", err
			}
		}
	}
	if len(ends) > 0 {
		open := tr.open[len(tr.open)-1]
		return "", &SyntaxError{File: tr.file, Line: 1 + strings.Count(tr.src, "\n"), Col: 1,
			Msg: fmt.Sprintf("unexpected end of template: {%% %s %%} of line %d is never closed (expected %s)", open.kw, open.line, quoteTags(ends))}
	}
	return "", nil
}

func quoteTags(tags []string) string {
	q := make([]string, len(tags))
	for i, t := range tags {
		q[i] = "'" + t + "'"
	}
	return strings.Join(q, " or ")
}

// text writes literal output; text that pongo2 would read as a tag goes
// through a node instead.
func (tr *translator) text(s string) {
	if tr.textNodes || strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#") || strings.HasSuffix(s, "{") {
		tr.emit(&textStmt{stmtBase: tr.pos(), text: s})
		return
	}
	tr.out.WriteString(s)
}

func (tr *translator) statement(kw string) error {
	tr.open = append(tr.open, openTag{kw: kw, line: tr.seg.line})
	defer func() { tr.open = tr.open[:len(tr.open)-1] }()
	tr.toplevel = tr.inner == 0
	switch kw {
	case "for", "macro", "call", "filter", "set", "block", "with", "autoescape":
		tr.inner++
		defer func() { tr.inner-- }()
	}
	switch kw {
	case "if":
		return tr.ifStatement()
	case "for":
		return tr.forStatement()
	case "set":
		return tr.setStatement()
	case "macro":
		return tr.macroStatement()
	case "call":
		return tr.callStatement()
	case "filter":
		return tr.filterStatement()
	case "block":
		return tr.blockStatement()
	case "extends":
		if !tr.toplevel {
			return tr.errorf(&tr.toks[0], "cannot use extend from a non top-level scope")
		}
		e, err := tr.parseExpr(true)
		if err != nil {
			return err
		}
		if err := tr.end(); err != nil {
			return err
		}
		tr.emit(&extendsStmt{stmtBase: tr.pos(), template: e})
		return nil
	case "include":
		return tr.includeStatement()
	case "import":
		return tr.importStatement()
	case "from":
		return tr.fromStatement()
	case "with":
		return tr.withStatement()
	case "print":
		var exprs []expr
		for tr.peek() != nil {
			if len(exprs) > 0 {
				if err := tr.expect(tokOp, ","); err != nil {
					return err
				}
			}
			e, err := tr.parseExpr(true)
			if err != nil {
				return err
			}
			exprs = append(exprs, e)
		}
		tr.emit(&printStmt{stmtBase: tr.pos(), exprs: exprs})
		return nil
	case "autoescape":
		return tr.autoescapeStatement()
	}
	switch kw {
	case "elif", "else", "endif", "endfor", "endset", "endmacro", "endcall", "endfilter", "endblock", "endwith", "endraw":
		if len(tr.open) > 1 {
			open := tr.open[len(tr.open)-2]
			return tr.errorf(&tr.toks[0], "unexpected {%% %s %%}: the innermost open block is {%% %s %%} of line %d", kw, open.kw, open.line)
		}
		return tr.errorf(&tr.toks[0], "unexpected {%% %s %%}: no block is open", kw)
	}
	return tr.errorf(&tr.toks[0], "unknown tag '%s'", kw)
}

func (tr *translator) ifStatement() error {
	n := &ifStmt{stmtBase: tr.pos()}
	cond, err := tr.parseTuple(false, nil, false)
	if err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	n.conds = append(n.conds, cond)
	tr.emit(n)
	for {
		end, err := tr.body("elif", "else", "endif")
		if err != nil {
			return err
		}
		switch end {
		case "elif":
			cond, err := tr.parseTuple(false, nil, false)
			if err != nil {
				return err
			}
			if err := tr.end(); err != nil {
				return err
			}
			n.conds = append(n.conds, cond)
			tr.out.WriteString("{% jx_elif %}")
			continue
		case "else":
			if err := tr.end(); err != nil {
				return err
			}
			n.hasElse = true
			tr.out.WriteString("{% jx_else %}")
			end, err := tr.body("endif")
			if err != nil {
				return err
			}
			_ = end
		}
		if err := tr.end(); err != nil {
			return err
		}
		tr.out.WriteString("{% jx_end %}")
		return nil
	}
}

func (tr *translator) forStatement() error {
	n := &forStmt{stmtBase: tr.pos()}
	target, err := tr.parseAssignTarget(true, false, []string{"in"}, false)
	if err != nil {
		return err
	}
	n.target = target
	if targetBinds(target, "loop") {
		return tr.errorf(&tr.toks[1], "Can't assign to special loop variable in for-loop target")
	}
	if err := tr.expect(tokName, "in"); err != nil {
		return err
	}
	if n.iter, err = tr.parseTuple(false, []string{"recursive"}, false); err != nil {
		return err
	}
	if tr.accept(tokName, "if") {
		if n.cond, err = tr.parseExpr(true); err != nil {
			return err
		}
	}
	n.recursive = tr.accept(tokName, "recursive")
	if err := tr.end(); err != nil {
		return err
	}
	tr.emit(n)
	t := newTracker("loop")
	tr.trackers = append(tr.trackers, t)
	end, err := tr.body("endfor", "else")
	tr.trackers = tr.trackers[:len(tr.trackers)-1]
	if err != nil {
		return err
	}
	// Jinja binds `loop` only where it is needed, which included templates
	// can tell.
	n.usesLoop = n.recursive || t.state["loop"] == 1 || t.scopedBlock
	if err := tr.end(); err != nil {
		return err
	}
	if end == "else" {
		n.hasElse = true
		tr.out.WriteString("{% jx_else %}")
		// A scoped block anywhere in the loop, else branch included,
		// makes Jinja bind `loop`.
		te := newTracker("")
		tr.trackers = append(tr.trackers, te)
		_, err := tr.body("endfor")
		tr.trackers = tr.trackers[:len(tr.trackers)-1]
		if err != nil {
			return err
		}
		if err := tr.end(); err != nil {
			return err
		}
		n.usesLoop = n.usesLoop || te.scopedBlock
	}
	tr.out.WriteString("{% jx_end %}")
	return nil
}

func (tr *translator) setStatement() error {
	target, err := tr.parseAssignTarget(true, false, nil, true)
	if err != nil {
		return err
	}
	if tr.accept(tokOp, "=") {
		value, err := tr.parseTuple(true, nil, false)
		if err != nil {
			return err
		}
		if err := tr.end(); err != nil {
			return err
		}
		tr.emit(&setStmt{stmtBase: tr.pos(), target: target, value: value})
		return nil
	}
	filters, err := tr.parseFilterChain(false)
	if err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	return tr.block(&setBlockStmt{stmtBase: tr.pos(), target: target, filters: filters}, "endset")
}

func (tr *translator) filterStatement() error {
	filters, err := tr.parseFilterChain(true)
	if err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	return tr.block(&filterBlockStmt{stmtBase: tr.pos(), filters: filters}, "endfilter")
}

// parseSignature parses a macro's or call block's parameters, "(" first.
func (tr *translator) parseSignature(d *macroStmt) error {
	if err := tr.expect(tokOp, "("); err != nil {
		return err
	}
	for !tr.peekOp(")") {
		if len(d.params) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return err
			}
		}
		name, _, err := tr.name()
		if err != nil {
			return err
		}
		tr.store(name)
		if tr.accept(tokOp, "=") {
			def, err := tr.parseExpr(true)
			if err != nil {
				return err
			}
			d.defaults = append(d.defaults, def)
		} else if len(d.defaults) > 0 {
			return tr.errorf(tr.peekAt(-1), "non-default argument follows default argument")
		}
		d.params = append(d.params, name)
		if name == "caller" {
			d.explicitCaller = true
		}
	}
	return tr.expect(tokOp, ")")
}

// macroBody translates a macro's (or caller's) body with a tracker for the
// special names it uses.
func (tr *translator) macroBody(d *macroStmt, end string) error {
	t := newTracker("caller varargs kwargs")
	tr.trackers = append(tr.trackers, t)
	_, err := tr.body(end)
	tr.trackers = tr.trackers[:len(tr.trackers)-1]
	if err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	d.caller = t.state["caller"] == 1
	d.catchVarargs = t.state["varargs"] == 1
	d.catchKwargs = t.state["kwargs"] == 1
	tr.out.WriteString("{% jx_end %}")
	return nil
}

func (tr *translator) macroStatement() error {
	name, _, err := tr.name()
	if err != nil {
		return err
	}
	tr.store(name)
	d := &macroStmt{stmtBase: tr.pos(), name: name}
	if err := tr.parseSignature(d); err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	tr.emit(d)
	return tr.macroBody(d, "endmacro")
}

func (tr *translator) callStatement() error {
	d := &macroStmt{stmtBase: tr.pos(), name: "caller"}
	if tr.peekOp("(") {
		if err := tr.parseSignature(d); err != nil {
			return err
		}
	}
	start := tr.peek()
	e, err := tr.parseExpr(true)
	if err != nil {
		return err
	}
	c, ok := e.(*callExpr)
	if !ok {
		return tr.errorf(start, "expected call")
	}
	if err := tr.end(); err != nil {
		return err
	}
	n := &callBlockStmt{stmtBase: tr.pos(), call: c, caller: d}
	tr.emit(n)
	return tr.macroBody(d, "endcall")
}

func (tr *translator) blockStatement() error {
	name, tok, err := tr.name()
	if err != nil {
		return err
	}
	n := &blockStmt{stmtBase: tr.pos(), name: name, toplevel: tr.toplevel}
	n.scoped = tr.accept(tokName, "scoped")
	if n.scoped {
		for _, t := range tr.trackers {
			if t != nil {
				t.scopedBlock = true
			}
		}
	}
	n.required = tr.accept(tokName, "required")
	if tr.peekOp("-") {
		return tr.unexpected("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead")
	}
	if err := tr.end(); err != nil {
		return err
	}
	if tr.blocks[name] {
		return tr.errorf(tok, "block '%s' defined twice", name)
	}
	tr.blocks[name] = true
	tr.emit(n)
	bodyStart := len(tr.unit.nodes)
	outStart := tr.out.Len()
	tr.trackers = append(tr.trackers, nil) // Jinja's name visitor stops at blocks
	saved := tr.textNodes
	tr.textNodes = false
	_, err = tr.body("endblock")
	tr.textNodes = saved
	tr.trackers = tr.trackers[:len(tr.trackers)-1]
	if err != nil {
		return err
	}
	if n.required && (strings.TrimSpace(tr.out.String()[outStart:]) != "" || len(tr.unit.nodes) > bodyStart) {
		return tr.errorf(tok, "Required blocks can only contain comments or whitespace")
	}
	tr.accept(tokName, name)
	if err := tr.end(); err != nil {
		return err
	}
	tr.unit.blocks[name] = n
	tr.out.WriteString("{% jx_end %}")
	return nil
}

// parseContext reads an optional "with context" / "without context".
func (tr *translator) parseContext(def bool) bool {
	if (tr.peekName("with") || tr.peekName("without")) && tr.peekAt(1) != nil && tr.peekAt(1).kind == tokName && tr.peekAt(1).val == "context" {
		with := tr.peek().val == "with"
		tr.i += 2
		return with
	}
	return def
}

func (tr *translator) includeStatement() error {
	n := &includeStmt{stmtBase: tr.pos()}
	var err error
	if n.template, err = tr.parseExpr(true); err != nil {
		return err
	}
	if tr.peekName("ignore") && tr.peekAt(1) != nil && tr.peekAt(1).val == "missing" {
		n.ignoreMissing = true
		tr.i += 2
	}
	n.withContext = tr.parseContext(true)
	if err := tr.end(); err != nil {
		return err
	}
	tr.emit(n)
	return nil
}

func (tr *translator) importStatement() error {
	n := &importStmt{stmtBase: tr.pos()}
	var err error
	if n.template, err = tr.parseExpr(true); err != nil {
		return err
	}
	if err := tr.expect(tokName, "as"); err != nil {
		return err
	}
	if n.target, _, err = tr.name(); err != nil {
		return err
	}
	tr.store(n.target)
	n.withContext = tr.parseContext(false)
	if err := tr.end(); err != nil {
		return err
	}
	tr.emit(n)
	return nil
}

func (tr *translator) fromStatement() error {
	n := &importStmt{stmtBase: tr.pos(), from: true}
	var err error
	if n.template, err = tr.parseExpr(true); err != nil {
		return err
	}
	if err := tr.expect(tokName, "import"); err != nil {
		return err
	}
	for {
		if len(n.names) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return err
			}
		}
		t := tr.peek()
		if t == nil || t.kind != tokName {
			return tr.unexpected("expected a name")
		}
		if (t.val == "with" || t.val == "without") && tr.peekAt(1) != nil && tr.peekAt(1).val == "context" {
			n.withContext = tr.parseContext(false)
			break
		}
		name, tok, _ := tr.name()
		if strings.HasPrefix(name, "_") {
			return tr.errorf(tok, "names starting with an underline can not be imported")
		}
		alias := name
		if tr.accept(tokName, "as") {
			if alias, _, err = tr.name(); err != nil {
				return err
			}
		}
		tr.store(alias)
		n.names = append(n.names, [2]string{name, alias})
		if (tr.peekName("with") || tr.peekName("without")) && tr.peekAt(1) != nil && tr.peekAt(1).val == "context" {
			n.withContext = tr.parseContext(false)
			break
		}
		if !tr.peekOp(",") {
			break
		}
	}
	if err := tr.end(); err != nil {
		return err
	}
	tr.emit(n)
	return nil
}

// autoescapeStatement: autoescaping is off and stays off; turning it on is
// refused when it runs, so that a branch never taken still renders.
func (tr *translator) autoescapeStatement() error {
	e, err := tr.parseExpr(true)
	if err != nil {
		return err
	}
	if err := tr.end(); err != nil {
		return err
	}
	return tr.block(&autoescapeStmt{stmtBase: tr.pos(), value: e}, "endautoescape")
}

func (tr *translator) withStatement() error {
	n := &withStmt{stmtBase: tr.pos()}
	for tr.peek() != nil {
		if len(n.targets) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return err
			}
		}
		t, err := tr.parseAssignTarget(true, false, nil, false)
		if err != nil {
			return err
		}
		if err := tr.expect(tokOp, "="); err != nil {
			return err
		}
		v, err := tr.parseExpr(true)
		if err != nil {
			return err
		}
		n.targets = append(n.targets, t)
		n.values = append(n.values, v)
	}
	return tr.block(n, "endwith")
}

// --- assignment targets ---

// parseAssignTarget is Jinja's parse_assign_target: a name, a namespace
// attribute (ns.x, only where allowed) or a tuple of names.
func (tr *translator) parseAssignTarget(withTuple, nameOnly bool, extraEnd []string, withNamespace bool) (target, error) {
	if withNamespace && tr.peekAt(1) != nil && tr.peekAt(1).kind == tokOp && tr.peekAt(1).val == "." {
		ns, _, err := tr.name()
		if err != nil {
			return nil, err
		}
		tr.i++
		attr, _, err := tr.name()
		if err != nil {
			return nil, err
		}
		return &nsTarget{ns: ns, attr: attr}, nil
	}
	if nameOnly {
		n, _, err := tr.name()
		tr.store(n)
		return &nameTarget{name: n}, err
	}
	start := tr.peek()
	var e expr
	var err error
	if withTuple {
		e, err = tr.parseTupleSimplified(extraEnd)
	} else {
		e, err = tr.parsePrimary()
	}
	if err != nil {
		return nil, err
	}
	t, ok := tr.toTarget(e)
	if !ok {
		return nil, tr.errorf(start, "can't assign to %s", targetKind(e))
	}
	return t, nil
}

func targetBinds(t target, name string) bool {
	switch x := t.(type) {
	case *nameTarget:
		return x.name == name
	case *tupleTarget:
		for _, it := range x.items {
			if targetBinds(it, name) {
				return true
			}
		}
	}
	return false
}

func targetKind(e expr) string {
	switch e.(type) {
	case *constExpr:
		return "'const'"
	case *listExpr:
		return "'list'"
	case *dictExpr:
		return "'dict'"
	case *getattrExpr:
		return "'getattr'"
	case *getitemExpr:
		return "'getitem'"
	}
	return "this expression"
}

func (tr *translator) toTarget(e expr) (target, bool) {
	switch x := e.(type) {
	case *nameExpr:
		if x.name == "true" || x.name == "false" || x.name == "none" || x.name == "True" || x.name == "False" || x.name == "None" {
			return nil, false
		}
		tr.store(x.name)
		return &nameTarget{name: x.name}, true
	case *tupleExpr:
		t := &tupleTarget{}
		for _, it := range x.items {
			sub, ok := tr.toTarget(it)
			if !ok {
				return nil, false
			}
			t.items = append(t.items, sub)
		}
		return t, true
	}
	return nil, false
}

// parseTupleSimplified is parse_tuple(simplified=True): primaries only.
func (tr *translator) parseTupleSimplified(extraEnd []string) (expr, error) {
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return nil, err
			}
		}
		if tr.isTupleEnd(extraEnd) {
			break
		}
		e, err := tr.parsePrimaryForTarget()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if !tr.peekOp(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		return nil, tr.unexpected("expected an expression")
	}
	return &tupleExpr{items: items}, nil
}

// parsePrimaryForTarget parses a primary without recording name loads
// (they are stores here).
func (tr *translator) parsePrimaryForTarget() (expr, error) {
	t := tr.peek()
	if t != nil && t.kind == tokName {
		tr.i++
		switch t.val {
		case "true", "True", "false", "False", "none", "None":
			return &constExpr{v: t.val}, nil
		}
		return &nameExpr{name: t.val}, nil
	}
	return tr.parsePrimary()
}

// --- expressions (Jinja's grammar, lowest precedence first) ---

func (tr *translator) isTupleEnd(extraEnd []string) bool {
	t := tr.peek()
	if t == nil || t.kind == tokOp && t.val == ")" {
		return true
	}
	if t.kind == tokName {
		for _, e := range extraEnd {
			if t.val == e {
				return true
			}
		}
	}
	return false
}

// parseTuple is Jinja's parse_tuple: expressions separated by commas make
// a tuple.
func (tr *translator) parseTuple(withCondExpr bool, extraEnd []string, explicitParens bool) (expr, error) {
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return nil, err
			}
		}
		if tr.isTupleEnd(extraEnd) {
			break
		}
		e, err := tr.parseExpr(withCondExpr)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if !tr.peekOp(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, tr.unexpected("expected an expression")
		}
	}
	return &tupleExpr{items: items}, nil
}

func (tr *translator) parseExpr(withCondExpr bool) (expr, error) {
	if withCondExpr {
		return tr.parseCondExpr()
	}
	return tr.parseOr()
}

func (tr *translator) parseCondExpr() (expr, error) {
	e, err := tr.parseOr()
	if err != nil {
		return nil, err
	}
	for tr.accept(tokName, "if") {
		cond, err := tr.parseOr()
		if err != nil {
			return nil, err
		}
		var other expr
		if tr.accept(tokName, "else") {
			if other, err = tr.parseCondExpr(); err != nil {
				return nil, err
			}
		}
		e = &condExpr{test: cond, yes: e, no: other}
	}
	return e, nil
}

func (tr *translator) parseOr() (expr, error) {
	e, err := tr.parseAnd()
	for err == nil && tr.accept(tokName, "or") {
		var r expr
		if r, err = tr.parseAnd(); err == nil {
			e = &orExpr{a: e, b: r}
		}
	}
	return e, err
}

func (tr *translator) parseAnd() (expr, error) {
	e, err := tr.parseNot()
	for err == nil && tr.accept(tokName, "and") {
		var r expr
		if r, err = tr.parseNot(); err == nil {
			e = &andExpr{a: e, b: r}
		}
	}
	return e, err
}

func (tr *translator) parseNot() (expr, error) {
	if tr.accept(tokName, "not") {
		e, err := tr.parseNot()
		return &notExpr{a: e}, err
	}
	return tr.parseCompare()
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}

func (tr *translator) parseCompare() (expr, error) {
	e, err := tr.parseMath1()
	if err != nil {
		return nil, err
	}
	var ops []string
	var rest []expr
	for {
		t := tr.peek()
		var op string
		switch {
		case t == nil:
		case t.kind == tokOp && compareOps[t.val]:
			op = t.val
			tr.i++
		case t.kind == tokName && t.val == "in":
			op = "in"
			tr.i++
		case t.kind == tokName && t.val == "not" && tr.peekAt(1) != nil && tr.peekAt(1).kind == tokName && tr.peekAt(1).val == "in":
			op = "not in"
			tr.i += 2
		}
		if op == "" {
			break
		}
		r, err := tr.parseMath1()
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
		rest = append(rest, r)
	}
	if ops == nil {
		return e, nil
	}
	return &compareExpr{first: e, ops: ops, rest: rest}, nil
}

func (tr *translator) parseBinary(next func() (expr, error), ops ...string) (expr, error) {
	e, err := next()
	for err == nil {
		t := tr.peek()
		if t == nil || t.kind != tokOp || !contains1(ops, t.val) {
			break
		}
		tr.i++
		var r expr
		if r, err = next(); err == nil {
			e = &binExpr{op: t.val, a: e, b: r}
		}
	}
	return e, err
}

func contains1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (tr *translator) parseMath1() (expr, error) { return tr.parseBinary(tr.parseConcat, "+", "-") }

func (tr *translator) parseConcat() (expr, error) {
	e, err := tr.parseMath2()
	if err != nil || !tr.peekOp("~") {
		return e, err
	}
	items := []expr{e}
	for tr.accept(tokOp, "~") {
		r, err := tr.parseMath2()
		if err != nil {
			return nil, err
		}
		items = append(items, r)
	}
	return &concatExpr{items: items}, nil
}

func (tr *translator) parseMath2() (expr, error) {
	return tr.parseBinary(tr.parsePow, "*", "/", "//", "%")
}

func (tr *translator) parsePow() (expr, error) {
	return tr.parseBinary(func() (expr, error) { return tr.parseUnary(true) }, "**")
}

func (tr *translator) parseUnary(withFilter bool) (expr, error) {
	var e expr
	var err error
	switch {
	case tr.accept(tokOp, "-"):
		if e, err = tr.parseUnary(false); err != nil {
			return nil, err
		}
		e = &negExpr{a: e}
	case tr.accept(tokOp, "+"):
		if e, err = tr.parseUnary(false); err != nil {
			return nil, err
		}
		e = &posExpr{a: e}
	default:
		if e, err = tr.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if e, err = tr.parsePostfix(e); err != nil {
		return nil, err
	}
	if withFilter {
		return tr.parseFilterExpr(e)
	}
	return e, nil
}

func (tr *translator) parsePrimary() (expr, error) {
	t := tr.peek()
	if t == nil {
		return nil, tr.unexpected("expected an expression")
	}
	tr.i++
	switch t.kind {
	case tokName:
		switch t.val {
		case "true", "True":
			return &constExpr{v: true}, nil
		case "false", "False":
			return &constExpr{v: false}, nil
		case "none", "None":
			return &constExpr{v: None}, nil
		}
		tr.load(t.val)
		return &nameExpr{name: t.val}, nil
	case tokString:
		s := t.val
		for tr.peek() != nil && tr.peek().kind == tokString { // 'a' 'b' is 'ab'
			s += tr.peek().val
			tr.i++
		}
		return &constExpr{v: s}, nil
	case tokInt:
		n, err := strconv.Atoi(t.val)
		if err != nil {
			// Python's ints grow; fail only if the number is used.
			return &overflowExpr{literal: t.val}, nil
		}
		return &constExpr{v: n}, nil
	case tokFloat:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			return nil, tr.errorf(t, "bad number %s", t.val)
		}
		return &constExpr{v: f}, nil
	}
	switch t.val {
	case "(":
		e, err := tr.parseTuple(true, nil, true)
		if err != nil {
			return nil, err
		}
		return e, tr.expect(tokOp, ")")
	case "[":
		var items []expr
		for !tr.peekOp("]") {
			if len(items) > 0 {
				if err := tr.expect(tokOp, ","); err != nil {
					return nil, err
				}
			}
			if tr.peekOp("]") {
				break
			}
			e, err := tr.parseExpr(true)
			if err != nil {
				return nil, err
			}
			items = append(items, e)
		}
		return &listExpr{items: items}, tr.expect(tokOp, "]")
	case "{":
		d := &dictExpr{}
		for !tr.peekOp("}") {
			if len(d.keys) > 0 {
				if err := tr.expect(tokOp, ","); err != nil {
					return nil, err
				}
			}
			if tr.peekOp("}") {
				break
			}
			k, err := tr.parseExpr(true)
			if err != nil {
				return nil, err
			}
			if err := tr.expect(tokOp, ":"); err != nil {
				return nil, err
			}
			v, err := tr.parseExpr(true)
			if err != nil {
				return nil, err
			}
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
		}
		return d, tr.expect(tokOp, "}")
	}
	tr.i--
	return nil, tr.unexpected("unexpected token")
}

// path returns the expression as written, for messages ("env.DOMAIN").
func exprPath(e expr) string {
	switch x := e.(type) {
	case *nameExpr:
		return x.name
	case *getattrExpr:
		return x.path
	case *getitemExpr:
		return x.path
	}
	return ""
}

func (tr *translator) parsePostfix(e expr) (expr, error) {
	for {
		switch {
		case tr.peekOp(".") || tr.peekOp("["):
			var err error
			if e, err = tr.parseSubscript(e); err != nil {
				return nil, err
			}
		case tr.peekOp("("):
			var err error
			if e, err = tr.parseCall(e); err != nil {
				return nil, err
			}
		default:
			return e, nil
		}
	}
}

func (tr *translator) parseFilterExpr(e expr) (expr, error) {
	for {
		switch {
		case tr.peekOp("|"):
			tr.i++
			f, err := tr.parseFilter(e)
			if err != nil {
				return nil, err
			}
			e = f
		case tr.peekName("is"):
			var err error
			if e, err = tr.parseTest(e); err != nil {
				return nil, err
			}
		case tr.peekOp("("):
			var err error
			if e, err = tr.parseCall(e); err != nil {
				return nil, err
			}
		default:
			return e, nil
		}
	}
}

func (tr *translator) parseSubscript(e expr) (expr, error) {
	t := tr.peek()
	tr.i++
	base := exprPath(e)
	if t.val == "." {
		at := tr.peek()
		if at == nil || (at.kind != tokName && at.kind != tokInt) {
			return nil, tr.unexpected("expected name or number")
		}
		tr.i++
		if at.kind == tokName {
			return &getattrExpr{obj: e, name: at.val, path: joinPath(base, at.val)}, nil
		}
		n, err := strconv.Atoi(at.val)
		if err != nil {
			return nil, tr.errorf(at, "integer %s is too large", at.val)
		}
		return &getitemExpr{obj: e, key: &constExpr{v: n}, path: joinPath(base, at.val)}, nil
	}
	var keys []expr
	for !tr.peekOp("]") {
		if len(keys) > 0 {
			if err := tr.expect(tokOp, ","); err != nil {
				return nil, err
			}
		}
		k, err := tr.parseSubscribed()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := tr.expect(tokOp, "]"); err != nil {
		return nil, err
	}
	var key expr
	switch len(keys) {
	case 0:
		return nil, tr.errorf(t, "expected subscript expression")
	case 1:
		key = keys[0]
	default:
		key = &tupleExpr{items: keys}
	}
	p := base + "[…]"
	if c, ok := key.(*constExpr); ok {
		p = base + "[" + repr(c.v) + "]"
	}
	return &getitemExpr{obj: e, key: key, path: p}, nil
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

// parseSubscribed parses one subscript: an expression or a slice.
func (tr *translator) parseSubscribed() (expr, error) {
	var parts [3]expr
	if tr.accept(tokOp, ":") {
	} else {
		e, err := tr.parseExpr(true)
		if err != nil {
			return nil, err
		}
		if !tr.accept(tokOp, ":") {
			return e, nil
		}
		parts[0] = e
	}
	if !tr.peekOp(":") && !tr.peekOp("]") && !tr.peekOp(",") {
		e, err := tr.parseExpr(true)
		if err != nil {
			return nil, err
		}
		parts[1] = e
	}
	if tr.accept(tokOp, ":") {
		if !tr.peekOp("]") && !tr.peekOp(",") {
			e, err := tr.parseExpr(true)
			if err != nil {
				return nil, err
			}
			parts[2] = e
		}
	}
	return &sliceExpr{start: parts[0], stop: parts[1], step: parts[2]}, nil
}

func (tr *translator) parseCallArgs() (callArgs, error) {
	var c callArgs
	open := tr.peek()
	if err := tr.expect(tokOp, "("); err != nil {
		return c, err
	}
	invalid := func() error { return tr.errorf(open, "invalid syntax for function call expression") }
	requireComma := false
	for !tr.peekOp(")") {
		if requireComma {
			if err := tr.expect(tokOp, ","); err != nil {
				return c, err
			}
			if tr.peekOp(")") {
				break
			}
		}
		switch {
		case tr.peekOp("*"):
			if c.dynArgs != nil || c.dynKwArg != nil {
				return c, invalid()
			}
			tr.i++
			e, err := tr.parseExpr(true)
			if err != nil {
				return c, err
			}
			c.dynArgs = e
		case tr.peekOp("**"):
			if c.dynKwArg != nil {
				return c, invalid()
			}
			tr.i++
			e, err := tr.parseExpr(true)
			if err != nil {
				return c, err
			}
			c.dynKwArg = e
		case tr.peek() != nil && tr.peek().kind == tokName && tr.peekAt(1) != nil && tr.peekAt(1).kind == tokOp && tr.peekAt(1).val == "=":
			if c.dynKwArg != nil {
				return c, invalid()
			}
			name := tr.peek().val
			tr.i += 2
			e, err := tr.parseExpr(true)
			if err != nil {
				return c, err
			}
			c.kw = append(c.kw, kwArg{name: name, val: e})
		default:
			if c.dynArgs != nil || c.dynKwArg != nil || len(c.kw) > 0 {
				return c, invalid()
			}
			e, err := tr.parseExpr(true)
			if err != nil {
				return c, err
			}
			c.pos = append(c.pos, e)
		}
		requireComma = true
	}
	return c, tr.expect(tokOp, ")")
}

func (tr *translator) parseCall(e expr) (expr, error) {
	c, err := tr.parseCallArgs()
	if err != nil {
		return nil, err
	}
	return &callExpr{fn: e, args: c}, nil
}

func (tr *translator) dottedName() (string, *token, error) {
	n, tok, err := tr.name()
	for err == nil && tr.peekOp(".") {
		tr.i++
		var part string
		if part, _, err = tr.name(); err == nil {
			n += "." + part
		}
	}
	return n, tok, err
}

// parseFilter parses "name(args)" after a "|".
func (tr *translator) parseFilter(obj expr) (*filterExpr, error) {
	name, tok, err := tr.dottedName()
	if err != nil {
		return nil, err
	}
	var c callArgs
	if tr.peekOp("(") {
		if c, err = tr.parseCallArgs(); err != nil {
			return nil, err
		}
	}
	fn, ok := filters[name]
	if !ok {
		return nil, tr.errorf(tok, "unknown filter '%s' (the supported ones are listed in the pkg/render documentation)", name)
	}
	return &filterExpr{name: name, obj: obj, args: c, fn: fn}, nil
}

// parseFilterChain parses the filters of {% filter … %} and {% set x | … %}.
func (tr *translator) parseFilterChain(startInline bool) ([]*filterExpr, error) {
	var chain []*filterExpr
	for startInline || tr.peekOp("|") {
		if !startInline {
			tr.i++
		}
		startInline = false
		f, err := tr.parseFilter(nil)
		if err != nil {
			return nil, err
		}
		chain = append(chain, f)
	}
	return chain, nil
}

func (tr *translator) parseTest(e expr) (expr, error) {
	tr.i++ // "is"
	negated := tr.accept(tokName, "not")
	name, tok, err := tr.dottedName()
	if err != nil {
		return nil, err
	}
	var c callArgs
	if tr.peekOp("(") {
		if c, err = tr.parseCallArgs(); err != nil {
			return nil, err
		}
	} else if t := tr.peek(); t != nil && (t.kind == tokName || t.kind == tokString || t.kind == tokInt || t.kind == tokFloat || t.kind == tokOp && (t.val == "(" || t.val == "[" || t.val == "{")) &&
		!(t.kind == tokName && (t.val == "else" || t.val == "or" || t.val == "and")) {
		if t.kind == tokName && t.val == "is" {
			return nil, tr.errorf(t, "You cannot chain multiple tests with is")
		}
		arg, err := tr.parsePrimary()
		if err != nil {
			return nil, err
		}
		if arg, err = tr.parsePostfix(arg); err != nil {
			return nil, err
		}
		c.pos = []expr{arg}
	}
	fn, ok := tests[name]
	if !ok {
		return nil, tr.errorf(tok, "unknown test '%s' (the supported ones are listed in the pkg/render documentation)", name)
	}
	var out expr = &testExpr{name: name, obj: e, args: c, fn: fn}
	if negated {
		out = &notExpr{a: out}
	}
	return out, nil
}
