package jinja

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Values inside templates follow Python's model:
//
//	str → string        int → int          float → float64    bool → bool
//	None → none         list → *List       tuple → Tuple      dict → *Dict
//	range → rangeVal    Markup → Markup    generators and iterators → *iterator
//
// plus the runtime's own objects (undefined, macros, loop, namespaces,
// bound methods, cyclers, joiners, template modules). Go values handed in
// as data are converted once by Value.

type none struct{}

// None is Python's None.
var None = none{}

// Tuple is an immutable sequence (Python tuple).
type Tuple []any

// List is a mutable sequence (Python list): a pointer, so that
// {% set _ = xs.append(1) %} is seen through every name bound to it.
type List struct{ Items []any }

func newList(items []any) *List {
	if items == nil {
		items = []any{}
	}
	return &List{Items: items}
}

// Markup is a string that is safe to output as HTML, as produced by the
// tojson, escape and safe filters. Without autoescaping it prints as its
// text, but its repr, its + and its methods escape like Python's.
type Markup string

type rangeVal struct{ start, stop, step int }

func (r rangeVal) len() int {
	if r.step > 0 && r.start < r.stop {
		return (r.stop - r.start + r.step - 1) / r.step
	}
	if r.step < 0 && r.start > r.stop {
		return (r.start - r.stop - r.step - 1) / -r.step
	}
	return 0
}

func (r rangeVal) at(i int) int { return r.start + i*r.step }

func (r rangeVal) items() []any {
	n := r.len()
	out := make([]any, n)
	for i := range out {
		out[i] = r.at(i)
	}
	return out
}

// iterator is a one-shot iterable, as the generators and iterators Jinja's
// filters return (map, select, unique, reverse…): iterating consumes it.
type iterator struct {
	items []any
	pos   int
	kind  string // Python's type name, for messages and repr
}

func newIterator(kind string, items []any) *iterator { return &iterator{items: items, kind: kind} }

func (it *iterator) drain() []any {
	rest := it.items[it.pos:]
	it.pos = len(it.items)
	return rest
}

// dictView is what dict.keys(), values() and items() return: a live view.
type dictView struct {
	d    *Dict
	kind string // "keys", "values", "items"
}

func (v dictView) items() []any {
	switch v.kind {
	case "keys":
		return append([]any{}, v.d.keys...)
	case "values":
		return append([]any{}, v.d.vals...)
	}
	out := make([]any, len(v.d.keys))
	for i, k := range v.d.keys {
		out[i] = Tuple{k, v.d.vals[i]}
	}
	return out
}

// --- dict ---

// Dict is an insertion-ordered dict with Python's key equality
// (1 == 1.0 == True).
type Dict struct {
	keys  []any
	vals  []any
	index map[any]int
}

// NewDict returns an empty dict with room for n keys.
func NewDict(n int) *Dict {
	return &Dict{keys: make([]any, 0, n), vals: make([]any, 0, n), index: make(map[any]int, n)}
}

type tupleKey string

// hashKey returns the comparable Go value identifying k among dict keys and
// set members, or ok=false when k is unhashable in Python.
func hashKey(k any) (any, bool) {
	switch x := k.(type) {
	case string:
		return x, true
	case Markup:
		return string(x), true
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int(x), true
		}
		return x, true
	case none:
		return x, true
	case Tuple, groupTuple:
		t, _ := asTuple(x)
		var b strings.Builder
		b.WriteString("(")
		for _, e := range t {
			h, ok := hashKey(e)
			if !ok {
				return nil, false
			}
			fmt.Fprintf(&b, "%T:%v,", h, h)
		}
		return tupleKey(b.String()), true
	case rangeVal:
		return tupleKey(fmt.Sprintf("range:%d:%d:%d", x.start, x.len(), x.step)), true
	case dictView:
		if x.kind == "values" { // hashed by identity in Python
			return tupleKey(fmt.Sprintf("values:%p", x.d)), true
		}
		return nil, false
	case *List, *Dict:
		return nil, false
	case *undefined:
		if x.lenient { // the plain Undefined hashes by its type
			return tupleKey("undefined"), true
		}
		x.fail()
	}
	rv := reflect.ValueOf(k)
	if rv.Comparable() {
		return k, true
	}
	return nil, false
}

