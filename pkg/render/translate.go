package render

import (
	"fmt"
	"strconv"
	"strings"
)

// This file translates Jinja to pongo2. Text segments pass through as they
// are (the lexer already applied Jinja's whitespace rules); every Jinja
// expression is parsed with Jinja's grammar and precedence and re-emitted as
// nested calls of the jx_* functions (see runtime.go), which implement
// Python's and Jinja's semantics. pongo2 parses the result and runs the
// control flow (if, for, set) and the calls.

// expr is an emitted pongo2 expression plus, for variables and attribute
// chains, the Jinja path used in error messages ("env.DOMAIN").
type expr struct {
	code string
	path string
}

type translator struct {
	file  string
	src   string // normalized source, for error positions
	lits  []any
	out   strings.Builder
	stack []string          // open blocks: "if", "for"
	bound []map[string]bool // loop variables in scope, innermost last: always defined
	loops int               // generated loop variable counter
	// per statement
	toks []token
	i    int
	seg  segment
}

// translate returns the pongo2 source and its literal table.
func translate(file, src string) (string, []any, error) {
	src = normalizeSource(src)
	segs, err := lex(file, src)
	if err != nil {
		return "", nil, err
	}
	tr := &translator{file: file, src: src}
	for _, s := range segs {
		tr.seg = s
		tr.toks, tr.i = s.tokens, 0
		switch s.kind {
		case segText:
			tr.text(s.text)
		case segPrint:
			e, err := tr.parseWhole()
			if err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&tr.out, "{{ jx_print(%s, %d) }}", e.code, s.line)
		case segStmt:
			if err := tr.statement(); err != nil {
				return "", nil, err
			}
		}
	}
	if len(tr.stack) > 0 {
		return "", nil, &SyntaxError{File: file, Line: 1 + strings.Count(src, "\n"), Col: 1,
			Msg: fmt.Sprintf("unexpected end of template: {%% %s %%} is never closed with {%% end%s %%}", tr.stack[len(tr.stack)-1], tr.stack[len(tr.stack)-1])}
	}
	return tr.out.String(), tr.lits, nil
}

// text writes literal output; text that pongo2 would read as a tag goes
// through the literal table instead.
func (tr *translator) text(s string) {
	if strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#") || strings.HasSuffix(s, "{") {
		fmt.Fprintf(&tr.out, "{{ jx_text(%d) }}", tr.lit(s))
		return
	}
	tr.out.WriteString(s)
}

func (tr *translator) lit(v any) int {
	tr.lits = append(tr.lits, v)
	return len(tr.lits) - 1
}

