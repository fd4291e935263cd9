package render

import (
	"errors"
	"math"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// renderState is what one execution of a translated template shares with
// the jx_* functions: its literal table and the first error, reported with
// the line of the tag it happened in.
type renderState struct {
	lits []any
	err  *lineError
}

type lineError struct {
	line int
	msg  string
}

const stateKey = "jx_state"

func state(ctx *pongo2.ExecutionContext) *renderState {
	return ctx.Public[stateKey].(*renderState)
}

// val unwraps pongo2's values into the Python-model values of values.go.
func val(v *pongo2.Value) any {
	if v == nil || v.IsNil() {
		return nil
	}
	return v.Interface()
}

func vals(vs []*pongo2.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = val(v)
	}
	return out
}

func wrap(v any) *pongo2.Value { return pongo2.AsValue(v) }

// firstFailure returns the first failure or undefined among args.
func firstFailure(args ...any) (failure, bool) {
	for _, a := range args {
		if f, ok := usable(a); !ok {
			return f, true
		}
	}
	return failure{}, false
}

// report turns a failure into the execution's error.
func report(ctx *pongo2.ExecutionContext, line int, f failure) error {
	st := state(ctx)
	if st.err == nil {
		st.err = &lineError{line: line, msg: f.msg}
	}
	return errors.New(f.msg)
}

// globals are the jx_* functions every translated template calls.
var globals = pongo2.Context{
	"jx_lit": func(ctx *pongo2.ExecutionContext, i int) *pongo2.Value {
		return wrap(state(ctx).lits[i])
	},
	"jx_text": func(ctx *pongo2.ExecutionContext, i int) *pongo2.Value {
		return pongo2.AsSafeValue(state(ctx).lits[i])
	},
	"jx_none": func() *pongo2.Value { return wrap(none{}) },
	// A conditional expression without else prints nothing when false,
	// even under StrictUndefined.
	"jx_undef": func(name string) *pongo2.Value { return wrap("") },
	"jx_var": func(name string, v *pongo2.Value) *pongo2.Value {
		if x := val(v); x != nil {
			return wrap(x)
		}
		return wrap(undefined{path: name})
	},
	"jx_kw": func(name string, v *pongo2.Value) *pongo2.Value { return wrap(kwarg{name: name, val: val(v)}) },
	"jx_print": func(ctx *pongo2.ExecutionContext, v *pongo2.Value, line int) (*pongo2.Value, error) {
		x := val(v)
		if f, bad := firstFailure(x); bad {
			return nil, report(ctx, line, f)
		}
		return pongo2.AsSafeValue(str(x)), nil
	},
	"jx_bool": func(ctx *pongo2.ExecutionContext, v *pongo2.Value, line int) (bool, error) {
		x := val(v)
		if f, bad := firstFailure(x); bad {
			return false, report(ctx, line, f)
		}
		return truth(x), nil
	},
	"jx_val": func(ctx *pongo2.ExecutionContext, v *pongo2.Value, line int) (*pongo2.Value, error) {
		x := val(v)
		if f, bad := x.(failure); bad {
			return nil, report(ctx, line, f)
		}
		return wrap(x), nil
	},
	"jx_iter": func(ctx *pongo2.ExecutionContext, v *pongo2.Value, line int) (*pongo2.Value, error) {
		x := val(v)
		if f, bad := firstFailure(x); bad {
			return nil, report(ctx, line, f)
		}
		list, ok := asList(x)
		if !ok {
			return nil, report(ctx, line, failf("'%s' object is not iterable", typeName(x)))
		}
		return wrap(list), nil
	},
	"jx_unpack": func(ctx *pongo2.ExecutionContext, v *pongo2.Value, i, n, line int) (*pongo2.Value, error) {
		list, ok := asList(val(v))
		if !ok || len(list) != n {
			return nil, report(ctx, line, failf("cannot unpack %s into %d loop variables", repr(val(v)), n))
		}
		return wrap(list[i]), nil
	},
	"jx_attr": func(v *pongo2.Value, name, path string) *pongo2.Value {
		return wrap(getattr(val(v), name, path))
	},
	"jx_item": func(v, key *pongo2.Value, path string) *pongo2.Value {
		return wrap(getitem(val(v), val(key), path))
	},
	"jx_slice": func(v, start, stop, step *pongo2.Value) *pongo2.Value {
		return wrap(slice(val(v), val(start), val(stop), val(step)))
	},
	"jx_list": func(items ...*pongo2.Value) *pongo2.Value {
		list := vals(items)
		if f, bad := firstFailure(list...); bad {
			return wrap(f)
		}
		return wrap(list)
	},
	"jx_dict": func(items ...*pongo2.Value) *pongo2.Value {
		m := make(map[string]any, len(items)/2)
		for i := 0; i+1 < len(items); i += 2 {
			k, v := val(items[i]), val(items[i+1])
			if f, bad := firstFailure(k, v); bad {
				return wrap(f)
			}
			m[str(k)] = v
		}
		return wrap(m)
	},
	"jx_cond": func(cond, yes, no *pongo2.Value) *pongo2.Value {
		c := val(cond)
		if f, bad := firstFailure(c); bad {
			return wrap(f)
		}
		if truth(c) {
			return wrap(val(yes))
		}
		return wrap(val(no))
	},
	"jx_and": func(a, b *pongo2.Value) *pongo2.Value {
		x := val(a)
		if f, bad := firstFailure(x); bad {
			return wrap(f)
		}
		if !truth(x) {
			return wrap(x)
		}
		return wrap(val(b))
	},
	"jx_or": func(a, b *pongo2.Value) *pongo2.Value {
		x := val(a)
		if f, bad := firstFailure(x); bad {
			return wrap(f)
		}
		if truth(x) {
			return wrap(x)
		}
		return wrap(val(b))
	},
	"jx_not": func(a *pongo2.Value) *pongo2.Value {
		x := val(a)
		if f, bad := firstFailure(x); bad {
			return wrap(f)
		}
		return wrap(!truth(x))
	},
	"jx_neg": func(a *pongo2.Value) *pongo2.Value {
		return wrap(binary("-", 0, val(a)))
	},
	"jx_op": func(op string, a, b *pongo2.Value) *pongo2.Value {
		return wrap(binary(op, val(a), val(b)))
	},
	"jx_filter": func(name string, v *pongo2.Value, args ...*pongo2.Value) *pongo2.Value {
		return wrap(applyFilter(name, val(v), vals(args)))
	},
	"jx_test": func(name string, v *pongo2.Value, args ...*pongo2.Value) *pongo2.Value {
		return wrap(applyTest(name, val(v), vals(args)))
	},
	"jx_method": func(v *pongo2.Value, name string, args ...*pongo2.Value) *pongo2.Value {
		return wrap(callMethod(val(v), name, vals(args)))
	},
	"jx_call": func(name string, args ...*pongo2.Value) *pongo2.Value {
		return wrap(callGlobal(name, vals(args)))
	},
}

