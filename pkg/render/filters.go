package render

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Filters, tests and string/dict methods, with Jinja's (and Python's)
// semantics. Each takes Python-model values and returns a value or a failure.

type filterFunc func(v any, pos []any, kw map[string]any) any

var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"default": filterDefault, "d": filterDefault,
		"tojson": filterToJSON,
		"lower":  strFilter(strings.ToLower),
		"upper":  strFilter(strings.ToUpper),
		"trim":   filterTrim,
		"capitalize": strFilter(func(s string) string {
			if s == "" {
				return s
			}
			r := []rune(strings.ToLower(s))
			r[0] = unicode.ToUpper(r[0])
			return string(r)
		}),
		"title":   strFilter(pyTitle),
		"replace": filterReplace,
		"join":    filterJoin,
		"length":  filterLength, "count": filterLength,
		"int":     filterInt,
		"float":   filterFloat,
		"string":  func(v any, _ []any, _ map[string]any) any { return str(v) },
		"indent":  filterIndent,
		"list":    filterList,
		"sort":    filterSort,
		"unique":  filterUnique,
		"first":   filterFirst,
		"last":    filterLast,
		"reverse": filterReverse,
		"abs": func(v any, _ []any, _ map[string]any) any {
			f, isInt, ok := toNumber(v)
			if !ok {
				return failf("abs() needs a number, not %s", typeName(v))
			}
			return number(math.Abs(f), isInt)
		},
	}
}

func knownFilter(name string) bool { _, ok := filters[name]; return ok }

func filterNames() []string { return sortedNames(filters) }

// sortedNames lists a registry's names, for error messages.
func sortedNames[V any](registry map[string]V) []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func applyFilter(name string, v any, args []any) any {
	if name != "default" && name != "d" {
		if f, bad := firstFailure(v); bad {
			return f
		}
	}
	if f, bad := firstFailure(args...); bad {
		return f
	}
	pos, kw := splitArgs(args)
	for i, a := range kw {
		if f, bad := firstFailure(a); bad {
			_ = i
			return f
		}
	}
	return filters[name](v, pos, kw)
}

func strFilter(fn func(string) string) filterFunc {
	return func(v any, _ []any, _ map[string]any) any { return fn(str(v)) }
}

func filterDefault(v any, pos []any, kw map[string]any) any {
	def := param(pos, kw, 0, "default_value", "")
	boolean := truth(param(pos, kw, 1, "boolean", false))
	if f, ok := v.(failure); ok {
		return f
	}
	if _, ok := v.(undefined); ok {
		return def
	}
	if boolean && !truth(v) {
		return def
	}
	return v
}

func filterTrim(v any, pos []any, kw map[string]any) any {
	chars := param(pos, kw, 0, "chars", none{})
	if c, ok := chars.(string); ok {
		return strings.Trim(str(v), c)
	}
	return strings.TrimFunc(str(v), unicode.IsSpace)
}

func filterReplace(v any, pos []any, kw map[string]any) any {
	if len(pos) < 2 {
		return failf("replace needs two arguments: replace(old, new)")
	}
	count := -1
	if c, ok := param(pos, kw, 2, "count", none{}).(int); ok {
		count = c
	}
	return strings.Replace(str(v), str(pos[0]), str(pos[1]), count)
}

func filterJoin(v any, pos []any, kw map[string]any) any {
	list, ok := asList(v)
	if !ok {
		return failf("join needs a list, not %s", typeName(v))
	}
	sep := str(param(pos, kw, 0, "d", ""))
	attr, hasAttr := param(pos, kw, 1, "attribute", none{}).(string)
	parts := make([]string, len(list))
	for i, x := range list {
		if hasAttr {
			x = getattr(x, attr, attr)
			if f, bad := firstFailure(x); bad {
				return f
			}
		}
		parts[i] = str(x)
	}
	return strings.Join(parts, sep)
}

func filterLength(v any, _ []any, _ map[string]any) any {
	switch x := v.(type) {
	case string:
		return len([]rune(x))
	case []any:
		return len(x)
	case []string:
		return len(x)
	}
	if m, ok := asMap(v); ok {
		return len(m)
	}
	return failf("object of type '%s' has no len()", typeName(v))
}

func filterInt(v any, pos []any, kw map[string]any) any {
	def := param(pos, kw, 0, "default", 0)
	base := 10
	if b, ok := param(pos, kw, 1, "base", 10).(int); ok {
		base = b
	}
	switch x := v.(type) {
	case int:
		return x
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return int(x)
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		if n, err := strconv.ParseInt(s, base, 64); err == nil {
			return int(n)
		}
		if base == 10 {
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return int(f)
			}
		}
	}
	return def
}

