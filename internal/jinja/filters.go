package jinja

import (
	"html"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Jinja's builtin filters (jinja2/filters.py), with the same arguments and
// results. Filters that produce generators in Jinja (map, select, unique,
// reverse, batch…) return one-shot iterators here too.

var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"abs":            filterAbs,
		"attr":           filterAttr,
		"batch":          filterBatch,
		"capitalize":     strFilter("capitalize", pyCapitalize),
		"center":         filterCenter,
		"count":          filterLength,
		"d":              filterDefault,
		"default":        filterDefault,
		"dictsort":       filterDictsort,
		"e":              filterEscape,
		"escape":         filterEscape,
		"filesizeformat": filterFilesizeformat,
		"first":          filterFirst,
		"float":          filterFloat,
		"forceescape":    filterForceescape,
		"format":         filterFormat,
		"groupby":        filterGroupby,
		"indent":         filterIndent,
		"int":            filterInt,
		"items":          filterItems,
		"join":           filterJoin,
		"last":           filterLast,
		"length":         filterLength,
		"list":           filterList,
		"lower":          strFilter("lower", pyLower),
		"map":            filterMap,
		"max":            func(r *renderer, v any, a *args) any { return minMax(r, "max", v, a, 1) },
		"min":            func(r *renderer, v any, a *args) any { return minMax(r, "min", v, a, -1) },
		"pprint":         filterPprint,
		"random":         filterRandom,
		"reject":         func(r *renderer, v any, a *args) any { return selectOrReject(r, "reject", v, a, false, false) },
		"rejectattr":     func(r *renderer, v any, a *args) any { return selectOrReject(r, "rejectattr", v, a, false, true) },
		"replace":        filterReplace,
		"reverse":        filterReverse,
		"round":          filterRound,
		"safe":           filterSafe,
		"select":         func(r *renderer, v any, a *args) any { return selectOrReject(r, "select", v, a, true, false) },
		"selectattr":     func(r *renderer, v any, a *args) any { return selectOrReject(r, "selectattr", v, a, true, true) },
		"slice":          filterSlice,
		"sort":           filterSort,
		"string":         filterString,
		"striptags":      filterStriptags,
		"sum":            filterSum,
		"title": func(_ *renderer, v any, a *args) any {
			a.bind("title")
			return jinjaTitle(str(v)) // a plain str even from Markup: the words are re.split's
		},
		"tojson":    filterToJSON,
		"trim":      filterTrim,
		"truncate":  filterTruncate,
		"unique":    filterUnique,
		"upper":     strFilter("upper", pyUpper),
		"urlencode": filterURLEncode,
		"urlize":    filterURLize,
		"wordcount": filterWordcount,
		"wordwrap":  filterWordwrap,
		"xmlattr":   filterXMLAttr,
	}
}

// softStr is Jinja's soft_str: str(), but Markup stays Markup.
func softStr(v any) any {
	if m, ok := v.(Markup); ok {
		return m
	}
	return str(v)
}

// strFilter applies a str method to soft_str(value), keeping Markup.
func strFilter(name string, fn func(string) string) filterFunc {
	return func(_ *renderer, v any, a *args) any {
		a.bind(name)
		if m, ok := v.(Markup); ok {
			return Markup(fn(string(m)))
		}
		return fn(str(v))
	}
}

// jinjaTitle is Jinja's title filter: the first character of every word
// upper-cased and the rest lower-cased, words starting after spaces,
// hyphens and opening brackets (each run of those being a "word" too).
func jinjaTitle(s string) string {
	var b strings.Builder
	sep := func(r rune) bool { return r == '-' || pySpace(r) || strings.ContainsRune("({[<", r) }
	rs := []rune(s)
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && sep(rs[j]) == sep(rs[i]) {
			j++
		}
		b.WriteString(pyUpper(string(rs[i])))
		b.WriteString(pyLower(string(rs[i+1 : j])))
		i = j
	}
	return b.String()
}

