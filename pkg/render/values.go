package render

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Values inside templates follow Python's model: str (string), int (int),
// float (float64), bool, None (none), list ([]any), dict (map[string]any or
// map[string]string). Two more values exist only inside the translator's
// runtime: undefined (a name that resolved to nothing; any use other than
// `is defined` and `default` is an error, as with Jinja's StrictUndefined)
// and failure (an error travelling up to the tag that reports it with its
// line).

type none struct{}

type undefined struct{ path string }

type failure struct{ msg string }

type kwarg struct {
	name string
	val  any
}

func failf(format string, args ...any) failure { return failure{msg: fmt.Sprintf(format, args...)} }

func undefinedFailure(u undefined) failure {
	return failf("undefined variable %s (use `default(…)` or `is defined` where it may be missing)", u.path)
}

// usable returns the failure that stops v from being used as a value.
func usable(v any) (failure, bool) {
	switch x := v.(type) {
	case failure:
		return x, false
	case undefined:
		return undefinedFailure(x), false
	}
	return failure{}, true
}

// str is Python's str().
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return floatRepr(x)
	case none, nil:
		return "None"
	}
	return repr(v)
}

// repr is Python's repr().
func repr(v any) string {
	switch x := v.(type) {
	case string:
		return strRepr(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = repr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if m, ok := asMap(v); ok {
		keys := sortedKeys(m)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strRepr(k) + ": " + repr(m[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if _, ok := v.(string); !ok {
		switch v.(type) {
		case bool, int, float64, none, nil:
			return str(v)
		}
	}
	return fmt.Sprint(v)
}

func strRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
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
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
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
		if len(exp) < 2 {
			exp = fmt.Sprintf("%02s", exp)
			exp = strings.ReplaceAll(exp, " ", "0")
		}
		return mant + "e" + string(sign) + exp
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

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
	case none, nil:
		return false
	case []any:
		return len(x) > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		return rv.Len() > 0
	}
	return true
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[string]string:
		out := make(map[string]any, len(m))
		for k, s := range m {
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

// lookup finds key in a dict without copying it.
func lookup(v any, key string) (any, bool, bool) {
	switch m := v.(type) {
	case map[string]any:
		x, ok := m[key]
		return x, ok, true
	case map[string]string:
		x, ok := m[key]
		return x, ok, true
	}
	return nil, false, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// asList converts any iterable to a list: lists as they are, dicts to
// their sorted keys, strings to their characters.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	}
	if m, ok := asMap(v); ok {
		keys := sortedKeys(m)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, true
	}
	return nil, false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case none, nil:
		return "NoneType"
	case []any, []string:
		return "list"
	case map[string]any, map[string]string:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

func toNumber(v any) (float64, bool, bool) { // value, isInt, ok
	switch x := v.(type) {
	case int:
		return float64(x), true, true
	case bool:
		if x {
			return 1, true, true
		}
		return 0, true, true
	case float64:
		return x, false, true
	}
	return 0, false, false
}

func equal(a, b any) bool {
	if fa, _, ok := toNumber(a); ok {
		if fb, _, ok := toNumber(b); ok {
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case none, nil:
		switch b.(type) {
		case none, nil:
			return true
		}
		return false
	}
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !equal(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