func filterFloat(v any, pos []any, kw map[string]any) any {
	def := param(pos, kw, 0, "default", 0.0)
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f
		}
	}
	return def
}

// filterIndent is Jinja 3's indent(width=4, first=False, blank=False).
func filterIndent(v any, pos []any, kw map[string]any) any {
	width := param(pos, kw, 0, "width", 4)
	var indention string
	switch w := width.(type) {
	case int:
		indention = strings.Repeat(" ", max(w, 0))
	case string:
		indention = w
	default:
		return failf("indent width must be a number or a string")
	}
	first := truth(param(pos, kw, 1, "first", false))
	blank := truth(param(pos, kw, 2, "blank", false))
	s := str(v) + "\n"
	lines := pySplitlines(s)
	var rv string
	if blank {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		rv = lines[0]
		rest := lines[1:]
		if len(rest) > 0 {
			out := make([]string, len(rest))
			for i, l := range rest {
				if l != "" {
					l = indention + l
				}
				out[i] = l
			}
			rv += "\n" + strings.Join(out, "\n")
		}
	}
	if first {
		rv = indention + rv
	}
	return rv
}

// pySplitlines is str.splitlines() for \n, \r\n and \r.
func pySplitlines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
			continue
		}
		prevLetter = false
		b.WriteRune(r)
	}
	return b.String()
}

func filterList(v any, _ []any, _ map[string]any) any {
	list, ok := asList(v)
	if !ok {
		return failf("'%s' object is not iterable", typeName(v))
	}
	return append([]any{}, list...)
}

func filterSort(v any, pos []any, kw map[string]any) any {
	list, ok := asList(v)
	if !ok {
		return failf("'%s' object is not iterable", typeName(v))
	}
	out := append([]any{}, list...)
	reverse := truth(param(pos, kw, 0, "reverse", false))
	caseSensitive := truth(param(pos, kw, 1, "case_sensitive", false))
	key := func(x any) any {
		if s, ok := x.(string); ok && !caseSensitive {
			return strings.ToLower(s)
		}
		return x
	}
	var failed *failure
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if reverse {
			a, b = b, a
		}
		r := binary("<", a, b)
		if f, ok := r.(failure); ok {
			failed = &f
			return false
		}
		return r.(bool)
	})
	if failed != nil {
		return *failed
	}
	return out
}

