package jinja

import (
	"math"
	"math/bits"
	"strings"
)

// Python's operators on template values.

func binary(op string, a, b any) any {
	mustDefined(a)
	if op == "%" {
		// The right operand is formatted, not computed with: an undefined
		// fails (or not) where it is used.
		switch x := a.(type) {
		case string:
			return percentFormat(x, b, false)
		case Markup:
			return Markup(percentFormat(string(x), b, true))
		}
	}
	mustDefined(b)
	switch op {
	case "+":
		return add(a, b)
	case "*":
		return mul(a, b)
	}
	x, xi, xInt, ok1 := toNumber(a)
	y, yi, yInt, ok2 := toNumber(b)
	if !ok1 || !ok2 {
		throw("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
	}
	ints := xInt && yInt
	switch op {
	case "-":
		if ints {
			r, overflow := subInt(xi, yi)
			if overflow {
				throwOverflow()
			}
			return r
		}
		return x - y
	case "/":
		if y == 0 {
			throw("division by zero")
		}
		if ints {
			return float64(xi) / float64(yi)
		}
		return x / y
	case "//":
		if y == 0 {
			throw("integer division or modulo by zero")
		}
		if ints {
			q := xi / yi
			if (xi%yi != 0) && ((xi < 0) != (yi < 0)) {
				q--
			}
			return q
		}
		return floorDiv(x, y)
	case "%":
		if y == 0 {
			throw("integer division or modulo by zero")
		}
		if ints {
			m := xi % yi
			if m != 0 && (m < 0) != (yi < 0) {
				m += yi
			}
			return m
		}
		m := math.Mod(x, y)
		switch {
		case m == 0:
			m = math.Copysign(0, y)
		case (m < 0) != (y < 0):
			m += y
		}
		return m
	case "**":
		if ints && yi >= 0 {
			return powInt(xi, yi)
		}
		if x == 0 && y < 0 {
			throw("0.0 cannot be raised to a negative power")
		}
		r := math.Pow(x, y)
		if math.IsNaN(r) && !math.IsNaN(x) && !math.IsNaN(y) {
			throw("complex results are not supported")
		}
		return r
	}
	throw("unsupported operator %s", op)
	return nil
}

// floorDiv is Python's float // (float_floor_div), which floors the
// exact quotient (a - fmod(a, b)) / b rather than a / b.
func floorDiv(a, b float64) float64 {
	mod := math.Mod(a, b)
	div := (a - mod) / b
	if mod != 0 && (b < 0) != (mod < 0) {
		div -= 1.0
	}
	if div == 0 {
		return math.Copysign(0, a/b)
	}
	floor := math.Floor(div)
	if div-floor > 0.5 {
		floor += 1.0
	}
	return floor
}

func throwOverflow() {
	throw("integer overflow: numbers here are 64-bit, Python's grow without limit")
}

func addInt(a, b int) (int, bool) {
	s := a + b
	return s, (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0)
}

func subInt(a, b int) (int, bool) {
	s := a - b
	return s, (a >= 0 && b < 0 && s < 0) || (a < 0 && b > 0 && s >= 0)
}

func mulInt(a, b int) (int, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(absInt(a)), uint64(absInt(b))
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, true
	}
	if neg {
		return -int(lo), false
	}
	return int(lo), false
}

func absInt(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

func powInt(x, y int) int {
	r := 1
	for i := 0; i < y; i++ {
		var overflow bool
		if r, overflow = mulInt(r, x); overflow {
			throwOverflow()
		}
		if r == 0 || r == 1 {
			if r == 1 && x == -1 && (y-i-1)%2 == 1 {
				return -1
			}
			return r
		}
	}
	return r
}

func add(a, b any) any {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return x + y
		case Markup:
			return Markup(escapeString(x)) + y
		}
	case Markup:
		if isString(b) || hasHTML(b) {
			return x + Markup(escape(b))
		}
	case *List:
		if y, ok := b.(*List); ok {
			out := make([]any, 0, len(x.Items)+len(y.Items))
			return newList(append(append(out, x.Items...), y.Items...))
		}
	case Tuple, groupTuple:
		xs, _ := asTuple(x)
		if ys, ok := asTuple(b); ok {
			out := make(Tuple, 0, len(xs)+len(ys))
			return append(append(out, xs...), ys...)
		}
	}
	fx, xi, xInt, ok1 := toNumber(a)
	fy, yi, yInt, ok2 := toNumber(b)
	if !ok1 || !ok2 {
		if isString(a) && !isString(b) {
			throw("can only concatenate str (not \"%s\") to str", typeName(b))
		}
		throw("unsupported operand type(s) for +: '%s' and '%s'", typeName(a), typeName(b))
	}
	if xInt && yInt {
		s, overflow := addInt(xi, yi)
		if overflow {
			throwOverflow()
		}
		return s
	}
	return fx + fy
}

