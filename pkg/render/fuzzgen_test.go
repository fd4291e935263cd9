package render

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The fuzzer's template generator: random templates over the supported
// subset, typed so that most of them render (a template that fails on
// both sides is agreement, but teaches little). Templates are trees of
// nodes, so that a difference can be shrunk by replacing nodes with
// smaller ones.

// fnode is a piece of template source: fragments and child nodes.
type fnode struct {
	kind  byte // 'e' expression, 's' statement or text, 'l' sequence
	parts []any
}

func (n *fnode) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *fnode) write(b *strings.Builder) {
	for _, p := range n.parts {
		switch x := p.(type) {
		case string:
			b.WriteString(x)
		case *fnode:
			x.write(b)
		}
	}
}

func ex(parts ...any) *fnode  { return &fnode{kind: 'e', parts: parts} }
func st(parts ...any) *fnode  { return &fnode{kind: 's', parts: parts} }
func seq(parts ...any) *fnode { return &fnode{kind: 'l', parts: parts} }

// fcase is one generated test case: a template and the files it may load.
type fcase struct {
	main  *fnode
	files map[string]*fnode
}

func (c *fcase) sources() (string, map[string]string) {
	files := map[string]string{}
	for name, n := range c.files {
		files[name] = n.String()
	}
	return c.main.String(), files
}

type vtype int

const (
	tAny vtype = iota
	tStr
	tInt
	tFloat
	tBool
	tList
	tDict
	tNone
	nTypes
)

type fvar struct {
	name string
	typ  vtype
}

type fmacro struct {
	name   string
	params int
}

type fgen struct {
	r      *rand.Rand
	scopes [][]fvar
	loops  int
	macros []fmacro
	files  map[string]*fnode
	names  int
	stmts  int // statements generated so far, to bound template size
	// capture counts the enclosing macros, call, filter and set blocks,
	// where Jinja 2 3.1.2 mishandles {% include … without context %} (it
	// writes the output outside the block): not generated there.
	capture int
}

// fuzzContext is the data every fuzzed template sees (as JSON, so that
// both sides read the same values in the same order).
const fuzzContext = `{
 "env": {"DOMAIN": "example.com", "PORT": "8080", "EMPTY": "", "LIST": "a, b,c", "FLAG": "true", "Mixed": "Hello World"},
 "names": ["alpha", "Beta", "gamma", "beta"],
 "nums": [3, 1, 2, 10],
 "items": [{"name": "a", "port": 80, "enabled": true, "tags": ["x"]}, {"name": "B", "port": 443, "enabled": false, "tags": []}, {"name": "c", "port": 8080, "enabled": true, "tags": ["y", "z"]}],
 "cfg": {"b": 2, "a": 1, "c": {"d": [1, 2]}, "e": "text"},
 "n": 3, "f": 2.5, "s": "Hello, World", "t": true, "z": null, "empty": [], "nested": [[1, 2], [3, 4]]
}`

var contextVars = []fvar{
	{"env", tDict}, {"names", tList}, {"nums", tList}, {"items", tList}, {"cfg", tDict},
	{"n", tInt}, {"f", tFloat}, {"s", tStr}, {"t", tBool}, {"z", tNone}, {"empty", tList}, {"nested", tList},
}

func newGen(seed uint64) *fgen {
	return &fgen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), scopes: [][]fvar{contextVars}}
}