func filterUnique(v any, _ []any, _ map[string]any) any {
	list, ok := asList(v)
	if !ok {
		return failf("'%s' object is not iterable", typeName(v))
	}
	out := []any{}
	seen := map[string]bool{}
	for _, x := range list {
		k := repr(x)
		if s, ok := x.(string); ok {
			k = "s" + strings.ToLower(s)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

func filterFirst(v any, _ []any, _ map[string]any) any {
	list, ok := asList(v)
	if !ok || len(list) == 0 {
		return undefined{path: "first item"}
	}
	return list[0]
}

func filterLast(v any, _ []any, _ map[string]any) any {
	list, ok := asList(v)
	if !ok || len(list) == 0 {
		return undefined{path: "last item"}
	}
	return list[len(list)-1]
}

func filterReverse(v any, _ []any, _ map[string]any) any {
	if s, ok := v.(string); ok {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r)
	}
	list, ok := asList(v)
	if !ok {
		return failf("'%s' object is not reversible", typeName(v))
	}
	out := make([]any, len(list))
	for i, x := range list {
		out[len(list)-1-i] = x
	}
	return out
}

// filterToJSON is Jinja's htmlsafe_json_dumps: json.dumps with sorted keys
// and Python's separators and ASCII escaping, then <>&' escaped.
func filterToJSON(v any, pos []any, kw map[string]any) any {
	var b strings.Builder
	indent, _ := param(pos, kw, 0, "indent", none{}).(int)
	if f := writeJSON(&b, v, indent, 0); f != nil {
		return *f
	}
	return b.String()
}

func writeJSON(b *strings.Builder, v any, indent, level int) *failure {
	newline := func(l int) {
		if indent > 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent*l))
		}
	}
	itemSep := ", "
	if indent > 0 {
		itemSep = ","
	}
	switch x := v.(type) {
	case nil, none:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(floatRepr(x))
		}
	case string:
		writeJSONString(b, x)
	default:
		if list, ok := v.([]any); ok {
			if len(list) == 0 {
				b.WriteString("[]")
				return nil
			}
			b.WriteByte('[')
			for i, e := range list {
				if i > 0 {
					b.WriteString(itemSep)
				}
				newline(level + 1)
				if f := writeJSON(b, e, indent, level+1); f != nil {
					return f
				}
			}
			newline(level)
			b.WriteByte(']')
			return nil
		}
		if list, ok := v.([]string); ok {
			items := make([]any, len(list))
			for i, s := range list {
				items[i] = s
			}
			return writeJSON(b, items, indent, level)
		}
		if m, ok := asMap(v); ok {
			if len(m) == 0 {
				b.WriteString("{}")
				return nil
			}
			b.WriteByte('{')
			for i, k := range sortedKeys(m) {
				if i > 0 {
					b.WriteString(itemSep)
				}
				newline(level + 1)
				writeJSONString(b, k)
				b.WriteString(": ")
				if f := writeJSON(b, m[k], indent, level+1); f != nil {
					return f
				}
			}
			newline(level)
			b.WriteByte('}')
			return nil
		}
		f := failf("Object of type %s is not JSON serializable", typeName(v))
		return &f
	}
	return nil
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '<', '>', '&', '\'':
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			switch {
			case r < 0x20 || r >= 0x7f && r < 0x10000:
				if r < 0x7f {
					fmt.Fprintf(b, `\u%04x`, r)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

var _ = json.Valid

// --- tests ---

type testFunc func(v any, args []any) any

var tests map[string]testFunc

func init() {
	isType := func(pred func(any) bool) testFunc { return func(v any, _ []any) any { return pred(v) } }
	tests = map[string]testFunc{
		"defined":   nil, // handled before undefined values fail
		"undefined": nil,
		"none":      isType(func(v any) bool { _, ok := v.(none); return ok }),
		"string":    isType(func(v any) bool { _, ok := v.(string); return ok }),
		"number": isType(func(v any) bool {
			switch v.(type) {
			case int, float64:
				return true
			}
			return false
		}),
		"integer":  isType(func(v any) bool { _, ok := v.(int); return ok }),
		"float":    isType(func(v any) bool { _, ok := v.(float64); return ok }),
		"boolean":  isType(func(v any) bool { _, ok := v.(bool); return ok }),
		"true":     isType(func(v any) bool { b, ok := v.(bool); return ok && b }),
		"false":    isType(func(v any) bool { b, ok := v.(bool); return ok && !b }),
		"mapping":  isType(func(v any) bool { _, ok := asMap(v); return ok }),
		"sequence": isType(func(v any) bool { _, ok := asList(v); return ok }),
		"iterable": isType(func(v any) bool { _, ok := asList(v); return ok }),
		"lower":    isType(func(v any) bool { s := str(v); return s == strings.ToLower(s) }),
		"upper":    isType(func(v any) bool { s := str(v); return s == strings.ToUpper(s) }),
		"even": func(v any, _ []any) any {
			n, ok := v.(int)
			return ok && n%2 == 0
		},
		"odd": func(v any, _ []any) any {
			n, ok := v.(int)
			return ok && n%2 != 0
		},
		"divisibleby": func(v any, args []any) any {
			if len(args) != 1 {
				return failf("divisibleby needs one argument")
			}
			return binary("==", binary("%", v, args[0]), 0)
		},
		"eq": testCompare("=="), "equalto": testCompare("=="), "==": testCompare("=="),
		"ne": testCompare("!="), "!=": testCompare("!="),
		"lt": testCompare("<"), "le": testCompare("<="), "gt": testCompare(">"), "ge": testCompare(">="),
		"in": func(v any, args []any) any {
			if len(args) != 1 {
				return failf("in needs one argument")
			}
			return binary("in", v, args[0])
		},
	}
}

func testCompare(op string) testFunc {
	return func(v any, args []any) any {
		if len(args) != 1 {
			return failf("test needs one argument")
		}
		return binary(op, v, args[0])
	}
}

func knownTest(name string) bool { _, ok := tests[name]; return ok }

func testNames() []string { return sortedNames(tests) }

func applyTest(name string, v any, args []any) any {
	switch name {
	case "defined", "undefined":
		if f, ok := v.(failure); ok {
			return f
		}
		_, undef := v.(undefined)
		return undef == (name == "undefined")
	}
	if f, bad := firstFailure(append([]any{v}, args...)...); bad {
		return f
	}
	return tests[name](v, args)
}

// --- methods ---

func callMethod(obj any, name string, args []any) any {
	if f, bad := firstFailure(append([]any{obj}, args...)...); bad {
		return f
	}
	pos, kw := splitArgs(args)
	if s, ok := obj.(string); ok {
		return stringMethod(s, name, pos, kw)
	}
	if _, ok := asMap(obj); ok {
		return dictMethod(obj, name, pos)
	}
	return failf("'%s' object has no method %s()", typeName(obj), name)
}

func stringMethod(s, name string, pos []any, kw map[string]any) any {
	argStr := func(i int, pname string) (string, bool) {
		v, ok := param(pos, kw, i, pname, none{}).(string)
		return v, ok
	}
	switch name {
	case "lower":
		return strings.ToLower(s)
	case "upper":
		return strings.ToUpper(s)
	case "title":
		return pyTitle(s)
	case "capitalize":
		return applyFilter("capitalize", s, nil)
	case "strip", "lstrip", "rstrip":
		chars, has := argStr(0, "chars")
		trim := map[string]func(string, string) string{"strip": strings.Trim, "lstrip": strings.TrimLeft, "rstrip": strings.TrimRight}[name]
		if has {
			return trim(s, chars)
		}
		switch name {
		case "strip":
			return strings.TrimFunc(s, unicode.IsSpace)
		case "lstrip":
			return strings.TrimLeftFunc(s, unicode.IsSpace)
		}
		return strings.TrimRightFunc(s, unicode.IsSpace)
	case "split", "rsplit":
		maxsplit := -1
		if m, ok := param(pos, kw, 1, "maxsplit", -1).(int); ok {
			maxsplit = m
		}
		sep, has := argStr(0, "sep")
		var parts []string
		switch {
		case !has:
			parts = strings.Fields(s)
			if maxsplit >= 0 && len(parts) > maxsplit+1 {
				// Python keeps the rest unsplit; rebuild it from the original.
				rest := s
				parts = parts[:0]
				for i := 0; i < maxsplit; i++ {
					rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
					j := strings.IndexFunc(rest, unicode.IsSpace)
					parts = append(parts, rest[:j])
					rest = rest[j:]
				}
				parts = append(parts, strings.TrimLeftFunc(rest, unicode.IsSpace))
			}
		case sep == "":
			return failf("empty separator")
		case name == "rsplit" && maxsplit >= 0:
			all := strings.Split(s, sep)
			if len(all) > maxsplit+1 {
				head := strings.Join(all[:len(all)-maxsplit], sep)
				parts = append([]string{head}, all[len(all)-maxsplit:]...)
			} else {
				parts = all
			}
		default:
			parts = strings.SplitN(s, sep, maxsplit+1)
			if maxsplit < 0 {
				parts = strings.Split(s, sep)
			}
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out
	case "startswith", "endswith":
		if len(pos) == 0 {
			return failf("%s() needs an argument", name)
		}
		check := strings.HasPrefix
		if name == "endswith" {
			check = strings.HasSuffix
		}
		candidates, isList := pos[0].([]any)
		if !isList {
			candidates = []any{pos[0]}
		}
		for _, c := range candidates {
			cs, ok := c.(string)
			if !ok {
				return failf("%s() needs a string or a tuple of strings", name)
			}
			if check(s, cs) {
				return true
			}
		}
		return false
	case "replace":
		if len(pos) < 2 {
			return failf("replace() needs two arguments")
		}
		count := -1
		if len(pos) > 2 {
			if c, ok := pos[2].(int); ok {
				count = c
			}
		}
		return strings.Replace(s, str(pos[0]), str(pos[1]), count)
	case "join":
		if len(pos) != 1 {
			return failf("join() needs one argument")
		}
		return filterJoin(pos[0], []any{s}, nil)
	case "count":
		if len(pos) < 1 {
			return failf("count() needs an argument")
		}
		return strings.Count(s, str(pos[0]))
	case "find":
		if len(pos) < 1 {
			return failf("find() needs an argument")
		}
		i := strings.Index(s, str(pos[0]))
		if i < 0 {
			return -1
		}
		return len([]rune(s[:i]))
	case "isdigit":
		return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
	case "format":
		return failf("str.format() is not supported; use ~ or the format filter")
	}
	return failf("'str' object has no method %s() (supported: lower, upper, title, capitalize, strip, lstrip, rstrip, split, rsplit, startswith, endswith, replace, join, count, find, isdigit)", name)
}

func dictMethod(obj any, name string, pos []any) any {
	m, _ := asMap(obj)
	keys := sortedKeys(m)
	switch name {
	case "keys":
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out
	case "values":
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = m[k]
		}
		return out
	case "items":
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = []any{k, m[k]}
		}
		return out
	case "get":
		if len(pos) < 1 {
			return failf("get() needs a key")
		}
		if v, ok := m[str(pos[0])]; ok {
			return v
		}
		if len(pos) > 1 {
			return pos[1]
		}
		return none{}
	}
	return failf("'dict' object has no method %s() (supported: keys, values, items, get)", name)
}
