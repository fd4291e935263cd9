package jinja

import (
	"strings"
)

// The runtime's own objects: macros, loop, namespaces, cyclers, joiners,
// imported template modules and `self`, and the global functions.

// --- macros ---

// macro is a {% macro %} (or the caller of a {% call %} block) bound to
// the scope it was defined in.
type macro struct {
	def     *macroStmt
	name    string
	closure *frame
	tc      *tctx
}

func (m *macro) attr(name string) (any, bool) {
	d := m.def
	switch name {
	case "name":
		if m.name == "" {
			return None, true
		}
		return m.name, true
	case "arguments":
		return Tuple(stringsToAny(d.params)), true
	case "catch_kwargs":
		return d.catchKwargs, true
	case "catch_varargs":
		return d.catchVarargs, true
	case "caller":
		return d.caller, true
	}
	return nil, false
}

// call binds arguments the way Jinja's Macro.__call__ does and renders the
// body in a new scope whose parent is the one the macro was defined in.
func (m *macro) call(r *renderer, a *args) any {
	d := m.def
	n := len(d.params)
	values := make([]any, n)
	pos := a.pos
	copy(values, pos)
	kw := a.kw
	takeKw := func(name string) (any, bool) {
		for i, k := range kw {
			if k.name == name {
				kw = append(kw[:i:i], kw[i+1:]...)
				return k.val, true
			}
		}
		return nil, false
	}
	foundCaller := false
	if len(pos) < n {
		for i := len(pos); i < n; i++ {
			if v, ok := takeKw(d.params[i]); ok {
				values[i] = v
			}
			if d.params[i] == "caller" {
				foundCaller = true
			}
		}
	} else {
		foundCaller = d.explicitCaller
	}
	var callerVal any
	if d.caller && !foundCaller {
		if v, ok := takeKw("caller"); ok {
			callerVal = v
		} else {
			callerVal = &undefined{hint: "No caller defined", name: "caller"}
		}
	}
	var kwargs *Dict
	if d.catchKwargs {
		kwargs = NewDict(len(kw))
		for _, k := range kw {
			kwargs.Set(k.name, k.val)
		}
	} else if len(kw) > 0 {
		for _, k := range kw {
			if k.name == "caller" {
				throw("macro %s was invoked with two values for the special caller argument. This is most likely a bug.", strRepr(m.name))
			}
		}
		throw("macro %s takes no keyword argument %s", strRepr(m.name), strRepr(kw[0].name))
	}
	var varargs Tuple
	if d.catchVarargs {
		varargs = Tuple{}
		if len(pos) > n {
			varargs = append(Tuple{}, pos[n:]...)
		}
	} else if len(pos) > n {
		throw("macro %s takes not more than %d argument(s)", strRepr(m.name), n)
	}

	if r.depth > maxDepth {
		throw("maximum recursion depth exceeded")
	}
	f := &frame{parent: m.closure, names: make([]string, 0, n+2), vals: make([]any, 0, n+2)}
	// The body runs in the context of the template that defined it (its
	// blocks), and top-level output rules don't apply inside.
	saved, savedTop, savedTC := r.frame, r.top, r.tc
	r.frame, r.top, r.tc = f, false, m.tc
	r.depth++
	defer func() { r.frame, r.top, r.tc = saved, savedTop, savedTC; r.depth-- }()
	firstDefault := n - len(d.defaults)
	for i, p := range d.params {
		v := values[i]
		if v == nil {
			if i >= firstDefault {
				v = d.defaults[i-firstDefault].eval(r)
			} else {
				v = &undefined{hint: "parameter " + strRepr(p) + " was not provided", name: p}
			}
		}
		f.set(p, v)
	}
	if d.caller && !foundCaller {
		f.set("caller", callerVal)
	}
	if d.catchKwargs {
		f.set("kwargs", kwargs)
	}
	if d.catchVarargs {
		f.set("varargs", varargs)
	}
	var b strings.Builder
	r.exec(d.body, &b)
	return b.String()
}