func (d *Dict) Len() int { return len(d.keys) }

// Get returns the value under key k.
func (d *Dict) Get(k any) (any, bool) {
	h, ok := hashKey(k)
	if !ok {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *Dict) getStr(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Set stores v under k, keeping the position of an existing key; it fails
// for unhashable keys.
func (d *Dict) Set(k, v any) {
	h, ok := hashKey(k)
	if !ok {
		throw("unhashable type: '%s'", typeName(k))
	}
	if i, ok := d.index[h]; ok {
		d.vals[i] = v
		return
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *Dict) delete(k any) (any, bool) {
	h, ok := hashKey(k)
	if !ok {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	v := d.vals[i]
	d.keys = append(d.keys[:i:i], d.keys[i+1:]...)
	d.vals = append(d.vals[:i:i], d.vals[i+1:]...)
	d.reindex()
	return v, true
}

func (d *Dict) reindex() {
	d.index = make(map[any]int, len(d.keys))
	for i, k := range d.keys {
		h, _ := hashKey(k)
		d.index[h] = i
	}
}

func (d *Dict) copy() *Dict {
	c := &Dict{keys: append([]any{}, d.keys...), vals: append([]any{}, d.vals...), index: make(map[any]int, len(d.keys))}
	for h, i := range d.index {
		c.index[h] = i
	}
	return c
}

// --- conversion of Go data ---

// Lazy is a context value computed when a template first looks it up (and
// converted with Value then), such as a list that must be fetched.
type Lazy func() any

// Value converts Go data (strings, numbers, bools, nil, and slices and
// string-keyed maps of them) into template values; other Go values pass
// as they are, opaque to templates. Maps become dicts iterating in sorted
// key order, since Go maps have none; pass a *Dict to choose the order.
func Value(v any) any {
	switch x := v.(type) {
	case nil:
		return None
	case string, int, float64, bool, none, *Dict, *List, Tuple, Markup, Lazy:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return newList(out)
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return newList(out)
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict(len(keys))
		for _, k := range keys {
			d.index[k] = len(d.keys)
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, x[k])
		}
		return d
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict(len(keys))
		for _, k := range keys {
			d.index[k] = len(d.keys)
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, Value(x[k]))
		}
		return d
	case int64:
		return int(x)
	case int32:
		return int(x)
	case uint:
		return int(x)
	case float32:
		return float64(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Value(rv.Index(i).Interface())
		}
		return newList(out)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(rv.Convert(reflect.TypeOf(0)).Int())
	case reflect.String:
		return rv.String()
	}
	return v
}

// --- str and repr ---

// str is Python's str().
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Markup:
		return string(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return floatRepr(x)
	case none:
		return "None"
	case *undefined:
		if x.lenient {
			return ""
		}
		x.fail()
	}
	return repr(v)
}

// repr is Python's repr().
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		b.WriteString(strRepr(x))
	case Markup:
		b.WriteString("Markup(" + strRepr(string(x)) + ")")
	case *List:
		writeSeq(b, "[", "]", x.Items, false)
	case Tuple:
		writeSeq(b, "(", ")", x, len(x) == 1)
	case *Dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k)
			b.WriteString(": ")
			writeRepr(b, x.vals[i])
		}
		b.WriteByte('}')
	case rangeVal:
		if x.step == 1 {
			fmt.Fprintf(b, "range(%d, %d)", x.start, x.stop)
		} else {
			fmt.Fprintf(b, "range(%d, %d, %d)", x.start, x.stop, x.step)
		}
	case dictView:
		b.WriteString("dict_" + x.kind + "(")
		writeSeq(b, "[", "]", x.items(), false)
		b.WriteByte(')')
	case *undefined:
		// Jinja's Undefined (even the strict one) has a harmless repr.
		b.WriteString("Undefined")
	case groupTuple:
		// Jinja's _GroupTuple prints as the plain tuple it is.
		writeSeq(b, "(", ")", []any{x.grouper, x.list}, false)
	case *namespace:
		b.WriteString("<Namespace ")
		writeRepr(b, x.attrs)
		b.WriteByte('>')
	case *macro:
		if x.name == "" {
			b.WriteString("<Macro anonymous>")
		} else {
			b.WriteString("<Macro " + strRepr(x.name) + ">")
		}
	case bool, int, float64, none:
		b.WriteString(str(v))
	case *iterator:
		fmt.Fprintf(b, "<%s object at %p>", x.kind, x)
	default:
		fmt.Fprintf(b, "<%s object>", typeName(v))
	}
}

