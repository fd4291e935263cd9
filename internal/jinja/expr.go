package jinja

import (
	"strings"
)

// Expressions are parsed with Jinja's grammar into these nodes, which
// evaluate themselves with Python's semantics.

type expr interface {
	eval(r *renderer) any
}

type constExpr struct{ v any }

func (e *constExpr) eval(*renderer) any { return e.v }

// overflowExpr is an int literal beyond 64 bits.
type overflowExpr struct{ literal string }

func (e *overflowExpr) eval(*renderer) any {
	throw("integer %s is too large: integer overflow: numbers here are 64-bit", e.literal)
	return nil
}

type nameExpr struct{ name string }

func (e *nameExpr) eval(r *renderer) any { return r.lookup(e.name) }

type getattrExpr struct {
	obj  expr
	name string
	path string // for messages: "env.DOMAIN"
}

func (e *getattrExpr) eval(r *renderer) any { return getattr(e.obj.eval(r), e.name, e.path) }

type getitemExpr struct {
	obj, key expr
	path     string
}

func (e *getitemExpr) eval(r *renderer) any {
	obj := e.obj.eval(r)
	if _, ok := e.key.(*sliceExpr); ok {
		// Jinja slices with Python's own obj[a:b], not its getitem: no
		// undefined for what can't be sliced, a TypeError.
		if u, ok := obj.(*undefined); ok {
			u.fail()
		}
		s := e.key.eval(r).(*sliceVal)
		v, ok := slice(obj, s)
		if !ok {
			if isSequence(obj) || typeName(obj) == "range" {
				throw("slice indices must be integers or None or have an __index__ method")
			}
			throw("'%s' object is not subscriptable", typeName(obj))
		}
		return v
	}
	return getitem(obj, e.key.eval(r), e.path)
}

type sliceExpr struct{ start, stop, step expr }

func (e *sliceExpr) eval(r *renderer) any {
	s := &sliceVal{start: None, stop: None, step: None}
	if e.start != nil {
		s.start = e.start.eval(r)
	}
	if e.stop != nil {
		s.stop = e.stop.eval(r)
	}
	if e.step != nil {
		s.step = e.step.eval(r)
	}
	return s
}

type tupleExpr struct{ items []expr }

func (e *tupleExpr) eval(r *renderer) any {
	out := make(Tuple, len(e.items))
	for i, it := range e.items {
		out[i] = it.eval(r)
	}
	return out
}

type listExpr struct{ items []expr }

func (e *listExpr) eval(r *renderer) any {
	out := make([]any, len(e.items))
	for i, it := range e.items {
		out[i] = it.eval(r)
	}
	return &List{Items: out}
}

type dictExpr struct{ keys, vals []expr }

func (e *dictExpr) eval(r *renderer) any {
	d := NewDict(len(e.keys))
	for i, k := range e.keys {
		d.Set(k.eval(r), e.vals[i].eval(r))
	}
	return d
}

type condExpr struct{ test, yes, no expr }

func (e *condExpr) eval(r *renderer) any {
	if truth(e.test.eval(r)) {
		return e.yes.eval(r)
	}
	if e.no == nil {
		return &undefined{lenient: true, name: "else", hint: "the inline if-expression evaluated to false and no else section was defined."}
	}
	return e.no.eval(r)
}

type andExpr struct{ a, b expr }

func (e *andExpr) eval(r *renderer) any {
	x := e.a.eval(r)
	if !truth(x) {
		return x
	}
	return e.b.eval(r)
}

type orExpr struct{ a, b expr }

func (e *orExpr) eval(r *renderer) any {
	x := e.a.eval(r)
	if truth(x) {
		return x
	}
	return e.b.eval(r)
}

type notExpr struct{ a expr }

func (e *notExpr) eval(r *renderer) any { return !truth(e.a.eval(r)) }

type negExpr struct{ a expr }

func (e *negExpr) eval(r *renderer) any { return negate(e.a.eval(r)) }

type posExpr struct{ a expr }

func (e *posExpr) eval(r *renderer) any { return positive(e.a.eval(r)) }

type binExpr struct {
	op   string
	a, b expr
}

func (e *binExpr) eval(r *renderer) any { return binary(e.op, e.a.eval(r), e.b.eval(r)) }

// concatExpr is ~: str() of every operand, joined.
type concatExpr struct{ items []expr }

func (e *concatExpr) eval(r *renderer) any {
	var b strings.Builder
	for _, it := range e.items {
		b.WriteString(str(it.eval(r)))
	}
	return b.String()
}

// compareExpr is a comparison chain: a < b < c is a < b and b < c.
type compareExpr struct {
	first expr
	ops   []string
	rest  []expr
}