func filterAbs(_ *renderer, v any, a *args) any {
	a.bind("abs")
	switch x := mustDefined(v).(type) {
	case int:
		if x == math.MinInt {
			throwOverflow()
		}
		return absInt(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return math.Abs(x)
	}
	throw("bad operand type for abs(): '%s'", typeName(v))
	return nil
}

func filterAttr(_ *renderer, v any, a *args) any {
	p := a.bind("attr", "name")
	name, ok := mustDefined(orDefault(p[0], None)).(string)
	mustDefined(v)
	if !ok {
		throw("attribute name must be a string")
	}
	if x, ok := attribute(v, name); ok {
		return x
	}
	return &undefined{name: name}
}

func filterBatch(_ *renderer, v any, a *args) any {
	p := a.bind("batch", "linecount", "fill_with")
	n := needInt("batch", orDefault(p[0], None))
	fill := p[1]
	if _, isNone := fill.(none); isNone {
		fill = nil
	}
	var out []any
	var cur []any
	for _, it := range items(v) {
		if len(cur) == n {
			out = append(out, newList(cur))
			cur = nil
		}
		cur = append(cur, it)
	}
	if len(cur) > 0 {
		if fill != nil {
			for len(cur) < n {
				cur = append(cur, fill)
			}
		}
		out = append(out, newList(cur))
	}
	return newIterator("generator", out)
}

func filterCenter(_ *renderer, v any, a *args) any {
	p := a.bind("center", "width")
	width := needInt("center", orDefault(p[0], 80))
	if m, ok := v.(Markup); ok {
		return Markup(pad(string(m), width, " ", '^'))
	}
	return pad(str(v), width, " ", '^')
}

func filterDefault(_ *renderer, v any, a *args) any {
	p := a.bind("default", "default_value", "boolean")
	def := orDefault(p[0], "")
	if _, ok := v.(*undefined); ok {
		return def
	}
	if truth(orDefault(p[1], false)) && !truth(v) {
		return def
	}
	return v
}

// attrGetter is Jinja's make_attrgetter: "a.b.0" looked up with getitem,
// digits as ints, optionally lower-cased.
func attrGetter(attribute any, ignoreCase bool, def any) func(any) any {
	var parts []any
	switch x := attribute.(type) {
	case nil, none:
	case string:
		for _, p := range strings.Split(x, ".") {
			if p != "" && strings.IndexFunc(p, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
				n, err := strconv.Atoi(p)
				if err == nil {
					parts = append(parts, n)
					continue
				}
			}
			parts = append(parts, p)
		}
	default:
		parts = []any{x}
	}
	return func(it any) any {
		for _, p := range parts {
			it = getitem(it, p, str(p))
			if def != nil {
				if _, ok := it.(*undefined); ok {
					it = def
				}
			}
		}
		if ignoreCase {
			it = lowerIfString(it)
		}
		return it
	}
}

func lowerIfString(v any) any {
	switch x := v.(type) {
	case string:
		return pyLower(x)
	case Markup:
		return Markup(pyLower(string(x)))
	}
	return v
}

// multiAttrGetter is make_multi_attrgetter: "a,b" gives [a, b].
func multiAttrGetter(attribute any, ignoreCase bool) func(any) any {
	s, ok := attribute.(string)
	if !ok {
		g := attrGetter(attribute, ignoreCase, nil)
		return func(it any) any { return newList([]any{g(it)}) }
	}
	var getters []func(any) any
	for _, part := range strings.Split(s, ",") {
		getters = append(getters, attrGetter(part, ignoreCase, nil))
	}
	return func(it any) any {
		out := make([]any, len(getters))
		for i, g := range getters {
			out[i] = g(it)
		}
		return newList(out)
	}
}

func filterDictsort(_ *renderer, v any, a *args) any {
	p := a.bind("dictsort", "case_sensitive", "by", "reverse")
	d, ok := mustDefined(v).(*Dict)
	if !ok {
		throw("'%s' object has no attribute 'items'", typeName(v))
	}
	pos := 0
	switch orDefault(p[1], "key") {
	case "key":
	case "value":
		pos = 1
	default:
		throw(`You can only sort by either "key" or "value"`)
	}
	caseSensitive := truth(orDefault(p[0], false))
	pairs := make([]any, len(d.keys))
	keys := make([]any, len(d.keys))
	for i, k := range d.keys {
		pairs[i] = Tuple{k, d.vals[i]}
		kv := k
		if pos == 1 {
			kv = d.vals[i]
		}
		if !caseSensitive {
			kv = lowerIfString(kv)
		}
		keys[i] = kv
	}
	return newList(sortValues(pairs, keys, truth(orDefault(p[2], false))))
}

func filterEscape(_ *renderer, v any, a *args) any {
	a.bind("escape")
	return Markup(escape(v))
}

func filterForceescape(_ *renderer, v any, a *args) any {
	a.bind("forceescape")
	return Markup(escapeString(str(v)))
}

func filterSafe(_ *renderer, v any, a *args) any {
	a.bind("safe")
	return Markup(str(v))
}

func filterFilesizeformat(_ *renderer, v any, a *args) any {
	p := a.bind("filesizeformat", "binary")
	bytes := pyFloat(v)
	binary := truth(orDefault(p[0], false))
	base := 1000.0
	prefixes := []string{"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	if binary {
		base = 1024
		prefixes = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	}
	switch {
	case bytes == 1:
		return "1 Byte"
	case bytes < base:
		if math.IsNaN(bytes) {
			throw("cannot convert float NaN to integer")
		}
		return strconv.Itoa(int(bytes)) + " Bytes"
	}
	var unit float64
	var prefix string
	for i, pf := range prefixes {
		unit, prefix = math.Pow(base, float64(i+2)), pf
		if bytes < unit {
			break
		}
	}
	return formatFloat(base*bytes/unit, 'f', 1, false) + " " + prefix
}

// pyFloat is Python's float() of a number or a string.
func pyFloat(v any) float64 {
	switch x := mustDefined(v).(type) {
	case int:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string, Markup:
		if f, ok := parsePyFloat(str(x)); ok {
			return f
		}
		throw("could not convert string to float: %s", strRepr(str(x)))
	}
	throw("float() argument must be a string or a real number, not '%s'", typeName(v))
	return 0
}

// parsePyFloat parses a string as Python's float() does.
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, pySpace)
	if s == "" {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	// Digits, at most one dot, an exponent; underscores only between digits.
	for i, c := range body {
		switch {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		case c == '_':
			if i == 0 || i == len(body)-1 || !isDigit(body[i-1]) || !isDigit(body[i+1]) {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, false
	}
	return f, true
}

func filterFirst(_ *renderer, v any, a *args) any {
	a.bind("first")
	if it, ok := v.(*iterator); ok {
		if it.pos < len(it.items) {
			it.pos++
			return it.items[it.pos-1]
		}
	} else if list := items(v); len(list) > 0 {
		return list[0]
	}
	return &undefined{hint: "No first item, sequence was empty.", name: "first"}
}

func filterLast(_ *renderer, v any, a *args) any {
	a.bind("last")
	if u, ok := v.(*undefined); ok && u.lenient {
		v = Tuple{} // reversed() walks the plain Undefined as an empty sequence
	}
	switch mustDefined(v).(type) {
	case *iterator:
		throw("'%s' object is not reversible", typeName(v))
	}
	if !iterable(v) {
		throw("'%s' object is not reversible", typeName(v))
	}
	if list := items(v); len(list) > 0 {
		return list[len(list)-1]
	}
	return &undefined{hint: "No last item, sequence was empty.", name: "last"}
}

func filterFloat(_ *renderer, v any, a *args) any {
	p := a.bind("float", "default")
	def := orDefault(p[0], 0.0)
	switch x := v.(type) {
	case int:
		return float64(x)
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	case float64:
		return x
	case string, Markup:
		if f, ok := parsePyFloat(str(x)); ok {
			return f
		}
	case *undefined:
		x.fail()
	}
	return def
}

func filterFormat(_ *renderer, v any, a *args) any {
	if len(a.pos) > 0 && len(a.kw) > 0 {
		throw("can't handle positional and keyword arguments at the same time")
	}
	var arg any = Tuple(a.pos)
	if len(a.kw) > 0 {
		d := NewDict(len(a.kw))
		for _, k := range a.kw {
			d.Set(k.name, k.val)
		}
		arg = d
	}
	if arg == nil {
		arg = Tuple{}
	}
	if m, ok := v.(Markup); ok {
		return Markup(percentFormat(string(m), arg, true))
	}
	return percentFormat(str(v), arg, false)
}

func filterGroupby(_ *renderer, v any, a *args) any {
	p := a.bind("groupby", "attribute", "default", "case_sensitive")
	if p[0] == nil {
		throw("groupby() missing 1 required positional argument: 'attribute'")
	}
	def := p[1]
	if _, isNone := def.(none); isNone {
		def = nil
	}
	caseSensitive := truth(orDefault(p[2], false))
	key := attrGetter(p[0], !caseSensitive, def)
	list := items(v)
	keys := make([]any, len(list))
	for i, it := range list {
		keys[i] = key(it)
	}
	sorted := sortValues(list, keys, false)
	var out []any
	var curKey any
	var cur []any
	flush := func() {
		if cur != nil {
			g := curKey
			if !caseSensitive {
				g = attrGetter(p[0], false, def)(cur[0])
			}
			out = append(out, groupTuple{grouper: g, list: newList(cur)})
		}
	}
	for _, it := range sorted {
		k := key(it)
		if cur != nil && equal(k, curKey) {
			cur = append(cur, it)
			continue
		}
		flush()
		curKey, cur = k, []any{it}
	}
	flush()
	return newList(out)
}

// filterIndent is indent(width=4, first=False, blank=False).
func filterIndent(_ *renderer, v any, a *args) any {
	p := a.bind("indent", "width", "first", "blank")
	var indention string
	switch w := orDefault(p[0], 4).(type) {
	case string:
		indention = w
	case Markup:
		indention = string(w)
	default:
		indention = strings.Repeat(" ", max(needInt("indent", w), 0))
	}
	m, isMarkup := v.(Markup)
	s, isStr := v.(string)
	if isMarkup {
		s, isStr = string(m), true
	}
	if !isStr {
		mustDefined(v)
		throw("unsupported operand type(s) for +: '%s' and 'str'", typeName(v))
	}
	lines := pySplitlines(s+"\n", false)
	var rv string
	if truth(orDefault(p[2], false)) {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		var b strings.Builder
		b.WriteString(lines[0])
		if len(lines) > 1 {
			b.WriteByte('\n')
			for i, l := range lines[1:] {
				if i > 0 {
					b.WriteByte('\n')
				}
				if l != "" {
					b.WriteString(indention)
				}
				b.WriteString(l)
			}
		}
		rv = b.String()
	}
	if truth(orDefault(p[1], false)) {
		rv = indention + rv
	}
	if isMarkup {
		return Markup(rv)
	}
	return rv
}

// filterInt is int(default=0, base=10): Python's int(), then int(float())
// so that "42.23" gives 42, else the default.
func filterInt(_ *renderer, v any, a *args) any {
	p := a.bind("int", "default", "base")
	def := orDefault(p[0], 0)
	switch x := v.(type) {
	case int:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		if math.IsInf(x, 0) {
			throw("cannot convert float infinity to integer")
		}
		if math.IsNaN(x) {
			return def
		}
		return int(x)
	case string, Markup:
		s := str(x)
		base := needInt("int", orDefault(p[1], 10))
		if n, ok := parsePyInt(s, base); ok {
			return n
		}
		if f, ok := parsePyFloat(s); ok {
			if math.IsInf(f, 0) {
				throw("cannot convert float infinity to integer")
			}
			if !math.IsNaN(f) {
				if math.Abs(f) >= 1<<63 {
					throwOverflow()
				}
				return int(f)
			}
		}
	case *undefined:
		x.fail()
	}
	return def
}

// parsePyInt parses a string as Python's int(s, base) does.
func parsePyInt(s string, base int) (int, bool) {
	s = strings.TrimFunc(s, pySpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) > 1 && s[0] == '0' {
		prefix := map[byte]int{'x': 16, 'o': 8, 'b': 2}[s[1]|0x20]
		if prefix != 0 && (base == prefix || base == 0) {
			s = s[2:]
			base = prefix
			if strings.HasPrefix(s, "_") {
				s = s[1:]
			}
		}
	}
	if base == 0 {
		base = 10
		if len(s) > 1 && s[0] == '0' && strings.Trim(s, "0_") != "" {
			return 0, false
		}
	}
	if s == "" || s[0] == '_' || s[0] == '+' || s[0] == '-' || s[len(s)-1] == '_' || strings.Contains(s, "__") || base < 2 || base > 36 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), base, 64)
	if err != nil {
		if strings.Contains(err.Error(), "range") {
			throwOverflow()
		}
		return 0, false
	}
	if neg {
		n = -n
	}
	return int(n), true
}