const maxDepth = 400

// --- loop ---

type loopCtx struct {
	items       []any
	index0      int
	depth0      int
	lastChanged Tuple
	changedSet  bool
	stmt        *forStmt
}

func (l *loopCtx) attr(name string) (any, bool) {
	n := len(l.items)
	switch name {
	case "index":
		return l.index0 + 1, true
	case "index0":
		return l.index0, true
	case "revindex":
		return n - l.index0, true
	case "revindex0":
		return n - l.index0 - 1, true
	case "first":
		return l.index0 == 0, true
	case "last":
		return l.index0 == n-1, true
	case "length":
		return n, true
	case "depth":
		return l.depth0 + 1, true
	case "depth0":
		return l.depth0, true
	case "previtem":
		if l.index0 == 0 {
			return &undefined{hint: "there is no previous item", name: "loop.previtem"}, true
		}
		return l.items[l.index0-1], true
	case "nextitem":
		if l.index0 >= n-1 {
			return &undefined{hint: "there is no next item", name: "loop.nextitem"}, true
		}
		return l.items[l.index0+1], true
	case "cycle":
		return &boundMethod{recv: l, name: name, fn: func(_ *renderer, _ any, a *args) any {
			if len(a.kw) > 0 {
				throw("cycle() got an unexpected keyword argument '%s'", a.kw[0].name)
			}
			if len(a.pos) == 0 {
				throw("no items for cycling given")
			}
			return a.pos[l.index0%len(a.pos)]
		}}, true
	case "changed":
		return &boundMethod{recv: l, name: name, fn: func(_ *renderer, _ any, a *args) any {
			if len(a.kw) > 0 {
				throw("changed() got an unexpected keyword argument '%s'", a.kw[0].name)
			}
			v := Tuple(a.pos)
			if !l.changedSet || !equal(l.lastChanged, v) {
				l.lastChanged, l.changedSet = v, true
				return true
			}
			return false
		}}, true
	}
	return nil, false
}

// call is loop(items) in a recursive loop: the loop body rendered again
// for items, one level deeper.
func (l *loopCtx) call(r *renderer, a *args) any {
	if !l.stmt.recursive {
		throw("The loop must have the 'recursive' marker to be called recursively.")
	}
	p := a.bind("loop", "iterable")
	if p[0] == nil {
		throw("loop() missing 1 required positional argument: 'iterable'")
	}
	if r.depth > maxDepth {
		throw("maximum recursion depth exceeded")
	}
	r.depth++
	defer func() { r.depth-- }()
	var b strings.Builder
	l.stmt.loop(r, &b, p[0], l.depth0+1)
	return b.String()
}

// --- namespace, cycler, joiner ---

// namespace is namespace(): attributes that {% set ns.x = … %} can change
// from inside loops.
type namespace struct{ attrs *Dict }

type cycler struct {
	items []any
	pos   int
}

func (c *cycler) attr(name string) (any, bool) {
	switch name {
	case "items":
		return Tuple(c.items), true
	case "pos":
		return c.pos, true
	case "current":
		return c.items[c.pos], true
	case "next", "__next__":
		return &boundMethod{recv: c, name: name, fn: func(_ *renderer, _ any, a *args) any {
			a.bind("next")
			v := c.items[c.pos]
			c.pos = (c.pos + 1) % len(c.items)
			return v
		}}, true
	case "reset":
		return &boundMethod{recv: c, name: name, fn: func(_ *renderer, _ any, a *args) any {
			a.bind("reset")
			c.pos = 0
			return None
		}}, true
	}
	return nil, false
}

type joiner struct {
	sep  any
	used bool
}

func (j *joiner) call(a *args) any {
	a.bind("joiner")
	if !j.used {
		j.used = true
		return ""
	}
	return j.sep
}

// --- templates as values ---

// module is an imported template: its top-level names (macros and {% set
// %}s not starting with "_"), and its output when printed.
type module struct {
	name    string
	exports map[string]any
	output  string
}