func (e *compareExpr) eval(r *renderer) any {
	a := e.first.eval(r)
	for i, op := range e.ops {
		b := e.rest[i].eval(r)
		if !compare(op, a, b) {
			return false
		}
		a = b
	}
	return true
}

type kwArg struct {
	name string
	val  expr
}

type callArgs struct {
	pos               []expr
	kw                []kwArg
	dynArgs, dynKwArg expr
}

// args are evaluated call arguments.
type args struct {
	pos []any
	kw  []kwVal
}

type kwVal struct {
	name string
	val  any
}

func (c *callArgs) eval(r *renderer) *args {
	a := &args{}
	if len(c.pos) > 0 {
		a.pos = make([]any, len(c.pos), len(c.pos)+1)
		for i, p := range c.pos {
			a.pos[i] = p.eval(r)
		}
	}
	if len(c.kw) > 0 {
		a.kw = make([]kwVal, len(c.kw))
		for i, k := range c.kw {
			a.kw[i] = kwVal{k.name, k.val.eval(r)}
		}
	}
	if c.dynArgs != nil {
		a.pos = append(a.pos, items(mustDefined(c.dynArgs.eval(r)))...)
	}
	if c.dynKwArg != nil {
		d, ok := mustDefined(c.dynKwArg.eval(r)).(*Dict)
		if !ok {
			throw("argument after ** must be a mapping")
		}
		for i, k := range d.keys {
			name, ok := k.(string)
			if !ok {
				throw("keywords must be strings")
			}
			for _, have := range a.kw {
				if have.name == name {
					throw("got multiple values for keyword argument '%s'", name)
				}
			}
			a.kw = append(a.kw, kwVal{name, d.vals[i]})
		}
	}
	return a
}

// kwarg returns the keyword argument name.
func (a *args) kwarg(name string) (any, bool) {
	for _, k := range a.kw {
		if k.name == name {
			return k.val, true
		}
	}
	return nil, false
}

// bind matches the arguments to a Python signature: each result is the
// argument for that parameter, or nil when it was not passed.
func (a *args) bind(fn string, params ...string) []any {
	if len(a.pos) > len(params) {
		throw("%s() takes at most %d argument(s) (%d given)", fn, len(params), len(a.pos))
	}
	out := make([]any, len(params))
	copy(out, a.pos)
	for _, k := range a.kw {
		found := false
		for i, p := range params {
			if p == k.name {
				if out[i] != nil {
					throw("%s() got multiple values for argument '%s'", fn, p)
				}
				out[i] = k.val
				found = true
				break
			}
		}
		if !found {
			throw("%s() got an unexpected keyword argument '%s'", fn, k.name)
		}
	}
	return out
}

// orDefault returns v, or def when v was not passed.
func orDefault(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

type filterFunc func(r *renderer, v any, a *args) any

type filterExpr struct {
	name string
	obj  expr // nil in {% filter %} blocks and {% set x | f %}: the body
	args callArgs
	fn   filterFunc
}

func (e *filterExpr) eval(r *renderer) any { return e.apply(r, e.obj.eval(r)) }

func (e *filterExpr) apply(r *renderer, v any) any {
	return e.fn(r, v, e.args.eval(r))
}

type testFunc func(r *renderer, v any, a *args) bool

type testExpr struct {
	name string
	obj  expr
	args callArgs
	fn   testFunc
}

func (e *testExpr) eval(r *renderer) any { return e.fn(r, e.obj.eval(r), e.args.eval(r)) }

type callExpr struct {
	fn   expr
	args callArgs
}

func (e *callExpr) eval(r *renderer) any {
	// A method call evaluates its receiver once and calls the method
	// directly, without a bound method in between.
	if ga, ok := e.fn.(*getattrExpr); ok {
		obj := ga.obj.eval(r)
		if u, ok := obj.(*undefined); ok {
			u.fail()
		}
		if m, ok := builtinMethod(obj, ga.name); ok {
			return m(r, obj, e.args.eval(r))
		}
		return call(r, getattr(obj, ga.name, ga.path), e.args.eval(r))
	}
	return call(r, e.fn.eval(r), e.args.eval(r))
}

// call calls a callable template value.
func call(r *renderer, fn any, a *args) any {
	switch f := fn.(type) {
	case *macro:
		return f.call(r, a)
	case builtin:
		return f.fn(r, a)
	case *boundMethod:
		return f.fn(r, f.recv, a)
	case *loopCtx:
		return f.call(r, a)
	case *joiner:
		return f.call(a)
	case *undefined:
		f.fail()
	}
	throw("'%s' object is not callable", typeName(fn))
	return nil
}