func filterItems(_ *renderer, v any, a *args) any {
	a.bind("items")
	if _, ok := v.(*undefined); ok {
		return newIterator("generator", nil)
	}
	d, ok := v.(*Dict)
	if !ok {
		throw("Can only get item pairs from a mapping.")
	}
	return newIterator("generator", dictView{d: d, kind: "items"}.items())
}

func filterJoin(_ *renderer, v any, a *args) any {
	p := a.bind("join", "d", "attribute")
	list := items(v)
	if p[1] != nil {
		if _, isNone := p[1].(none); !isNone {
			g := attrGetter(p[1], false, nil)
			mapped := make([]any, len(list))
			for i, it := range list {
				mapped[i] = g(it)
			}
			list = mapped
		}
	}
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = str(x)
	}
	return strings.Join(parts, str(orDefault(p[0], "")))
}

func filterLength(_ *renderer, v any, a *args) any {
	a.bind("length")
	return length(v)
}

func filterList(_ *renderer, v any, a *args) any {
	a.bind("list")
	return newList(append([]any{}, items(v)...))
}

func filterMap(r *renderer, v any, a *args) any {

	if !truth(v) {
		return newIterator("generator", nil)
	}
	var fn func(any) any
	if attr, ok := a.kwarg("attribute"); ok && len(a.pos) == 0 {
		def, _ := a.kwarg("default")
		for _, k := range a.kw {
			if k.name != "attribute" && k.name != "default" {
				throw("Unexpected keyword argument %s", strRepr(k.name))
			}
		}
		if _, isNone := def.(none); isNone {
			def = nil
		}
		fn = attrGetter(attr, false, def)
	} else {
		if len(a.pos) == 0 {
			throw("map requires a filter argument")
		}
		name, ok := mustDefined(a.pos[0]).(string)
		f, known := filters[name]
		if !ok || !known {
			throw("No filter named %s.", repr(a.pos[0]))
		}
		rest := &args{pos: a.pos[1:], kw: a.kw}
		fn = func(it any) any { return f(r, it, rest) }
	}
	list := items(v)
	out := make([]any, len(list))
	for i, it := range list {
		out[i] = fn(it)
	}
	return newIterator("generator", out)
}

