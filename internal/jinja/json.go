package jinja

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// filterToJSON is Jinja's htmlsafe_json_dumps: Python's json.dumps with
// sorted keys (ASCII-escaped, ", " and ": " separators, or "," and ": "
// with an indent), then <, >, & and ' escaped; the result is Markup.
func filterToJSON(_ *renderer, v any, a *args) any {
	p := a.bind("tojson", "indent")
	indent := -1
	if p[0] != nil {
		switch x := p[0].(type) {
		case none:
		case string:
			throw("tojson(indent=…) with a string is not supported")
		default:
			indent = needInt("tojson", x)
		}
	}
	var b strings.Builder
	writeJSON(&b, v, indent, 0)
	return Markup(b.String())
}

func writeJSON(b *strings.Builder, v any, indent, level int) {
	newline := func(l int) {
		if indent >= 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent*l))
		}
	}
	itemSep := ", "
	if indent >= 0 {
		itemSep = ","
	}
	writeSeq := func(list []any) {
		if len(list) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range list {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			writeJSON(b, e, indent, level+1)
		}
		newline(level)
		b.WriteByte(']')
	}
	switch x := v.(type) {
	case none:
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
		b.WriteString(jsonFloat(x))
	case string:
		writeJSONString(b, x)
	case Markup:
		writeJSONString(b, string(x))
	case *List:
		writeSeq(x.Items)
	case Tuple:
		writeSeq(x)
	case groupTuple:
		writeSeq([]any{x.grouper, x.list})
	case *Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return
		}
		idx := make([]int, x.Len())
		for i := range idx {
			idx[i] = i
		}
		keys := make([]any, len(x.keys))
		copy(keys, x.keys)
		sorted := sortValues(anyInts(idx), keys, false)
		b.WriteByte('{')
		for n, si := range sorted {
			i := si.(int)
			if n > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			writeJSONString(b, jsonKey(x.keys[i]))
			b.WriteString(": ")
			writeJSON(b, x.vals[i], indent, level+1)
		}
		newline(level)
		b.WriteByte('}')
	case *undefined:
		x.fail()
	default:
		throw("Object of type %s is not JSON serializable", typeName(v))
	}
}

func anyInts(xs []int) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func jsonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return floatRepr(f)
}

// jsonKey converts a dict key as json.dumps does.
func jsonKey(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case Markup:
		return string(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int:
		return strconv.Itoa(x)
	case float64:
		return jsonFloat(x)
	case none:
		return "null"
	}
	throw("keys must be str, int, float, bool or None, not %s", typeName(k))
	return ""
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
				fmt.Fprintf(b, `\u%04x`, r)
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