func writeSeq(b *strings.Builder, open, close string, items []any, trailingComma bool) {
	b.WriteString(open)
	for i, e := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e)
	}
	if trailingComma {
		b.WriteByte(',')
	}
	b.WriteString(close)
}

func strRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsPrint(r):
			// Python's printable characters: all but the separators other
			// than space, control, format, private and unassigned ones.
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// floatRepr formats like Python's repr(float).
func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs >= 1e16 || abs < 1e-4) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		for len(exp) < 2 {
			exp = "0" + exp
		}
		return mant + "e" + string(sign) + exp
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// --- truth, types, equality ---

// truth is Python's bool().
func truth(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case none:
		return false
	case *List:
		return len(x.Items) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return len(x.keys) > 0
	case Markup:
		return x != ""
	case rangeVal:
		return x.len() > 0
	case dictView:
		return len(x.d.keys) > 0
	case *undefined:
		if x.lenient {
			return false
		}
		x.fail()
	}
	return true
}

func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return "str"
	case Markup:
		return "Markup"
	case int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case none:
		return "NoneType"
	case *List:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case rangeVal:
		return "range"
	case dictView:
		return "dict_" + x.kind
	case *iterator:
		return x.kind
	case *undefined:
		return "Undefined"
	case *macro:
		return "Macro"
	case *namespace:
		return "Namespace"
	case *loopCtx:
		return "LoopContext"
	case groupTuple:
		return "_GroupTuple"
	case *boundMethod, builtin:
		return "builtin_function_or_method"
	case *module:
		return "TemplateModule"
	case *cycler:
		return "Cycler"
	case *joiner:
		return "Joiner"
	}
	return fmt.Sprintf("%T", v)
}

// toNumber reads ints, floats and bools (bool is an int in Python).
func toNumber(v any) (f float64, i int, isInt, ok bool) {
	switch x := v.(type) {
	case int:
		return float64(x), x, true, true
	case bool:
		if x {
			return 1, 1, true, true
		}
		return 0, 0, true, true
	case float64:
		return x, 0, false, true
	}
	return 0, 0, false, false
}