func (g *fgen) n(k int) int           { return g.r.IntN(k) }
func (g *fgen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *fgen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

func (g *fgen) push()       { g.scopes = append(g.scopes, nil) }
func (g *fgen) pop()        { g.scopes = g.scopes[:len(g.scopes)-1] }
func (g *fgen) bind(v fvar) { g.scopes[len(g.scopes)-1] = append(g.scopes[len(g.scopes)-1], v) }
func (g *fgen) fresh(p string) string {
	g.names++
	return fmt.Sprintf("%s%d", p, g.names)
}

// varOf picks a variable of type t in scope, or "".
func (g *fgen) varOf(t vtype) string {
	var cands []string
	for _, s := range g.scopes {
		for _, v := range s {
			if v.typ == t || t == tAny {
				cands = append(cands, v.name)
			}
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return pick(g, cands...)
}

// --- literals ---

var fuzzStrings = []string{"", "a", "ab", "Hello World", "x-y_z", "a,b,c", " pad ", "it's", `"q`, "Ünïcödé",
	"<b>&'\"", "line1\nline2", "%s-%s", "{}", "abc123", "ABC", "tab\there", "a b  c", "42", "3.5", "  7 ", "-x", "(a) [b]", "ß"}

func strLit(s string, dq bool) string {
	q := "'"
	if dq {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

func (g *fgen) strLit() *fnode {
	if g.chance(0.05) { // escapes as written in templates
		return ex(pick(g, `'\x41\x7e'`, `'\u00e9\U0001F600'`, `'\101\0'`, `'\d\w'`, `"a\\b"`, `'\a\b\f\v'`, `'tab\
cont'`))
	}
	return ex(strLit(pick(g, fuzzStrings...), g.chance(0.3)))
}

func (g *fgen) intLit() *fnode {
	return ex(strconv.Itoa(pick(g, 0, 1, 2, 3, 4, 5, 7, 10, -1, -3, 100, 255, 12)))
}

func (g *fgen) floatLit() *fnode {
	return ex(pick(g, "0.5", "1.5", "2.0", "-1.25", "1e3", "3.14159", "0.1", "2.675", "1e-05", "100.0", "0.0"))
}

// --- expressions by type ---

func (g *fgen) expr(t vtype, d int) *fnode {
	if t == tAny {
		t = vtype(1 + g.n(int(tDict)))
	}
	if d <= 0 || g.chance(0.25) {
		return g.leaf(t)
	}
	switch t {
	case tStr:
		return g.strExpr(d - 1)
	case tInt:
		return g.intExpr(d - 1)
	case tFloat:
		return g.floatExpr(d - 1)
	case tBool:
		return g.boolExpr(d - 1)
	case tList:
		return g.listExpr(d - 1)
	case tDict:
		return g.dictExpr(d - 1)
	}
	return ex("none")
}

func (g *fgen) leaf(t vtype) *fnode {
	if v := g.varOf(t); v != "" && g.chance(0.5) {
		return ex(v)
	}
	switch t {
	case tStr:
		if g.chance(0.3) {
			return ex("env.", pick(g, "DOMAIN", "PORT", "EMPTY", "LIST", "FLAG", "Mixed"))
		}
		return g.strLit()
	case tInt:
		return g.intLit()
	case tFloat:
		return g.floatLit()
	case tBool:
		return ex(pick(g, "true", "false", "True", "False"))
	case tList:
		return ex(pick(g, "[1, 2, 3]", "['b', 'a', 'C']", "[]", "names", "nums", "items", "[3, 1, 2]", "(1, 2)", "('x',)", "()", "range(3)", "range(1, 7, 2)", "nested", "[none, 1, 'a']"))
	case tDict:
		return ex(pick(g, "cfg", "env", "{}", "{'b': 1, 'a': 2}", "{'x': [1], 'y': none}", "items[0]", "dict(a=1, b='x')", "{1: 'one', 'k': 2.5}"))
	}
	return ex("none")
}

func (g *fgen) strExpr(d int) *fnode {
	s := func() *fnode { return g.expr(tStr, d) }
	switch g.n(32) {
	case 24:
		return ex(s(), "|wordwrap(", pick(g, "5", "8, false", "6, true, ' / '", "4, break_on_hyphens=false"), ")")
	case 25:
		return ex(s(), "|urlize", pick(g, "", "(10)", "(5, true)", "(target='_x')"))
	case 26:
		// Markup meets str: + escapes, ~ does not, methods keep Markup.
		return ex("(", s(), "|e", pick(g, " + ", " ~ "), s(), ")", pick(g, "", "|string", ".upper()", "|lower", "[1:]", ".casefold()", ".split()|join('/')", ".join(['<', 1])", ".replace('a', '<')", "|title", "|truncate(8)", "|center(12)", ".format(1)", ".striptags()"))
	case 27:
		return ex("'%s|%r'|safe % (", s(), ", ", g.expr(tAny, d), ")")
	case 28:
		return ex("'{:>6}|{:^7.2f}|{!r}'.format(", s(), ", ", g.expr(tFloat, d), ", ", g.expr(tAny, d), ")")
	case 29:
		// A variable, not a literal: Jinja2 would fold []|first while
		// compiling (a documented difference).
		return ex(pick(g, "names", "nums", "empty", "nested"), "|", pick(g, "first", "last"), "|string")
	case 30:
		return ex("(", s(), " if ", g.expr(tBool, d), ")")
	case 31:
		return ex(g.expr(tDict, d), "|attr(", pick(g, "'items'", "'nope'", "'keys'"), ") is ", pick(g, "callable", "defined"), "|string")
	case 0:
		return ex(s(), " ~ ", g.expr(tAny, d))
	case 1:
		return ex(s(), " + ", s())
	case 2:
		return ex(s(), "|", pick(g, "upper", "lower", "title", "capitalize", "trim", "string", "e", "striptags", "reverse", "forceescape", "safe", "urlencode", "center(9)", "wordcount|string"))
	case 3:
		return ex("(", s(), ").", pick(g, "upper()", "lower()", "strip()", "title()", "capitalize()", "swapcase()", "lstrip()", "rstrip('c')", "strip(' a')", "zfill(5)", "center(7, '*')", "ljust(4)", "rjust(4, '.')", "casefold()", "expandtabs(4)"))
	case 4:
		return ex(s(), "|replace(", g.strLit(), ", ", g.strLit(), pick(g, "", ", 1"), ")")
	case 5:
		return ex(g.expr(tList, d), "|join(", pick(g, "", "', '", "'-'"), ")")
	case 6:
		return ex("(", s(), ")[", pick(g, "1:", ":2", "::-1", "1:3", "-2:", "::2", "0"), "]")
	case 7:
		return ex("(", s(), " if ", g.expr(tBool, d), " else ", s(), ")")
	case 8:
		return ex(g.expr(tAny, d), "|string")
	case 9:
		return ex(g.expr(tAny, d), "|tojson", pick(g, "", "(indent=2)"))
	case 10:
		return ex(s(), "|indent(", pick(g, "2", "width=3", "4, true", "first=true", "2, blank=true", "'> '"), ")")
	case 11:
		return ex("'%s and %s'|format(", g.expr(tAny, d), ", ", g.expr(tAny, d), ")")
	case 12:
		return ex(s(), "|truncate(", pick(g, "9", "5, true", "12, false, '..'", "3, true, '', 0"), ")")
	case 13:
		return ex("(", s(), ").replace(", g.strLit(), ", ", g.strLit(), ")")
	case 14:
		return ex(g.varOrUndef(), "|default(", s(), pick(g, "", ", true"), ")")
	case 15:
		return ex("'{} {}'.format(", g.expr(tAny, d), ", ", s(), ")")
	case 16:
		return ex(g.expr(tAny, d), "|pprint")
	case 17:
		return ex("(", s(), ").split(", pick(g, "", "','", "' '", "'a', 1"), ")|join('/')")
	case 18:
		return ex(g.expr(tList, d), "|map(", pick(g, "'upper'", "'string'", "'trim'", "'lower'"), ")|join(',')")
	case 19:
		return ex("'%d-%s' % (", g.expr(tInt, d), ", ", s(), ")")
	case 20:
		return ex(g.expr(tDict, d), "|dictsort|string")
	case 21:
		return ex(s(), "|urlencode")
	case 22:
		return ex(g.expr(tInt, d), "|filesizeformat", pick(g, "", "(true)"))
	case 23:
		return ex(g.expr(tDict, d), "|xmlattr")
	}
	return g.strLit()
}

func (g *fgen) varOrUndef() *fnode {
	return ex(pick(g, "missing", "env.NOPE", "cfg.nope", "env.DOMAIN", "s", "z", "cfg['e']"))
}

func (g *fgen) intExpr(d int) *fnode {
	i := func() *fnode { return g.expr(tInt, d) }
	switch g.n(18) {
	case 0:
		return ex(i(), pick(g, " + ", " - ", " * ", " // ", " % "), i())
	case 1:
		return ex(i(), " ** ", pick(g, "0", "1", "2", "3"))
	case 2:
		return ex(g.expr(pick(g, tStr, tList, tDict), d), "|", pick(g, "length", "count"))
	case 3:
		return ex(g.expr(tStr, d), "|int", pick(g, "", "(7)", "(base=16)", "(default=-1)"))
	case 4:
		return ex("-", i())
	case 5:
		return ex(g.expr(tList, d), "|sum")
	case 6:
		return ex("(", g.expr(tStr, d), ").", pick(g, "count('a')", "find('l')", "rfind('o')", "count('')"))
	case 7:
		return ex(g.expr(tFloat, d), "|round|int")
	case 8:
		return ex("[1, 2, 3][", pick(g, "0", "-1", "1"), "]")
	case 9:
		return ex(g.expr(tList, d), "|length")
	case 10:
		if g.loops > 0 {
			return ex("loop.", pick(g, "index", "index0", "revindex", "revindex0", "length", "depth"))
		}
		return g.intLit()
	case 11:
		return ex("(", i(), " if ", g.expr(tBool, d), " else ", i(), ")")
	case 12:
		return ex(i(), "|abs")
	case 13:
		return ex(pick(g, "nums", "empty", "nums[1:]"), "|", pick(g, "max", "min"))
	case 14:
		return ex("nums[", i(), " % 4]")
	case 15:
		return ex("range(", i(), ")|length")
	case 16:
		return ex(g.expr(tStr, d), "|wordcount")
	case 17:
		return ex("items[", pick(g, "0", "1", "2", "-1"), "].port")
	}
	return g.intLit()
}

func (g *fgen) floatExpr(d int) *fnode {
	switch g.n(7) {
	case 0:
		return ex(g.expr(tInt, d), " / ", g.expr(tInt, d))
	case 1:
		return ex(g.expr(tFloat, d), pick(g, " + ", " - ", " * ", " // ", " % "), g.expr(pick(g, tFloat, tInt), d))
	case 2:
		return ex(g.expr(tFloat, d), "|round(", pick(g, "1", "2", "0", "-1", "1, 'floor'", "method='ceil'"), ")")
	case 3:
		return ex(g.expr(tStr, d), "|float", pick(g, "", "(1.5)"))
	case 4:
		return ex(g.expr(tInt, d), "|float")
	case 5:
		return ex(g.expr(tFloat, d), " ** ", pick(g, "2", "0.5", "-1"))
	}
	return g.floatLit()
}

func (g *fgen) boolExpr(d int) *fnode {
	switch g.n(14) {
	case 0:
		a := pick(g, tInt, tStr, tFloat)
		return ex(g.expr(a, d), pick(g, " == ", " != ", " < ", " <= ", " > ", " >= "), g.expr(a, d))
	case 1:
		return ex(g.expr(tInt, d), " < ", g.expr(tInt, d), " < ", g.expr(tInt, d))
	case 2:
		return ex(g.expr(tBool, d), pick(g, " and ", " or "), g.expr(tBool, d))
	case 3:
		return ex("not ", g.expr(tBool, d))
	case 4:
		return ex(g.expr(tStr, d), pick(g, " in ", " not in "), g.expr(tStr, d))
	case 5:
		return ex(g.expr(tAny, d), pick(g, " in ", " not in "), g.expr(pick(g, tList, tDict), d))
	case 6:
		return ex(g.varOrUndef(), " is ", pick(g, "", "not "), pick(g, "defined", "undefined"))
	case 7:
		return ex(g.expr(tAny, d), " is ", pick(g, "", "not "), pick(g, "string", "number", "integer", "float", "mapping", "sequence", "iterable", "none", "boolean", "true", "false", "callable", "escaped", "defined"))
	case 8:
		return ex(g.expr(tStr, d), " is ", pick(g, "upper", "lower"))
	case 9:
		return ex(g.expr(tInt, d), " is ", pick(g, "odd", "even", "divisibleby 3", "divisibleby(2)", "eq 3", "gt(1)", "lt 2", "ge 0", "le(3)", "ne 1", "in [1, 2, 3]", "sameas 1"))
	case 10:
		return ex("(", g.expr(tStr, d), ").", pick(g, "startswith('a')", "endswith(('d', 'c'))", "isdigit()", "isupper()", "islower()", "isalpha()", "isspace()", "isalnum()", "istitle()"))
	case 11:
		return ex(g.expr(tAny, d), "|", pick(g, "string", "length"), " is ", pick(g, "string", "number"))
	case 12:
		if g.loops > 0 {
			return ex("loop.", pick(g, "first", "last", "changed(1)"))
		}
		return ex("true")
	case 13:
		return ex("'", pick(g, "upper", "nosuch", "map"), "' is ", pick(g, "filter", "test"))
	}
	return ex(pick(g, "true", "false"))
}

func (g *fgen) listExpr(d int) *fnode {
	l := func() *fnode { return g.expr(tList, d) }
	switch g.n(22) {
	case 0:
		return ex("[", g.expr(tAny, d), ", ", g.expr(tAny, d), "]")
	case 1:
		return ex("(", g.expr(tAny, d), ", ", g.expr(tAny, d), ")")
	case 2:
		return ex(l(), " + ", l())
	case 3:
		return ex(l(), "|", pick(g, "sort", "sort(reverse=true)", "unique|list", "reverse|list", "list", "sort(case_sensitive=true)"))
	case 4:
		return ex("(", l(), ")[", pick(g, "1:", ":2", "::-1", "1:3", "::2"), "]")
	case 5:
		return ex("(", g.expr(tStr, d), ").split(", pick(g, "", "','", "' '"), ")")
	case 6:
		return ex("range(", pick(g, "3", "1, 4", "5, 0, -2", "0"), ")", pick(g, "", "|list"))
	case 7:
		return ex("(", g.expr(tDict, d), ").", pick(g, "keys()", "values()", "items()"), pick(g, "", "|list"))
	case 8:
		return ex("items|", pick(g, "selectattr('enabled')", "rejectattr('enabled')", "map(attribute='name')", "selectattr('port', 'gt', 100)", "sort(attribute='port')", "map(attribute='tags')", "rejectattr('name', 'in', ['a'])", "groupby('enabled')", "sort(attribute='name,port')", "map(attribute='nope', default='d')"), "|list")
	case 9:
		return ex(l(), "|", pick(g, "select", "reject", "select('odd')", "reject('none')", "map('string')", "batch(2)", "slice(2)", "batch(2, 'x')", "select('string')"), "|list")
	case 10:
		return ex(g.expr(tDict, d), "|", pick(g, "dictsort", "items|list", "dictsort(by='value')", "list"))
	case 11:
		return ex(l(), " * ", pick(g, "2", "0"))
	case 12:
		return ex("[", g.expr(tAny, d), "]")
	case 13:
		return ex("nested[", pick(g, "0", "1", "-1"), "]")
	case 14:
		return ex("names|", pick(g, "sort", "unique", "map('upper')", "select('lower')"), "|list")
	case 15:
		return ex(g.expr(tStr, d), "|list")
	case 16:
		return ex("(", l(), " if ", g.expr(tBool, d), " else ", l(), ")")
	case 17:
		return ex("(", g.expr(tStr, d), ").", pick(g, "partition('b')", "rpartition(',')", "splitlines()", "rsplit(',', 1)"))
	case 18:
		return ex("cfg.c.d")
	case 19:
		return ex("items[0].tags + items[2].tags")
	case 20:
		return ex("nums|sort|reverse|list")
	case 21:
		return ex(l(), "|unique(case_sensitive=true)|list")
	}
	return g.leaf(tList)
}

func (g *fgen) dictExpr(d int) *fnode {
	switch g.n(7) {
	case 0:
		return ex("{", g.strLit(), ": ", g.expr(tAny, d), ", ", g.strLit(), ": ", g.expr(tAny, d), "}")
	case 1:
		return ex("dict(", pick(g, "a", "z", "x"), "=", g.expr(tAny, d), ")")
	case 2:
		return ex("items[", pick(g, "0", "1", "2"), "]")
	case 3:
		return ex("cfg.c")
	case 4:
		return ex("{", g.expr(tInt, d), ": ", g.expr(tAny, d), "}")
	case 5:
		return ex("dict(", g.expr(tDict, d), ", k=1)")
	}
	return g.leaf(tDict)
}

// --- statements ---

// ws is optional whitespace control for a delimiter.
func (g *fgen) ws(block bool) string {
	switch {
	case g.chance(0.12):
		return "-"
	case block && g.chance(0.08):
		return "+"
	}
	return ""
}

func (g *fgen) tag(inner ...any) *fnode {
	parts := []any{"{%" + g.ws(true) + " "}
	parts = append(parts, inner...)
	parts = append(parts, " "+g.ws(true)+"%}")
	return st(parts...)
}

func (g *fgen) text() *fnode {
	return st(pick(g, "", "\n", "  ", "x", "a b", " \n  ", "\t", "line\n", "\n  \n", "{", "}", "#", "%", "  - item\n", "key: ", "\n    ", ": ", "é",
		"\r\n", "\r\n  ", "\u00a0 ", " \t ", "\x0b", "\u3000", "\n\x0c"))
}

func (g *fgen) print() *fnode {
	e := g.expr(tAny, 1+g.n(3))
	if g.chance(0.1) {
		e = ex(g.expr(tAny, 1), ", ", g.expr(tAny, 1))
	}
	return st("{{"+g.ws(false)+" ", e, " "+g.ws(false)+"}}")
}

// body generates a sequence of up to n pieces.
func (g *fgen) body(n, depth int) *fnode {
	out := seq()
	for k := 1 + g.n(n); k > 0; k-- {
		out.parts = append(out.parts, g.piece(depth))
	}
	return out
}

func (g *fgen) piece(depth int) *fnode {
	g.stmts++
	if depth <= 0 || g.stmts > 24 {
		if g.chance(0.5) {
			return g.text()
		}
		return g.print()
	}
	switch g.n(29) {
	case 26:
		g.push()
		body := g.body(2, depth-1)
		g.pop()
		return st(g.tag("autoescape false"), body, g.tag("endautoescape"))
	case 27:
		a, b := g.fresh("w"), g.fresh("w")
		g.push()
		head := []any{"with ", a, " = ", g.expr(tInt, 1), ", ", b, " = ", pick(g, "n", "s", a)}
		g.bind(fvar{a, tInt})
		g.bind(fvar{b, tAny})
		body := g.body(2, depth-1)
		g.pop()
		return st(g.tag(head...), body, g.tag("endwith"), st("{{ ", a, " is defined }}"))
	case 28:
		x := g.fresh("x")
		return st(g.tag("for ", x, " in nums"), g.tag("for y in names if loop.index > 1 or y is upper"),
			st("{{ loop.index }}{{ y }}"), g.tag("endfor"), g.tag("endfor"))
	case 22:
		return g.loopExtras(depth)
	case 23:
		return st("{% raw %}", pick(g, "{{ x }}", "{% if %}", " a ", "{#"), "{% endraw %}")
	case 24:
		return g.tag("print ", g.expr(tAny, 2))
	case 25:
		c := g.fresh("cy")
		return st(g.tag("set ", c, " = cycler('a', 'b', 'c')"), st("{{ ", c, ".next() }}{{ ", c, ".current }}{{ ", c, ".next() }}"),
			g.tag("set ", c, "j = joiner(", pick(g, "", "'|'"), ")"), st("{% for x in nums %}{{ ", c, "j() }}{{ x }}{% endfor %}"))
	case 0, 1, 2:
		return g.text()
	case 3, 4, 5:
		return g.print()
	case 6, 7:
		return g.ifStmt(depth)
	case 8, 9:
		return g.forStmt(depth)
	case 10, 11:
		return g.setStmt(depth)
	case 12:
		return g.setBlock(depth)
	case 13:
		return g.macroAndCall(depth)
	case 14:
		return g.callBlock(depth)
	case 15:
		return g.filterBlock(depth)
	case 16:
		return g.withStmt(depth)
	case 17:
		return g.include(depth)
	case 18:
		return g.importStmt()
	case 19:
		return g.nsLoop(depth)
	case 20:
		return g.blockStmt(depth)
	case 21:
		return g.comment()
	}
	return g.text()
}

// loopExtras exercises the loop object: cycle, changed, previtem,
// nextitem and recursion.
func (g *fgen) loopExtras(depth int) *fnode {
	x := g.fresh("x")
	switch g.n(3) {
	case 0:
		return st(g.tag("for ", x, " in ", pick(g, "nums", "names", "[1, 1, 2, 2, 1]")),
			st("{{ loop.cycle('a', 'b') }}{{ loop.changed(", x, ") }}{{ loop.previtem is defined }}{{ loop.nextitem|default('end') }}"),
			g.tag("endfor"))
	case 1:
		return st(g.tag("for ", x, " in [[1, [2, 3]], 4, [5]] recursive"),
			st("{% if ", x, " is iterable %}<{{ loop(", x, ") }}>{% else %}{{ ", x, " }}@{{ loop.depth }}{% endif %}"),
			g.tag("endfor"))
	}
	return st(g.tag("for ", x, " in range(3)"), g.tag("for y in range(2)"),
		st("{{ loop.index }}{{ ", x, " }}"), g.tag("endfor"), st("{{ loop.last }}"), g.tag("endfor"))
}

func (g *fgen) comment() *fnode {
	return st("{#" + g.ws(true) + pick(g, " note ", " {{ x }} ", "", "\n") + g.ws(true) + "#}")
}

func (g *fgen) ifStmt(depth int) *fnode {
	n := seq(g.tag("if ", g.expr(tBool, 2)), g.body(3, depth-1))
	for k := g.n(3); k > 0; k-- {
		if g.chance(0.5) {
			n.parts = append(n.parts, g.tag("elif ", g.expr(tBool, 2)), g.body(2, depth-1))
		}
	}
	if g.chance(0.4) {
		n.parts = append(n.parts, g.tag("else"), g.body(2, depth-1))
	}
	n.parts = append(n.parts, g.tag("endif"))
	return st(n)
}

func (g *fgen) forStmt(depth int) *fnode {
	var target string
	var iter *fnode
	var vars []fvar
	switch g.n(6) {
	case 0:
		k, v := g.fresh("k"), g.fresh("v")
		target = k + ", " + v
		if g.chance(0.5) {
			target = "(" + target + ")"
		}
		iter = ex("(", g.expr(tDict, 1), ").items()")
		vars = []fvar{{k, tAny}, {v, tAny}}
	case 1:
		name := g.fresh("it")
		target = name
		iter = ex("items")
		vars = []fvar{{name, tDict}}
	case 2:
		a, b := g.fresh("a"), g.fresh("b")
		target = a + ", " + b
		iter = ex("nested")
		vars = []fvar{{a, tInt}, {b, tInt}}
	default:
		name := g.fresh("x")
		target = name
		t := pick(g, tStr, tInt)
		if t == tStr {
			iter = ex(pick(g, "names", "env.LIST.split(',')", "'abc'", "env", "cfg", "['p', 'q']"))
		} else if g.chance(0.3) {
			iter = ex("range(", g.expr(tInt, 1), ")")
		} else {
			iter = ex(pick(g, "nums", "range(3)", "[1, 2, 3][1:]", "(4, 5)"))
		}
		vars = []fvar{{name, t}}
	}
	g.push()
	for _, v := range vars {
		g.bind(v)
	}
	head := []any{"for ", target, " in ", iter}
	if g.chance(0.25) {
		head = append(head, " if ", g.expr(tBool, 2))
	}
	recursive := g.chance(0.05)
	if recursive {
		head = append(head, " recursive")
		g.capture++ // recursive loops render into a buffer, like macros
	}
	g.loops++
	body := g.body(3, depth-1)
	g.loops--
	n := seq(g.tag(head...), body)
	g.pop()
	if g.chance(0.25) {
		n.parts = append(n.parts, g.tag("else"), g.body(2, depth-1))
	}
	if recursive {
		g.capture--
	}
	n.parts = append(n.parts, g.tag("endfor"))
	return st(n)
}

func (g *fgen) setStmt(depth int) *fnode {
	t := vtype(1 + g.n(int(tDict)))
	name := g.fresh("v")
	if g.chance(0.3) {
		// Reassign a name in scope: exercises set scoping in loops.
		if v := g.varOf(tInt); v != "" && strings.HasPrefix(v, "v") {
			name, t = v, tInt
		}
	}
	var n *fnode
	if g.chance(0.15) {
		a, b := g.fresh("p"), g.fresh("q")
		n = g.tag("set ", a, ", ", b, " = ", g.expr(tInt, 1), ", ", g.expr(tStr, 1))
		g.bind(fvar{a, tInt})
		g.bind(fvar{b, tStr})
		return n
	}
	n = g.tag("set ", name, " = ", g.expr(t, 2))
	g.bind(fvar{name, t})
	return n
}

func (g *fgen) setBlock(depth int) *fnode {
	name := g.fresh("blk")
	filt := pick(g, "", " | upper", " | trim", " | replace('a', 'b') | title", " | indent(2)")
	g.push()
	g.capture++
	body := g.body(3, depth-1)
	g.pop()
	g.capture--
	n := seq(g.tag("set ", name, filt), body, g.tag("endset"))
	g.bind(fvar{name, tStr})
	return st(n)
}

func (g *fgen) macroAndCall(depth int) *fnode {
	name := g.fresh("m")
	nparams := g.n(3)
	var params []string
	g.push()
	g.capture++
	for i := 0; i < nparams; i++ {
		p := g.fresh("a")
		params = append(params, p)
		g.bind(fvar{p, tAny})
	}
	sig := strings.Join(params, ", ")
	if nparams > 0 && g.chance(0.4) {
		sig += ", " + g.fresh("d") + "=" + g.expr(tStr, 1).String()
	}
	var extra *fnode = seq()
	if g.chance(0.3) {
		extra = st("{{ varargs|length }}{{ kwargs|dictsort|string }}")
	}
	body := g.body(3, depth-1)
	g.pop()
	g.capture--
	def := seq(g.tag("macro ", name, "(", sig, ")"), body, extra, g.tag("endmacro"))
	g.macros = append(g.macros, fmacro{name, nparams})
	calls := seq()
	for k := 1 + g.n(2); k > 0; k-- {
		var args []string
		for i := 0; i < nparams+g.n(2)-g.n(2); i++ {
			args = append(args, g.expr(tAny, 1).String())
		}
		if g.chance(0.2) {
			args = append(args, "x=1")
		}
		calls.parts = append(calls.parts, st("{{ ", name, "(", strings.Join(args, ", "), ") }}"))
	}
	g.bind(fvar{name, tAny})
	return st(def, calls)
}

func (g *fgen) callBlock(depth int) *fnode {
	name := g.fresh("w")
	p := g.fresh("c")
	def := seq(g.tag("macro ", name, "(x)"), st("[{{ x }}:{{ caller(", pick(g, "1", "'y'", "x"), ") }}]"), g.tag("endmacro"))
	g.push()
	g.capture++
	g.bind(fvar{p, tAny})
	body := g.body(2, depth-1)
	g.pop()
	g.capture--
	return st(def, g.tag("call(", p, ") ", name, "(", g.expr(tAny, 1), ")"), body, g.tag("endcall"))
}

func (g *fgen) filterBlock(depth int) *fnode {
	g.push()
	g.capture++
	body := g.body(3, depth-1)
	g.pop()
	g.capture--
	return st(g.tag("filter ", pick(g, "upper", "lower", "trim", "title", "replace('a', 'o')", "indent(2, true)", "center(20)", "truncate(10)", "e", "wordcount")), body, g.tag("endfilter"))
}

func (g *fgen) withStmt(depth int) *fnode {
	a := g.fresh("w")
	g.push()
	val := g.expr(tInt, 1)
	g.bind(fvar{a, tInt})
	body := g.body(3, depth-1)
	g.pop()
	return st(g.tag("with ", a, " = ", val), body, g.tag("endwith"))
}

func (g *fgen) nsLoop(depth int) *fnode {
	ns := g.fresh("ns")
	x := g.fresh("x")
	return st(g.tag("set ", ns, " = namespace(total=0, seen='')"),
		g.tag("for ", x, " in ", pick(g, "nums", "range(4)", "[5, 6]")),
		g.tag("set ", ns, ".total = ", ns, ".total + ", x),
		g.tag("set ", ns, ".seen = ", ns, ".seen ~ ", x),
		g.tag("endfor"),
		st("{{ ", ns, ".total }}/{{ ", ns, ".seen }}"))
}

func (g *fgen) include(depth int) *fnode {
	name := g.fresh("inc") + ".j2"
	saved := g.scopes
	g.scopes = [][]fvar{contextVars}
	g.files[name] = g.body(3, 1)
	g.scopes = saved
	ctx := pick(g, "", " with context", " without context", " ignore missing")
	if g.capture > 0 && ctx == " without context" {
		ctx = ""
	}
	if g.chance(0.1) {
		return g.tag("include ", pick(g, "'nope.j2' ignore missing", "['nope.j2', '"+name+"']"))
	}
	return g.tag("include '", name, "'", ctx)
}

func (g *fgen) importStmt() *fnode {
	name := g.fresh("lib") + ".j2"
	m := g.fresh("mm")
	saved := g.scopes
	g.scopes = [][]fvar{{{"x", tAny}}}
	g.files[name] = seq(st("{% macro ", m, "(x) %}<{{ x }}", pick(g, "", "{{ caller() }}"), ">{% endmacro %}"),
		st("{% set top = ", g.expr(tStr, 1), " %}"), st("{% set _hidden = 1 %}"))
	g.scopes = saved
	if g.chance(0.5) {
		alias := g.fresh("L")
		return st(g.tag("import '", name, "' as ", alias, pick(g, "", " with context")), st("{{ ", alias, ".", m, "(", g.expr(tAny, 1), ") }}{{ ", alias, ".top }}"))
	}
	return st(g.tag("from '", name, "' import ", m, ", top as ", m, "_top"), st("{{ ", m, "(", g.expr(tAny, 1), ") }}{{ ", m, "_top }}"))
}

func (g *fgen) blockStmt(depth int) *fnode {
	name := g.fresh("b")
	saved := g.scopes
	g.scopes = [][]fvar{contextVars}
	body := g.body(2, depth-1)
	g.scopes = saved
	return st(g.tag("block ", name, pick(g, "", " scoped")), body, g.tag("endblock"), pick(g, "", "{{ self."+name+"() }}"))
}

// template generates one test case; sometimes a child template extending
// a generated base.
func (g *fgen) template() *fcase {
	g.files = map[string]*fnode{}
	c := &fcase{files: g.files}
	if g.chance(0.08) {
		base := seq(g.text(), st("{% block head %}H{{ n }}{% endblock %}"), g.text(), st("{% block main %}M{% endblock %}"), g.text())
		g.files["base.j2"] = base
		c.main = seq(g.text(), g.tag("extends 'base.j2'"), g.text(),
			st("{% block main %}[", g.body(2, 1), "{{ super() }}]{% endblock %}"),
			g.body(2, 1))
		return c
	}
	c.main = g.body(5, 3)
	return c
}