func minMax(_ *renderer, name string, v any, a *args, want int) any {
	p := a.bind(name, "case_sensitive", "attribute")
	list := items(v)
	if len(list) == 0 {
		return &undefined{hint: "No aggregated item, sequence was empty.", name: name}
	}
	key := attrGetter(p[1], !truth(orDefault(p[0], false)), nil)
	best, bestKey := list[0], key(list[0])
	for _, it := range list[1:] {
		k := key(it)
		c, ok := order(k, bestKey)
		if !ok {
			throw("'%s' not supported between instances of '%s' and '%s'", map[int]string{1: ">", -1: "<"}[want], typeName(k), typeName(bestKey))
		}
		if c == want {
			best, bestKey = it, k
		}
	}
	return best
}

func filterPprint(_ *renderer, v any, a *args) any {
	a.bind("pprint")
	return pformat(v)
}

func filterRandom(_ *renderer, v any, a *args) any {
	a.bind("random")
	list := items(v)
	if len(list) == 0 {
		return &undefined{hint: "No random item, sequence was empty.", name: "random"}
	}
	return list[rand.IntN(len(list))]
}

func filterReplace(_ *renderer, v any, a *args) any {
	p := a.bind("replace", "old", "new", "count")
	if p[0] == nil || p[1] == nil {
		throw("do_replace() missing required arguments 'old' and 'new'")
	}
	count := -1
	if p[2] != nil {
		if _, isNone := p[2].(none); !isNone {
			count = needInt("replace", p[2])
		}
	}
	return strings.Replace(str(v), str(p[0]), str(p[1]), count)
}