// equal is Python's ==.
func equal(a, b any) bool {
	// The strict undefined fails whichever side it is on; the lenient one
	// equals only its kind.
	for _, x := range [2]any{a, b} {
		if u, ok := x.(*undefined); ok && !u.lenient {
			u.fail()
		}
	}
	if u, ok := a.(*undefined); ok && u.lenient {
		w, ok := b.(*undefined)
		if ok && !w.lenient {
			w.fail()
		}
		return ok
	}
	if u, ok := b.(*undefined); ok && u.lenient {
		if w, ok := a.(*undefined); ok && !w.lenient {
			w.fail()
		}
		return false
	}
	if fa, ia, aInt, ok := toNumber(a); ok {
		if fb, ib, bInt, ok := toNumber(b); ok {
			if aInt && bInt {
				return ia == ib
			}
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case Markup:
			return x == string(y)
		}
		return false
	case Markup:
		switch y := b.(type) {
		case string:
			return string(x) == y
		case Markup:
			return x == y
		}
		return false
	case none:
		_, ok := b.(none)
		return ok
	case *List:
		y, ok := b.(*List)
		return ok && equalItems(x.Items, y.Items)
	case Tuple, groupTuple:
		xs, _ := asTuple(x)
		ys, ok := asTuple(b)
		return ok && equalItems(xs, ys)
	case rangeVal:
		y, ok := b.(rangeVal)
		if !ok {
			return false
		}
		n := x.len()
		return n == y.len() && (n == 0 || x.start == y.start && (n == 1 || x.step == y.step))
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for i, k := range x.keys {
			v, found := y.Get(k)
			if !found || !equal(x.vals[i], v) {
				return false
			}
		}
		return true
	case dictView:
		y, ok := b.(dictView)
		if !ok || x.kind != y.kind || x.kind == "values" {
			return ok && x == y
		}
		return equal(setOf(x.items()), setOf(y.items()))
	case *undefined:
		x.fail()
	}
	if u, ok := b.(*undefined); ok {
		u.fail()
	}
	if reflect.TypeOf(a).Comparable() && reflect.TypeOf(a) == reflect.TypeOf(b) {
		return a == b
	}
	return false
}

// asTuple reads tuples, groupby's named tuples included.
func asTuple(v any) (Tuple, bool) {
	switch x := v.(type) {
	case Tuple:
		return x, true
	case groupTuple:
		return Tuple{x.grouper, x.list}, true
	}
	return nil, false
}

// setOf turns items into a dict of their keys, for set-like comparisons.
func setOf(items []any) *Dict {
	d := NewDict(len(items))
	for _, it := range items {
		d.Set(it, true)
	}
	return d
}

func equalItems(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// items returns what iterating v yields (as a fresh or shared slice that
// callers must not modify), or fails like Python when v is not iterable.
func items(v any) []any {
	switch x := v.(type) {
	case *List:
		return x.Items
	case Tuple:
		return x
	case string:
		return chars(x)
	case Markup:
		return chars(string(x)) // iterating a Markup yields plain str
	case *Dict:
		return x.keys
	case rangeVal:
		return x.items()
	case *iterator:
		return x.drain()
	case dictView:
		return x.items()
	case groupTuple:
		return []any{x.grouper, x.list}
	case *undefined:
		if x.lenient {
			return nil
		}
		x.fail()
	}
	throw("'%s' object is not iterable", typeName(v))
	return nil
}

func iterable(v any) bool {
	switch x := v.(type) {
	case *List, Tuple, string, Markup, *Dict, rangeVal, *iterator, dictView, groupTuple:
		return true
	case *undefined:
		return x.lenient
	}
	return false
}

func chars(s string) []any {
	out := make([]any, 0, len(s))
	for i, r := range s {
		if r < 0x80 {
			out = append(out, s[i:i+1])
		} else {
			out = append(out, string(r))
		}
	}
	return out
}

// length is Python's len().
func length(v any) int {
	switch x := v.(type) {
	case string:
		return runeLen(x)
	case Markup:
		return runeLen(string(x))
	case *List:
		return len(x.Items)
	case Tuple:
		return len(x)
	case *Dict:
		return len(x.keys)
	case rangeVal:
		return x.len()
	case dictView:
		return len(x.d.keys)
	case groupTuple:
		return 2
	case *namespace:
	case *undefined:
		if x.lenient {
			return 0
		}
		x.fail()
	}
	throw("object of type '%s' has no len()", typeName(v))
	return 0
}

func runeLen(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return len([]rune(s))
		}
	}
	return len(s)
}

func isString(v any) bool {
	switch v.(type) {
	case string, Markup:
		return true
	}
	return false
}

// Keys returns the dict's keys in order.
func (d *Dict) Keys() []any { return append([]any{}, d.keys...) }