func (tr *translator) errorf(tok *token, format string, args ...any) error {
	line, col := tr.seg.line, tr.seg.col
	if tok != nil && tok.pos <= len(tr.src) {
		line = 1 + strings.Count(tr.src[:tok.pos], "\n")
		col = tok.pos - strings.LastIndexByte(tr.src[:tok.pos], '\n')
	}
	return &SyntaxError{File: tr.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// --- token helpers ---

func (tr *translator) peek() *token {
	if tr.i < len(tr.toks) {
		return &tr.toks[tr.i]
	}
	return nil
}

func (tr *translator) peekIs(kind tokKind, val string) bool {
	t := tr.peek()
	return t != nil && t.kind == kind && t.val == val
}

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
	return tr.errorf(t, "%s, found %q", what, t.val)
}

func (tr *translator) name() (string, error) {
	t := tr.peek()
	if t == nil || t.kind != tokName {
		return "", tr.unexpected("expected a name")
	}
	tr.i++
	return t.val, nil
}

func (tr *translator) parseWhole() (expr, error) {
	if len(tr.toks) == 0 {
		return expr{}, tr.errorf(nil, "empty expression")
	}
	e, err := tr.parseExpr()
	if err != nil {
		return e, err
	}
	if tr.peek() != nil {
		return e, tr.unexpected("expected the end of the tag")
	}
	return e, nil
}

// --- statements ---

func (tr *translator) statement() error {
	kw, err := tr.name()
	if err != nil {
		return err
	}
	line := tr.seg.line
	switch kw {
	case "if", "elif":
		if kw == "elif" && !tr.inside("if") {
			return tr.errorf(&tr.toks[0], "{%% elif %%} outside {%% if %%}")
		}
		cond, err := tr.parseWhole()
		if err != nil {
			return err
		}
		if kw == "if" {
			tr.stack = append(tr.stack, "if")
		}
		fmt.Fprintf(&tr.out, "{%% %s jx_bool(%s, %d) %%}", kw, cond.code, line)
	case "else":
		if len(tr.stack) == 0 {
			return tr.errorf(&tr.toks[0], "{%% else %%} outside {%% if %%} or {%% for %%}")
		}
		if tr.peek() != nil {
			return tr.unexpected("expected the end of the tag")
		}
		if tr.stack[len(tr.stack)-1] == "for" {
			tr.out.WriteString("{% empty %}")
		} else {
			tr.out.WriteString("{% else %}")
		}
	case "endif", "endfor":
		want := strings.TrimPrefix(kw, "end")
		if len(tr.stack) == 0 || tr.stack[len(tr.stack)-1] != want {
			return tr.errorf(&tr.toks[0], "unexpected {%% %s %%}", kw)
		}
		if tr.peek() != nil {
			return tr.unexpected("expected the end of the tag")
		}
		tr.stack = tr.stack[:len(tr.stack)-1]
		if want == "for" {
			tr.bound = tr.bound[:len(tr.bound)-1]
		}
		fmt.Fprintf(&tr.out, "{%% %s %%}", kw)
	case "for":
		return tr.forStatement(line)
	case "set":
		target, err := tr.name()
		if err != nil {
			return err
		}
		if !tr.accept(tokOp, "=") {
			return tr.unexpected("expected '=' ({% set x %}…{% endset %} blocks and tuple targets are not supported)")
		}
		value, err := tr.parseWhole()
		if err != nil {
			return err
		}
		fmt.Fprintf(&tr.out, "{%% set %s = jx_val(%s, %d) %%}", safeName(target), value.code, line)
	default:
		return tr.errorf(&tr.toks[0], "unsupported Jinja tag {%% %s %%} (supported: if, elif, else, for, set, raw; see the pkg/render documentation)", kw)
	}
	return nil
}

func (tr *translator) inside(block string) bool {
	return len(tr.stack) > 0 && tr.stack[len(tr.stack)-1] == block
}

func (tr *translator) forStatement(line int) error {
	var targets []string
	for {
		n, err := tr.name()
		if err != nil {
			return err
		}
		targets = append(targets, n)
		if !tr.accept(tokOp, ",") {
			break
		}
	}
	if !tr.accept(tokName, "in") {
		return tr.unexpected("expected 'in'")
	}
	seq, err := tr.parseExprNoCond()
	if err != nil {
		return err
	}
	if tr.peek() != nil {
		return tr.unexpected("expected the end of the tag ('for … if …' filters and 'recursive' are not supported)")
	}
	tr.stack = append(tr.stack, "for")
	names := map[string]bool{}
	for _, t := range targets {
		names[t] = true
	}
	tr.bound = append(tr.bound, names)
	tr.loops++
	if len(targets) == 1 {
		fmt.Fprintf(&tr.out, "{%% for %s in jx_iter(%s, %d) %%}", safeName(targets[0]), seq.code, line)
		return nil
	}
	it := fmt.Sprintf("jx_it%d", tr.loops)
	fmt.Fprintf(&tr.out, "{%% for %s in jx_iter(%s, %d) %%}", it, seq.code, line)
	for i, t := range targets {
		fmt.Fprintf(&tr.out, "{%% set %s = jx_unpack(%s, %d, %d, %d) %%}", safeName(t), it, i, len(targets), line)
	}
	return nil
}

// safeName maps a Jinja variable name to a pongo2 one that can't clash with
// pongo2 keywords or the translator's own names.
func safeName(n string) string { return "v_" + n }

// --- expressions (Jinja's grammar, lowest precedence first) ---

func (tr *translator) parseExpr() (expr, error) {
	e, err := tr.parseOr()
	if err != nil {
		return e, err
	}
	for tr.accept(tokName, "if") {
		cond, err := tr.parseOr()
		if err != nil {
			return e, err
		}
		other := expr{code: "jx_undef(\"else\")"}
		if tr.accept(tokName, "else") {
			if other, err = tr.parseExpr(); err != nil {
				return e, err
			}
		}
		e = expr{code: fmt.Sprintf("jx_cond(%s, %s, %s)", cond.code, e.code, other.code)}
	}
	return e, nil
}

func (tr *translator) parseExprNoCond() (expr, error) { return tr.parseOr() }

func (tr *translator) parseOr() (expr, error)  { return tr.parseLogical("or", tr.parseAnd) }
func (tr *translator) parseAnd() (expr, error) { return tr.parseLogical("and", tr.parseNot) }

// parseLogical parses operands joined by the keyword and/or, which (as in
// Python) yield one of their operands, not a boolean.
func (tr *translator) parseLogical(keyword string, next func() (expr, error)) (expr, error) {
	e, err := next()
	for err == nil && tr.accept(tokName, keyword) {
		var r expr
		if r, err = next(); err == nil {
			e = expr{code: fmt.Sprintf("jx_%s(%s, %s)", keyword, e.code, r.code)}
		}
	}
	return e, err
}

func (tr *translator) parseNot() (expr, error) {
	if tr.accept(tokName, "not") {
		e, err := tr.parseNot()
		return expr{code: fmt.Sprintf("jx_not(%s)", e.code)}, err
	}
	return tr.parseCompare()
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}

func (tr *translator) parseCompare() (expr, error) {
	e, err := tr.parseMath1()
	if err != nil {
		return e, err
	}
	for {
		t := tr.peek()
		var op string
		switch {
		case t == nil:
			return e, nil
		case t.kind == tokOp && compareOps[t.val]:
			op = t.val
			tr.i++
		case t.kind == tokName && t.val == "in":
			op = "in"
			tr.i++
		case t.kind == tokName && t.val == "not" && tr.i+1 < len(tr.toks) && tr.toks[tr.i+1].kind == tokName && tr.toks[tr.i+1].val == "in":
			op = "not in"
			tr.i += 2
		default:
			return e, nil
		}
		r, err := tr.parseMath1()
		if err != nil {
			return e, err
		}
		e = expr{code: fmt.Sprintf("jx_op(%q, %s, %s)", op, e.code, r.code)}
	}
}

func (tr *translator) parseBinary(next func() (expr, error), ops ...string) (expr, error) {
	e, err := next()
	for err == nil {
		t := tr.peek()
		if t == nil || t.kind != tokOp || !contains(ops, t.val) {
			break
		}
		tr.i++
		var r expr
		if r, err = next(); err == nil {
			e = expr{code: fmt.Sprintf("jx_op(%q, %s, %s)", t.val, e.code, r.code)}
		}
	}
	return e, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (tr *translator) parseMath1() (expr, error)  { return tr.parseBinary(tr.parseConcat, "+", "-") }
func (tr *translator) parseConcat() (expr, error) { return tr.parseBinary(tr.parseMath2, "~") }
func (tr *translator) parseMath2() (expr, error) {
	return tr.parseBinary(tr.parsePow, "*", "/", "//", "%")
}
func (tr *translator) parsePow() (expr, error) { return tr.parseBinary(tr.parseUnaryFiltered, "**") }

func (tr *translator) parseUnaryFiltered() (expr, error) { return tr.parseUnary(true) }

func (tr *translator) parseUnary(withFilter bool) (expr, error) {
	var e expr
	var err error
	switch {
	case tr.accept(tokOp, "-"):
		if e, err = tr.parseUnary(false); err != nil {
			return e, err
		}
		e = expr{code: fmt.Sprintf("jx_neg(%s)", e.code)}
	case tr.accept(tokOp, "+"):
		if e, err = tr.parseUnary(false); err != nil {
			return e, err
		}
	default:
		if e, err = tr.parsePrimary(); err != nil {
			return e, err
		}
		if e, err = tr.parsePostfix(e); err != nil {
			return e, err
		}
	}
	if withFilter {
		return tr.parseFilters(e)
	}
	return e, nil
}

func (tr *translator) parsePrimary() (expr, error) {
	t := tr.peek()
	if t == nil {
		return expr{}, tr.unexpected("expected an expression")
	}
	tr.i++
	switch t.kind {
	case tokName:
		switch t.val {
		case "true", "True":
			return expr{code: "true"}, nil
		case "false", "False":
			return expr{code: "false"}, nil
		case "none", "None":
			return expr{code: "jx_none()"}, nil
		case "loop":
			if tr.inLoop() {
				return expr{code: "forloop", path: "loop"}, nil
			}
		}
		if tr.isBound(t.val) {
			return expr{code: safeName(t.val), path: t.val}, nil
		}
		return expr{code: fmt.Sprintf("jx_var(%q, %s)", t.val, safeName(t.val)), path: t.val}, nil
	case tokString:
		s := t.val
		for tr.peek() != nil && tr.peek().kind == tokString { // 'a' 'b' is 'ab'
			s += tr.peek().val
			tr.i++
		}
		if plainString(s) { // pongo2 reads it as the same string: no call needed
			return expr{code: `"` + s + `"`}, nil
		}
		return expr{code: fmt.Sprintf("jx_lit(%d)", tr.lit(s))}, nil
	case tokInt:
		n, err := strconv.Atoi(t.val)
		if err != nil {
			return expr{}, tr.errorf(t, "integer %s is out of range", t.val)
		}
		return expr{code: strconv.Itoa(n)}, nil
	case tokFloat:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return expr{}, tr.errorf(t, "bad number %s", t.val)
		}
		return expr{code: fmt.Sprintf("jx_lit(%d)", tr.lit(f))}, nil
	}
	switch t.val {
	case "(":
		if tr.accept(tokOp, ")") {
			return expr{code: "jx_list()"}, nil
		}
		e, err := tr.parseExpr()
		if err != nil {
			return e, err
		}
		if tr.peekIs(tokOp, ",") { // a tuple: behaves as a list here
			items := []string{e.code}
			for tr.accept(tokOp, ",") && !tr.peekIs(tokOp, ")") {
				it, err := tr.parseExpr()
				if err != nil {
					return it, err
				}
				items = append(items, it.code)
			}
			e = expr{code: "jx_list(" + strings.Join(items, ", ") + ")"}
		}
		return e, tr.expect(tokOp, ")")
	case "[":
		items, err := tr.parseList("]")
		return expr{code: "jx_list(" + strings.Join(items, ", ") + ")"}, err
	case "{":
		items, err := tr.parseItems("}", func() ([]string, error) {
			k, err := tr.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := tr.expect(tokOp, ":"); err != nil {
				return nil, err
			}
			v, err := tr.parseExpr()
			return []string{k.code, v.code}, err
		})
		if err != nil {
			return expr{}, err
		}
		return expr{code: "jx_dict(" + strings.Join(items, ", ") + ")"}, nil
	}
	tr.i--
	return expr{}, tr.unexpected("expected an expression")
}

// isBound reports whether name is a loop variable in scope: pongo2 always
// has a value for it, so no undefined check is needed.
func (tr *translator) isBound(name string) bool {
	for _, names := range tr.bound {
		if names[name] {
			return true
		}
	}
	return false
}

func (tr *translator) inLoop() bool {
	for _, b := range tr.stack {
		if b == "for" {
			return true
		}
	}
	return false
}

// parseItems parses comma-separated items up to closer (consumed), a
// trailing comma allowed, as Python does in lists, calls and dicts.
func (tr *translator) parseItems(closer string, item func() ([]string, error)) ([]string, error) {
	var items []string
	for first := true; !tr.accept(tokOp, closer); first = false {
		if !first {
			if err := tr.expect(tokOp, ","); err != nil {
				return nil, err
			}
			if tr.accept(tokOp, closer) {
				break
			}
		}
		codes, err := item()
		if err != nil {
			return nil, err
		}
		items = append(items, codes...)
	}
	return items, nil
}

func (tr *translator) exprItem() ([]string, error) {
	e, err := tr.parseExpr()
	return []string{e.code}, err
}

// parseList parses comma-separated expressions up to closer (consumed).
func (tr *translator) parseList(closer string) ([]string, error) {
	return tr.parseItems(closer, tr.exprItem)
}

// parseArgs parses a call's arguments after "(": positional ones, then
// keyword ones (name=value) passed as jx_kw pairs.
func (tr *translator) parseArgs() ([]string, error) {
	return tr.parseItems(")", func() ([]string, error) {
		if t := tr.peek(); t != nil && t.kind == tokName && tr.i+1 < len(tr.toks) && tr.toks[tr.i+1].kind == tokOp && tr.toks[tr.i+1].val == "=" {
			tr.i += 2
			v, err := tr.parseExpr()
			return []string{fmt.Sprintf("jx_kw(%q, %s)", t.val, v.code)}, err
		}
		return tr.exprItem()
	})
}

var loopAttrs = map[string]string{
	"index": "forloop.Counter", "index0": "forloop.Counter0",
	"first": "forloop.First", "last": "forloop.Last",
	"revindex": "forloop.Revcounter", "revindex0": "forloop.Revcounter0",
	"length": "jx_op(\"+\", forloop.Counter, forloop.Revcounter0)",
}

func (tr *translator) parsePostfix(e expr) (expr, error) {
	for {
		switch {
		case tr.accept(tokOp, "."):
			t := tr.peek()
			if t == nil || (t.kind != tokName && t.kind != tokInt) {
				return e, tr.unexpected("expected an attribute name")
			}
			tr.i++
			if e.code == "forloop" {
				code, ok := loopAttrs[t.val]
				if !ok {
					return e, tr.errorf(t, "loop.%s is not supported (supported: %s)", t.val, "index, index0, first, last, revindex, revindex0, length")
				}
				e = expr{code: code}
				continue
			}
			path := joinPath(e.path, t.val)
			if tr.peekIs(tokOp, "(") { // a method call: x.split(',')
				tr.i++
				args, err := tr.parseArgs()
				if err != nil {
					return e, err
				}
				e = expr{code: fmt.Sprintf("jx_method(%s, %q%s)", e.code, t.val, prefixComma(args))}
				continue
			}
			if t.kind == tokInt {
				e = expr{code: fmt.Sprintf("jx_item(%s, jx_lit(%d), %q)", e.code, tr.lit(atoi(t.val)), path), path: path}
			} else {
				e = expr{code: fmt.Sprintf("jx_attr(%s, %q, %q)", e.code, t.val, path), path: path}
			}
		case tr.accept(tokOp, "["):
			if tr.peekIs(tokOp, ":") || tr.sliceAhead() {
				return tr.parseSlice(e)
			}
			k, err := tr.parseExpr()
			if err != nil {
				return e, err
			}
			if err := tr.expect(tokOp, "]"); err != nil {
				return e, err
			}
			path := e.path + "[…]"
			e = expr{code: fmt.Sprintf("jx_item(%s, %s, %q)", e.code, k.code, path), path: path}
		case tr.accept(tokOp, "("):
			args, err := tr.parseArgs()
			if err != nil {
				return e, err
			}
			if e.path == "" || strings.Contains(e.path, ".") {
				return e, tr.errorf(nil, "calling %s is not supported", orDefault(e.path, "this expression"))
			}
			e = expr{code: fmt.Sprintf("jx_call(%q%s)", e.path, prefixComma(args))}
		default:
			return e, nil
		}
	}
}

// sliceAhead reports whether the subscript being parsed contains a top-level ':'.
func (tr *translator) sliceAhead() bool {
	depth := 0
	for j := tr.i; j < len(tr.toks); j++ {
		t := tr.toks[j]
		if t.kind != tokOp {
			continue
		}
		switch t.val {
		case "(", "[", "{":
			depth++
		case ")", "}":
			depth--
		case "]":
			if depth == 0 {
				return false
			}
			depth--
		case ":":
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

func (tr *translator) parseSlice(e expr) (expr, error) {
	parts := []string{"jx_none()", "jx_none()", "jx_none()"}
	for n := 0; n < 3; n++ {
		if !tr.peekIs(tokOp, ":") && !tr.peekIs(tokOp, "]") {
			p, err := tr.parseExpr()
			if err != nil {
				return e, err
			}
			parts[n] = p.code
		}
		if !tr.accept(tokOp, ":") {
			break
		}
	}
	if err := tr.expect(tokOp, "]"); err != nil {
		return e, err
	}
	return expr{code: fmt.Sprintf("jx_slice(%s, %s)", e.code, strings.Join(parts, ", "))}, nil
}

func (tr *translator) parseFilters(e expr) (expr, error) {
	for {
		switch {
		case tr.accept(tokOp, "|"):
			name, err := tr.dottedName()
			if err != nil {
				return e, err
			}
			var args []string
			if tr.accept(tokOp, "(") {
				if args, err = tr.parseArgs(); err != nil {
					return e, err
				}
			}
			if !knownFilter(name) {
				return e, tr.errorf(&tr.toks[tr.i-1], "unknown filter %q (supported: %s)", name, strings.Join(filterNames(), ", "))
			}
			e = expr{code: fmt.Sprintf("jx_filter(%q, %s%s)", name, e.code, prefixComma(args))}
		case tr.accept(tokName, "is"):
			negate := tr.accept(tokName, "not")
			name, err := tr.dottedName()
			if err != nil {
				return e, err
			}
			var args []string
			if tr.accept(tokOp, "(") {
				if args, err = tr.parseArgs(); err != nil {
					return e, err
				}
			} else if t := tr.peek(); t != nil && startsTestArg(t) {
				a, err := tr.parseUnary(false)
				if err != nil {
					return e, err
				}
				args = []string{a.code}
			}
			if !knownTest(name) {
				return e, tr.errorf(&tr.toks[tr.i-1], "unknown test %q (supported: %s)", name, strings.Join(testNames(), ", "))
			}
			e = expr{code: fmt.Sprintf("jx_test(%q, %s%s)", name, e.code, prefixComma(args))}
			if negate {
				e = expr{code: fmt.Sprintf("jx_not(%s)", e.code)}
			}
		default:
			return e, nil
		}
	}
}

// startsTestArg reports whether t can start the argument of a test written
// without parentheses ("x is divisibleby 3").
func startsTestArg(t *token) bool {
	switch t.kind {
	case tokString, tokInt, tokFloat:
		return true
	case tokName:
		switch t.val {
		case "else", "or", "and", "is", "in", "if", "not":
			return false
		}
		return true
	}
	return t.val == "(" || t.val == "[" || t.val == "{" || t.val == "-"
}

func (tr *translator) dottedName() (string, error) {
	n, err := tr.name()
	for err == nil && tr.peekIs(tokOp, ".") && tr.i+1 < len(tr.toks) && tr.toks[tr.i+1].kind == tokName {
		tr.i += 2
		n += "." + tr.toks[tr.i-1].val
	}
	return n, err
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

func prefixComma(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return ", " + strings.Join(args, ", ")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// plainString reports whether s can be written as a pongo2 string literal
// as it is (pongo2 knows no escapes but \" and \\, and no newlines).
func plainString(s string) bool {
	return !strings.ContainsAny(s, "\"\\\n\r")
}