func filterReverse(_ *renderer, v any, a *args) any {
	a.bind("reverse")
	if u, ok := v.(*undefined); ok && u.lenient {
		return newList(nil) // reversed() fails, list() of it is empty
	}
	switch x := mustDefined(v).(type) {
	case string:
		return reverseString(x)
	case Markup:
		return Markup(reverseString(string(x)))
	case *iterator:
		list := x.drain()
		out := make([]any, len(list))
		for i, it := range list {
			out[len(list)-1-i] = it
		}
		return newList(out)
	}
	if !iterable(v) {
		throw("argument must be iterable")
	}
	list := items(v)
	out := make([]any, len(list))
	for i, it := range list {
		out[len(list)-1-i] = it
	}
	kind := map[string]string{"list": "list_reverseiterator", "tuple": "reversed", "range": "range_iterator", "dict": "dict_reversekeyiterator"}[typeName(v)]
	if kind == "" {
		kind = "reversed"
	}
	return newIterator(kind, out)
}

func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// filterRound is round(precision=0, method='common'): Python's round
// (half to even on the exact binary value), or ceil/floor.
func filterRound(_ *renderer, v any, a *args) any {
	p := a.bind("round", "precision", "method")
	prec := needInt("round", orDefault(p[0], 0))
	method := orDefault(p[1], "common")
	if method != "common" && method != "ceil" && method != "floor" {
		throw("method must be common, ceil or floor")
	}
	f, n, isInt, ok := toNumber(mustDefined(v))
	if !ok {
		throw("type %s doesn't define __round__ method", typeName(v))
	}
	if method != "common" {
		scale := math.Pow(10, float64(prec))
		x := f * scale
		if math.IsInf(x, 0) || math.IsNaN(x) {
			throw("cannot convert float %s to integer", floatRepr(x))
		}
		if method == "ceil" {
			x = math.Ceil(x)
		} else {
			x = math.Floor(x)
		}
		if x == 0 {
			x = 0 // Python's ceil and floor return ints: no negative zero
		}
		return x / scale
	}
	if isInt {
		if prec >= 0 {
			return n
		}
		pow := 1
		for i := 0; i < -prec && pow < 1<<60; i++ {
			pow *= 10
		}
		q, rem := n/pow, n%pow
		if rem < 0 {
			q, rem = q-1, rem+pow
		}
		if 2*rem > pow || 2*rem == pow && q%2 != 0 {
			q++
		}
		return q * pow
	}
	return pyRound(f, prec)
}