// repeatCount reads the int side of a sequence repetition.
func repeatCount(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func mul(a, b any) any {
	if n, ok := repeatCount(b); ok {
		if r, ok := repeat(a, n); ok {
			return r
		}
	}
	if n, ok := repeatCount(a); ok {
		if r, ok := repeat(b, n); ok {
			return r
		}
	}
	fx, xi, xInt, ok1 := toNumber(a)
	fy, yi, yInt, ok2 := toNumber(b)
	if !ok1 || !ok2 {
		if isSequence(a) || isSequence(b) {
			other := b
			if !isSequence(a) {
				other = a
			}
			throw("can't multiply sequence by non-int of type '%s'", typeName(other))
		}
		throw("unsupported operand type(s) for *: '%s' and '%s'", typeName(a), typeName(b))
	}
	if xInt && yInt {
		r, overflow := mulInt(xi, yi)
		if overflow {
			throwOverflow()
		}
		return r
	}
	return fx * fy
}

func isSequence(v any) bool {
	switch v.(type) {
	case string, Markup, *List, Tuple, groupTuple:
		return true
	}
	return false
}

const maxRepeat = 1 << 22

func repeat(v any, n int) (any, bool) {
	n = max(n, 0)
	if g, ok := v.(groupTuple); ok {
		v = Tuple{g.grouper, g.list}
	}
	switch x := v.(type) {
	case string:
		if len(x)*n > maxRepeat {
			throw("repetition too large")
		}
		return strings.Repeat(x, n), true
	case Markup:
		if len(x)*n > maxRepeat {
			throw("repetition too large")
		}
		return Markup(strings.Repeat(string(x), n)), true
	case *List:
		if len(x.Items)*n > maxRepeat {
			throw("repetition too large")
		}
		out := make([]any, 0, len(x.Items)*n)
		for i := 0; i < n; i++ {
			out = append(out, x.Items...)
		}
		return newList(out), true
	case Tuple:
		if len(x)*n > maxRepeat {
			throw("repetition too large")
		}
		out := make(Tuple, 0, len(x)*n)
		for i := 0; i < n; i++ {
			out = append(out, x...)
		}
		return out, true
	}
	return nil, false
}

func negate(v any) any {
	mustDefined(v)
	switch x := v.(type) {
	case int:
		if x == math.MinInt {
			throwOverflow()
		}
		return -x
	case bool:
		if x {
			return -1
		}
		return 0
	case float64:
		return -x
	}
	throw("bad operand type for unary -: '%s'", typeName(v))
	return nil
}

func positive(v any) any {
	mustDefined(v)
	switch x := v.(type) {
	case int, float64:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	}
	throw("bad operand type for unary +: '%s'", typeName(v))
	return nil
}

// compare evaluates one comparison of a chain.
func compare(op string, a, b any) bool {
	switch op {
	case "==":
		return equal(a, b)
	case "!=":
		return !equal(a, b)
	case "in":
		return contains(b, a)
	case "not in":
		return !contains(b, a)
	}
	mustDefined(a)
	mustDefined(b)
	c, ok := order(a, b)
	if !ok {
		throw("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// order compares like Python's < on numbers, strings, lists and tuples;
// ok=false when Python raises TypeError. NaN compares as neither.
func order(a, b any) (int, bool) {
	if x, xi, xInt, ok := toNumber(a); ok {
		y, yi, yInt, ok := toNumber(b)
		if !ok {
			return 0, false
		}
		if xInt && yInt {
			return cmpInt(xi, yi), true
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		case x == y:
			return 0, true
		}
		return 2, true // NaN: every comparison but != is false
	}
	if isString(a) && isString(b) {
		return strings.Compare(str(a), str(b)), true
	}
	var xs, ys []any
	switch x := a.(type) {
	case *List:
		y, ok := b.(*List)
		if !ok {
			return 0, false
		}
		xs, ys = x.Items, y.Items
	case Tuple, groupTuple:
		var ok bool
		xs, _ = asTuple(x)
		if ys, ok = asTuple(b); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	for i := 0; i < len(xs) && i < len(ys); i++ {
		if equal(xs[i], ys[i]) {
			continue
		}
		return order(xs[i], ys[i])
	}
	return cmpInt(len(xs), len(ys)), true
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// contains is Python's `needle in hay`. An undefined needle only fails
// where Python would touch it: hashing, a string search, a comparison with
// an item (an empty sequence compares nothing).
func contains(hay, needle any) bool {
	if u, ok := hay.(*undefined); ok && u.lenient {
		return false // iterating the plain Undefined yields nothing to compare
	}
	mustDefined(hay)
	undef, needleUndefined := needle.(*undefined)
	switch h := hay.(type) {
	case string, Markup:
		if needleUndefined {
			mustDefined(needle)
		}
		s, ok := needle.(string)
		if m, isMarkup := needle.(Markup); isMarkup {
			s, ok = string(m), true
		}
		if !ok {
			throw("'in <string>' requires string as left operand, not %s", typeName(needle))
		}
		return strings.Contains(str(h), s)
	case *Dict:
		if _, ok := hashKey(needle); !ok {
			throw("unhashable type: '%s'", typeName(needle))
		}
		_, found := h.Get(needle)
		return found
	case dictView:
		if h.kind == "keys" {
			if _, ok := hashKey(needle); !ok {
				throw("unhashable type: '%s'", typeName(needle))
			}
			_, found := h.d.Get(needle)
			return found
		}
	case rangeVal:
		if needleUndefined {
			if h.len() > 0 && !undef.lenient {
				undef.fail()
			}
			return false
		}
		n, ok := repeatCount(needle)
		if !ok {
			if f, isF := needle.(float64); isF && f == math.Trunc(f) {
				n, ok = int(f), true
			}
		}
		if !ok {
			return false
		}
		if h.step > 0 && (n < h.start || n >= h.stop) || h.step < 0 && (n > h.start || n <= h.stop) {
			return false
		}
		return (n-h.start)%h.step == 0
	case *namespace:
		throw("argument of type 'Namespace' is not iterable")
	}
	if !iterable(hay) {
		throw("argument of type '%s' is not iterable", typeName(hay))
	}
	for _, x := range items(hay) {
		if equal(x, needle) {
			return true
		}
	}
	return false
}

// --- attribute and item access ---

// getattr is Jinja's environment.getattr: an attribute (a method, for the
// built-in types) first, then an item; undefined when neither exists.
func getattr(obj any, name, path string) any {
	if u, ok := obj.(*undefined); ok {
		u.fail()
	}
	if v, ok := attribute(obj, name); ok {
		return v
	}
	if v, ok := item(obj, name); ok {
		return v
	}
	return &undefined{name: path}
}

// getitem is Jinja's environment.getitem: an item first, then, for string
// keys, an attribute.
func getitem(obj, key any, path string) any {
	if u, ok := obj.(*undefined); ok {
		u.fail()
	}
	if u, ok := key.(*undefined); ok {
		// Only a dict touches the key (to hash it); elsewhere the lookup
		// fails and Jinja answers undefined.
		if _, isDict := obj.(*Dict); isDict && !u.lenient {
			u.fail()
		}
		if v, ok := item(obj, key); ok {
			return v
		}
		return &undefined{name: path}
	}
	if sl, ok := key.(*sliceVal); ok {
		if v, ok := slice(obj, sl); ok {
			return v
		}
		return &undefined{name: path}
	}
	if v, ok := item(obj, key); ok {
		return v
	}
	if s, ok := key.(string); ok {
		if v, ok := attribute(obj, s); ok {
			return v
		}
	}
	return &undefined{name: path}
}

// item is obj[key], ok=false where Python raises a lookup or type error.
func item(obj, key any) (any, bool) {
	switch x := obj.(type) {
	case *Dict:
		if s, ok := key.(string); ok {
			return x.getStr(s)
		}
		return x.Get(key)
	case *namespace:
		return nil, false
	case *module:
		return nil, false
	}
	i, ok := repeatCount(key)
	if !ok {
		return nil, false
	}
	switch x := obj.(type) {
	case *List:
		return index(x.Items, i)
	case Tuple:
		return index(x, i)
	case groupTuple:
		return index([]any{x.grouper, x.list}, i)
	case string:
		if isASCII(x) {
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return nil, false
			}
			return x[i : i+1], true
		}
		return index(chars(x), i)
	case Markup:
		v, ok := index(chars(string(x)), i)
		if ok {
			v = Markup(v.(string))
		}
		return v, ok
	case rangeVal:
		n := x.len()
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, false
		}
		return x.at(i), true
	}
	return nil, false
}

func index(list []any, i int) (any, bool) {
	if i < 0 {
		i += len(list)
	}
	if i < 0 || i >= len(list) {
		return nil, false
	}
	return list[i], true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// attribute returns obj's Python attribute name: the methods of the
// built-in types, and the attributes of the runtime's objects.
func attribute(obj any, name string) (any, bool) {
	switch x := obj.(type) {
	case *namespace:
		return x.attrs.getStr(name)
	case *loopCtx:
		return x.attr(name)
	case *module:
		return x.attr(name)
	case *macro:
		return x.attr(name)
	case groupTuple:
		switch name {
		case "grouper":
			return x.grouper, true
		case "list":
			return x.list, true
		}
		return methodOf(obj, name)
	case *cycler:
		return x.attr(name)
	case *selfRef:
		return x.attr(name)
	case rangeVal:
		switch name {
		case "start":
			return x.start, true
		case "stop":
			return x.stop, true
		case "step":
			return x.step, true
		}
	case int:
		switch name {
		case "real", "numerator":
			return x, true
		case "imag":
			return 0, true
		case "denominator":
			return 1, true
		}
	case float64:
		switch name {
		case "real":
			return x, true
		case "imag":
			return 0.0, true
		}
	}
	return methodOf(obj, name)
}

// --- slices ---

type sliceVal struct{ start, stop, step any }

// sliceBound reads a slice index: set=false for None, ok=false where Python
// raises TypeError.
func sliceBound(v any) (n int, set, ok bool) {
	switch x := v.(type) {
	case none:
		return 0, false, true
	case int:
		return x, true, true
	case bool:
		if x {
			return 1, true, true
		}
		return 0, true, true
	}
	mustDefined(v)
	return 0, false, false
}

// indices is Python's slice.indices(n); ok=false where Python raises
// TypeError (which Jinja's getitem turns into an undefined).
func (s *sliceVal) indices(n int) (start, stop, step int, ok bool) {
	step = 1
	st, set, ok := sliceBound(s.step)
	if !ok {
		return 0, 0, 0, false
	}
	if set {
		if st == 0 {
			throw("slice step cannot be zero")
		}
		step = st
	}
	lo, hi := 0, n
	if step < 0 {
		lo, hi = -1, n-1
	}
	bound := func(v any, def int) (int, bool) {
		x, set, ok := sliceBound(v)
		if !set {
			return def, ok
		}
		if x < 0 {
			x += n
		}
		return max(lo, min(hi, x)), true
	}
	var ok1, ok2 bool
	if step > 0 {
		start, ok1 = bound(s.start, 0)
		stop, ok2 = bound(s.stop, n)
	} else {
		start, ok1 = bound(s.start, n-1)
		stop, ok2 = bound(s.stop, -1)
	}
	return start, stop, step, ok1 && ok2
}

func sliceItems(list []any, s *sliceVal) ([]any, bool) {
	start, stop, step, ok := s.indices(len(list))
	if !ok {
		return nil, false
	}
	out := []any{}
	if step > 0 {
		for i := start; i < stop; i += step {
			out = append(out, list[i])
		}
	} else {
		for i := start; i > stop; i += step {
			out = append(out, list[i])
		}
	}
	return out, true
}

// slice is obj[start:stop:step]; ok=false where Python raises TypeError.
func slice(obj any, s *sliceVal) (any, bool) {
	switch x := obj.(type) {
	case *List:
		out, ok := sliceItems(x.Items, s)
		return newList(out), ok
	case Tuple:
		out, ok := sliceItems(x, s)
		return Tuple(out), ok
	case groupTuple:
		out, ok := sliceItems([]any{x.grouper, x.list}, s)
		return Tuple(out), ok
	case string:
		if isASCII(x) {
			start, stop, step, ok := s.indices(len(x))
			if ok && step == 1 {
				if start >= stop {
					return "", true
				}
				return x[start:stop], true
			}
		}
		out, ok := sliceItems(chars(x), s)
		return joinChars(out), ok
	case Markup:
		out, ok := sliceItems(chars(string(x)), s)
		return Markup(joinChars(out)), ok
	case rangeVal:
		start, stop, step, ok := s.indices(x.len())
		if !ok {
			return nil, false
		}
		return rangeVal{start: x.at(start), stop: x.at(stop), step: x.step * step}, true
	}
	return nil, false
}

func joinChars(cs []any) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.(string))
	}
	return b.String()
}