func (m *module) attr(name string) (any, bool) {
	v, ok := m.exports[name]
	return v, ok
}

// selfRef is `self`: the blocks of the template being rendered, as
// callables.
type selfRef struct{ tc *tctx }

func (s *selfRef) attr(name string) (any, bool) {
	if _, ok := s.tc.blocks[name]; !ok {
		return nil, false
	}
	return builtin{name: name, fn: func(r *renderer, a *args) any {
		a.bind(name)
		var b strings.Builder
		r.renderBlock(s.tc, name, 0, s.tc.root, &b)
		return b.String()
	}}, true
}

// groupTuple is what the groupby filter yields: (grouper, list).
type groupTuple struct {
	grouper any
	list    *List
}

// --- globals ---

var globals map[string]any

func init() {
	globals = map[string]any{
		"range":     builtin{name: "range", fn: globalRange},
		"dict":      builtin{name: "dict", fn: globalDict},
		"namespace": builtin{name: "namespace", fn: globalNamespace},
		"cycler": builtin{name: "cycler", fn: func(_ *renderer, a *args) any {
			if len(a.kw) > 0 {
				throw("cycler() got an unexpected keyword argument '%s'", a.kw[0].name)
			}
			if len(a.pos) == 0 {
				throw("at least one item has to be provided")
			}
			return &cycler{items: append([]any{}, a.pos...)}
		}},
		"joiner": builtin{name: "joiner", fn: func(_ *renderer, a *args) any {
			p := a.bind("joiner", "sep")
			return &joiner{sep: orDefault(p[0], ", ")}
		}},
	}
}

const maxRange = 1 << 20

func globalRange(_ *renderer, a *args) any {
	if len(a.kw) > 0 {
		throw("range() takes no keyword arguments")
	}
	ints := make([]int, len(a.pos))
	for i, p := range a.pos {
		n, ok := repeatCount(mustDefined(p))
		if !ok {
			throw("'%s' object cannot be interpreted as an integer", typeName(p))
		}
		ints[i] = n
	}
	r := rangeVal{step: 1}
	switch len(ints) {
	case 1:
		r.stop = ints[0]
	case 2:
		r.start, r.stop = ints[0], ints[1]
	case 3:
		r.start, r.stop, r.step = ints[0], ints[1], ints[2]
	case 0:
		throw("range expected at least 1 argument, got 0")
	default:
		throw("range expected at most 3 arguments, got %d", len(ints))
	}
	if r.step == 0 {
		throw("range() arg 3 must not be zero")
	}
	// Jinja's sandbox-free range has no limit, but a template iterating
	// millions of numbers is a mistake worth an error.
	if r.len() > maxRange {
		throw("range too big: %d items (the limit here is %d)", r.len(), maxRange)
	}
	return r
}

func globalDict(_ *renderer, a *args) any {
	d := NewDict(len(a.kw))
	if len(a.pos) > 1 {
		throw("dict expected at most 1 argument, got %d", len(a.pos))
	}
	if len(a.pos) == 1 {
		dictUpdate(d, mustDefined(a.pos[0]))
	}
	for _, k := range a.kw {
		d.Set(k.name, k.val)
	}
	return d
}

func dictUpdate(d *Dict, src any) {
	if s, ok := src.(*Dict); ok {
		for i, k := range s.keys {
			d.Set(k, s.vals[i])
		}
		return
	}
	for i, pair := range items(src) {
		if !iterable(pair) {
			throw("cannot convert dictionary update sequence element #%d to a sequence", i)
		}
		kv := items(pair)
		if len(kv) != 2 {
			throw("dictionary update sequence element #%d has length %d; 2 is required", i, len(kv))
		}
		d.Set(kv[0], kv[1])
	}
}

func globalNamespace(_ *renderer, a *args) any {
	d := globalDict(nil, a).(*Dict)
	return &namespace{attrs: d}
}