func pyRound(f float64, prec int) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return f
	}
	if prec > 300 {
		return f
	}
	if prec >= 0 {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', prec, 64), 64)
		return r
	}
	scale := math.Pow(10, float64(-prec))
	y := f / scale
	r := math.RoundToEven(y)
	if math.Abs(y-math.Trunc(y)) != 0.5 {
		r = math.Round(y)
	}
	return r * scale
}

// selectOrReject implements select, reject, selectattr and rejectattr.
func selectOrReject(_ *renderer, name string, v any, a *args, keep, byAttr bool) any {

	if !truth(v) {
		return newIterator("generator", nil)
	}
	pos := a.pos
	get := func(it any) any { return it }
	if byAttr {
		if len(pos) == 0 {
			throw("Missing parameter for attribute name")
		}
		get = attrGetter(pos[0], false, nil)
		pos = pos[1:]
	}
	test := func(it any) bool { return truth(it) }
	if len(pos) > 0 {
		tname, ok := mustDefined(pos[0]).(string)
		fn, known := tests[tname]
		if !ok || !known {
			throw("No test named %s.", repr(pos[0]))
		}
		rest := &args{pos: pos[1:], kw: a.kw}
		test = func(it any) bool { return fn(nil, it, rest) }
	}
	var out []any
	for _, it := range items(v) {
		if test(get(it)) == keep {
			out = append(out, it)
		}
	}
	return newIterator("generator", out)
}