func getattr(obj any, name, path string) any {
	if f, bad := firstFailure(obj); bad {
		return f
	}
	if x, found, isMap := lookup(obj, name); isMap {
		if !found {
			return undefined{path: path}
		}
		return x
	}
	return undefined{path: path}
}

func getitem(obj, key any, path string) any {
	if f, bad := firstFailure(obj, key); bad {
		return f
	}
	if k, ok := key.(string); ok {
		if x, found, isMap := lookup(obj, k); isMap {
			if !found {
				return undefined{path: strings.TrimSuffix(path, "[…]") + "[" + strRepr(k) + "]"}
			}
			return x
		}
	}
	i, ok := key.(int)
	if !ok {
		return undefined{path: path}
	}
	var n int
	switch x := obj.(type) {
	case []any:
		n = len(x)
	case string:
		n = len([]rune(x))
	default:
		return undefined{path: path}
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return undefined{path: path}
	}
	switch x := obj.(type) {
	case []any:
		return x[i]
	case string:
		return string([]rune(x)[i])
	}
	return undefined{path: path}
}

func slice(obj, start, stop, step any) any {
	if f, bad := firstFailure(obj, start, stop, step); bad {
		return f
	}
	var items []any
	s, isStr := obj.(string)
	if isStr {
		items, _ = asList(s)
	} else if l, ok := obj.([]any); ok {
		items = l
	} else {
		return failf("'%s' object is not subscriptable", typeName(obj))
	}
	n := len(items)
	st := 1
	if x, ok := step.(int); ok {
		st = x
	}
	if st == 0 {
		return failf("slice step cannot be zero")
	}
	bound := func(v any, def int) int {
		x, ok := v.(int)
		if !ok {
			return def
		}
		if x < 0 {
			x += n
		}
		lo, hi := 0, n
		if st < 0 {
			lo, hi = -1, n-1
		}
		return max(lo, min(hi, x))
	}
	var out []any
	if st > 0 {
		for i := bound(start, 0); i < bound(stop, n); i += st {
			out = append(out, items[i])
		}
	} else {
		for i := bound(start, n-1); i > bound(stop, -1); i += st {
			out = append(out, items[i])
		}
	}
	if isStr {
		var b strings.Builder
		for _, c := range out {
			b.WriteString(c.(string))
		}
		return b.String()
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func binary(op string, a, b any) any {
	switch op {
	case "==", "!=", "<", ">", "<=", ">=", "in", "not in", "~", "+", "-", "*", "/", "//", "%", "**":
	default:
		return failf("unsupported operator %s", op)
	}
	if f, bad := firstFailure(a, b); bad {
		return f
	}
	switch op {
	case "==":
		return equal(a, b)
	case "!=":
		return !equal(a, b)
	case "~":
		return str(a) + str(b)
	case "in", "not in":
		r, f := contained(a, b)
		if f != nil {
			return *f
		}
		return r == (op == "in")
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			switch op {
			case "+":
				return sa + sb
			case "<":
				return sa < sb
			case ">":
				return sa > sb
			case "<=":
				return sa <= sb
			case ">=":
				return sa >= sb
			}
		}
		if n, ok := b.(int); ok && op == "*" {
			return strings.Repeat(sa, max(n, 0))
		}
	}
	if la, ok := a.([]any); ok && op == "+" {
		if lb, ok := b.([]any); ok {
			return append(append([]any{}, la...), lb...)
		}
	}
	x, xi, ok1 := toNumber(a)
	y, yi, ok2 := toNumber(b)
	if !ok1 || !ok2 {
		return failf("unsupported operand types for %s: '%s' and '%s'", op, typeName(a), typeName(b))
	}
	ints := xi && yi
	switch op {
	case "<":
		return x < y
	case ">":
		return x > y
	case "<=":
		return x <= y
	case ">=":
		return x >= y
	case "+":
		return number(x+y, ints)
	case "-":
		return number(x-y, ints)
	case "*":
		return number(x*y, ints)
	case "/":
		if y == 0 {
			return failf("division by zero")
		}
		return x / y
	case "//":
		if y == 0 {
			return failf("integer division or modulo by zero")
		}
		return number(math.Floor(x/y), ints)
	case "%":
		if y == 0 {
			return failf("integer division or modulo by zero")
		}
		m := math.Mod(x, y)
		if m != 0 && (m < 0) != (y < 0) {
			m += y
		}
		return number(m, ints)
	case "**":
		if ints && y < 0 {
			return math.Pow(x, y)
		}
		return number(math.Pow(x, y), ints)
	}
	return failf("unsupported operator %s", op)
}

func number(f float64, isInt bool) any {
	if isInt {
		return int(f)
	}
	return f
}

func contained(needle, hay any) (bool, *failure) {
	switch h := hay.(type) {
	case string:
		s, ok := needle.(string)
		if !ok {
			f := failf("'in <string>' requires string as left operand, not %s", typeName(needle))
			return false, &f
		}
		return strings.Contains(h, s), nil
	case []any:
		for _, x := range h {
			if equal(x, needle) {
				return true, nil
			}
		}
		return false, nil
	}
	if k, ok := needle.(string); ok {
		if _, found, isMap := lookup(hay, k); isMap {
			return found, nil
		}
	}
	f := failf("argument of type '%s' is not iterable", typeName(hay))
	return false, &f
}

// splitArgs separates positional arguments from keyword ones.
func splitArgs(args []any) ([]any, map[string]any) {
	var pos []any
	var kw map[string]any
	for _, a := range args {
		if k, ok := a.(kwarg); ok {
			if kw == nil {
				kw = map[string]any{}
			}
			kw[k.name] = k.val
			continue
		}
		pos = append(pos, a)
	}
	return pos, kw
}

// param returns the i-th positional argument or the keyword argument name,
// or def.
func param(pos []any, kw map[string]any, i int, name string, def any) any {
	if i < len(pos) {
		return pos[i]
	}
	if v, ok := kw[name]; ok {
		return v
	}
	return def
}

func callGlobal(name string, args []any) any {
	if f, bad := firstFailure(args...); bad {
		return f
	}
	pos, _ := splitArgs(args)
	switch name {
	case "range":
		ints := make([]int, len(pos))
		for i, p := range pos {
			n, ok := p.(int)
			if !ok {
				return failf("range() takes integers, not %s", typeName(p))
			}
			ints[i] = n
		}
		start, stop, step := 0, 0, 1
		switch len(ints) {
		case 1:
			stop = ints[0]
		case 2:
			start, stop = ints[0], ints[1]
		case 3:
			start, stop, step = ints[0], ints[1], ints[2]
		default:
			return failf("range() takes 1 to 3 arguments")
		}
		if step == 0 {
			return failf("range() step must not be zero")
		}
		out := []any{}
		for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
			out = append(out, i)
		}
		return out
	}
	return failf("unknown function %s() (supported: range)", name)
}