func filterSlice(_ *renderer, v any, a *args) any {
	p := a.bind("slice", "slices", "fill_with")
	slices := needInt("slice", orDefault(p[0], None))
	fill := p[1]
	if _, isNone := fill.(none); isNone {
		fill = nil
	}
	seq := items(v)
	n := len(seq)
	if slices <= 0 {
		if slices == 0 {
			throw("integer division or modulo by zero")
		}
		return newIterator("generator", nil)
	}
	per, extra := n/slices, n%slices
	offset := 0
	var out []any
	for i := 0; i < slices; i++ {
		start := offset + i*per
		if i < extra {
			offset++
		}
		end := offset + (i+1)*per
		tmp := append([]any{}, seq[start:end]...)
		if fill != nil && i >= extra {
			tmp = append(tmp, fill)
		}
		out = append(out, newList(tmp))
	}
	return newIterator("generator", out)
}

func filterSort(_ *renderer, v any, a *args) any {
	p := a.bind("sort", "reverse", "case_sensitive", "attribute")
	list := items(v)
	key := multiAttrGetter(p[2], !truth(orDefault(p[1], false)))
	if p[2] == nil {
		key = func(it any) any {
			if !truth(orDefault(p[1], false)) {
				return newList([]any{lowerIfString(it)})
			}
			return newList([]any{it})
		}
	}
	keys := make([]any, len(list))
	for i, it := range list {
		keys[i] = key(it)
	}
	return newList(sortValues(list, keys, truth(orDefault(p[0], false))))
}

func filterString(_ *renderer, v any, a *args) any {
	a.bind("string")
	return softStr(v)
}

var (
	stripComments = regexp.MustCompile(`(?s)<!--.*?-->`)
	stripTags     = regexp.MustCompile(`(?s)<.*?>`)
)

func filterStriptags(_ *renderer, v any, a *args) any {
	a.bind("striptags")
	s := stripTags.ReplaceAllString(stripComments.ReplaceAllString(str(v), ""), "")
	return html.UnescapeString(strings.Join(strings.FieldsFunc(s, pySpace), " "))
}

func filterSum(_ *renderer, v any, a *args) any {
	p := a.bind("sum", "attribute", "start")
	list := items(v)
	if p[0] != nil {
		if _, isNone := p[0].(none); !isNone {
			g := attrGetter(p[0], false, nil)
			mapped := make([]any, len(list))
			for i, it := range list {
				mapped[i] = g(it)
			}
			list = mapped
		}
	}
	total := orDefault(p[1], 0)
	if isString(total) {
		throw("sum() can't sum strings [use ''.join(seq) instead]")
	}
	for _, x := range list {
		total = add(total, x)
	}
	return total
}

func filterTrim(_ *renderer, v any, a *args) any {
	p := a.bind("trim", "chars")
	chars, has := optStr("strip", p[0])
	if m, ok := v.(Markup); ok {
		return Markup(pyStrip(string(m), chars, has, true, true))
	}
	return pyStrip(str(v), chars, has, true, true)
}

func filterTruncate(_ *renderer, v any, a *args) any {
	p := a.bind("truncate", "length", "killwords", "end", "leeway")
	n := needInt("truncate", orDefault(p[0], 255))
	end := orDefault(p[2], "...")
	leeway := 5
	if p[3] != nil {
		if _, isNone := p[3].(none); !isNone {
			leeway = needInt("truncate", p[3])
		}
	}
	if n < length(end) {
		throw("expected length >= %d, got %d", length(end), n)
	}
	if leeway < 0 {
		throw("expected leeway >= 0, got %d", leeway)
	}
	if length(v) <= n+leeway {
		return v
	}
	cut, _ := slice(v, &sliceVal{start: None, stop: n - length(end), step: None})
	if !truth(orDefault(p[1], false)) {
		parts := pyRsplit(str(cut), " ", true, 1)
		head := parts[0].(string)
		if _, ok := cut.(Markup); ok {
			cut = Markup(head)
		} else {
			cut = head
		}
	}
	return add(cut, end)
}

func filterUnique(_ *renderer, v any, a *args) any {
	p := a.bind("unique", "case_sensitive", "attribute")
	key := attrGetter(p[1], !truth(orDefault(p[0], false)), nil)
	seen := NewDict(0)
	var out []any
	for _, it := range items(v) {
		k := key(it)
		if _, ok := hashKey(mustDefined(k)); !ok {
			throw("unhashable type: '%s'", typeName(k))
		}
		if _, dup := seen.Get(k); !dup {
			seen.Set(k, true)
			out = append(out, it)
		}
	}
	return newIterator("generator", out)
}

// urlQuote is urllib's quote: unreserved characters and safe stay.
func urlQuote(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

func quoteValue(v any, forQS bool) string {
	safe := "/"
	if forQS {
		safe = ""
	}
	q := urlQuote(str(v), safe)
	if forQS {
		q = strings.ReplaceAll(q, "%20", "+")
	}
	return q
}

func filterURLEncode(_ *renderer, v any, a *args) any {
	a.bind("urlencode")
	var pairs []any
	if u, ok := v.(*undefined); ok && u.lenient {
		return ""
	}
	switch x := mustDefined(v).(type) {
	case string, Markup:
		return quoteValue(x, false)
	case *Dict:
		pairs = dictView{d: x, kind: "items"}.items()
	default:
		if !iterable(v) {
			return quoteValue(x, false)
		}
		pairs = items(v)
	}
	parts := make([]string, len(pairs))
	for i, pair := range pairs {
		kv := items(pair)
		if len(kv) != 2 {
			throw("not enough values to unpack (expected 2, got %d)", len(kv))
		}
		parts[i] = quoteValue(kv[0], true) + "=" + quoteValue(kv[1], true)
	}
	return strings.Join(parts, "&")
}

func filterWordcount(_ *renderer, v any, a *args) any {
	a.bind("wordcount")
	n := 0
	inWord := false
	for _, r := range str(v) {
		w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r)
		if w && !inWord {
			n++
		}
		inWord = w
	}
	return n
}

var attrKeyInvalid = regexp.MustCompile(`[\t\n\v\f\r /=>]`)

func filterXMLAttr(_ *renderer, v any, a *args) any {
	p := a.bind("xmlattr", "autospace")
	d, ok := mustDefined(v).(*Dict)
	if !ok {
		throw("'%s' object has no attribute 'items'", typeName(v))
	}
	var parts []string
	for i, k := range d.keys {
		val := d.vals[i]
		switch val.(type) {
		case none, *undefined:
			continue
		}
		ks, ok := k.(string)
		if !ok {
			throw("expected string or bytes-like object, got '%s'", typeName(k))
		}
		if attrKeyInvalid.MatchString(ks) {
			throw("Invalid character in attribute name: %s", repr(k))
		}
		parts = append(parts, escape(k)+`="`+escape(val)+`"`)
	}
	rv := strings.Join(parts, " ")
	if truth(orDefault(p[0], true)) && rv != "" {
		rv = " " + rv
	}
	return rv
}
