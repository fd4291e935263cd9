package jinja

import (
	"regexp"
	"sort"
	"strings"
)

// pformat is Python's pprint.pformat(v) (width 80, dicts sorted by key)
// for the values templates hold.
func pformat(v any) string {
	var b strings.Builder
	pp := &pprinter{width: 80}
	pp.format(&b, v, 0, 0, 1)
	return b.String()
}

type pprinter struct{ width int }

// safeRepr is repr with dicts sorted by key, as pprint's _safe_repr.
func safeRepr(v any) string {
	switch x := v.(type) {
	case *Dict:
		keys := sortedKeysSafe(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			val, _ := x.Get(k)
			parts[i] = safeRepr(k) + ": " + safeRepr(val)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *List:
		return "[" + joinReprs(x.Items) + "]"
	case Tuple:
		if len(x) == 1 {
			return "(" + safeRepr(x[0]) + ",)"
		}
		return "(" + joinReprs(x) + ")"
	case groupTuple:
		return "(" + joinReprs([]any{x.grouper, x.list}) + ")"
	case *undefined:
		return "Undefined"
	}
	return repr(v)
}

func joinReprs(list []any) string {
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = safeRepr(e)
	}
	return strings.Join(parts, ", ")
}

// sortedKeysSafe sorts keys as pprint's _safe_key: by value where they
// compare, else by type name.
func sortedKeysSafe(d *Dict) []any {
	keys := append([]any{}, d.keys...)
	sort.SliceStable(keys, func(i, j int) bool {
		if c, ok := order(keys[i], keys[j]); ok {
			return c < 0
		}
		return typeName(keys[i]) < typeName(keys[j])
	})
	return keys
}

func (pp *pprinter) format(b *strings.Builder, v any, indent, allowance, level int) {
	if g, ok := v.(groupTuple); ok {
		v = Tuple{g.grouper, g.list} // pprint formats the named tuple as a tuple
	}
	rep := safeRepr(v)
	if len([]rune(rep)) <= pp.width-indent-allowance {
		b.WriteString(rep)
		return
	}
	switch x := v.(type) {
	case *Dict:
		b.WriteByte('{')
		if x.Len() > 0 {
			keys := sortedKeysSafe(x)
			ind := indent + 1
			for i, k := range keys {
				last := i == len(keys)-1
				kr := safeRepr(k)
				b.WriteString(kr + ": ")
				val, _ := x.Get(k)
				al := 1
				if last {
					al = allowance + 1
				}
				pp.format(b, val, ind+len([]rune(kr))+2, al, level+1)
				if !last {
					b.WriteString(",\n" + strings.Repeat(" ", ind))
				}
			}
		}
		b.WriteByte('}')
	case *List:
		b.WriteByte('[')
		pp.items(b, x.Items, indent, allowance+1, level)
		b.WriteByte(']')
	case Tuple:
		end := ")"
		if len(x) == 1 {
			end = ",)"
		}
		b.WriteByte('(')
		pp.items(b, x, indent, allowance+len(end), level)
		b.WriteString(end)
	case string:
		pp.str(b, x, indent, allowance, level)
	default:
		b.WriteString(rep)
	}
}

func (pp *pprinter) items(b *strings.Builder, list []any, indent, allowance, level int) {
	indent++
	for i, e := range list {
		if i > 0 {
			b.WriteString(",\n" + strings.Repeat(" ", indent))
		}
		al := 1
		if i == len(list)-1 {
			al = allowance
		}
		pp.format(b, e, indent, al, level+1)
	}
}

var spaceRuns = regexp.MustCompile(reNonSpace + `*` + reSpace + `*`)

func (pp *pprinter) str(b *strings.Builder, s string, indent, allowance, level int) {
	if s == "" {
		b.WriteString(repr(s))
		return
	}
	lines := pySplitlines(s, true)
	if level == 1 {
		indent++
		allowance++
	}
	maxWidth1 := pp.width - indent
	maxWidth := maxWidth1
	var chunks []string
	rep := ""
	for i, line := range lines {
		rep = repr(line)
		if i == len(lines)-1 {
			maxWidth1 -= allowance
		}
		if len([]rune(rep)) <= maxWidth1 {
			chunks = append(chunks, rep)
			continue
		}
		parts := spaceRuns.FindAllString(line, -1)
		if len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		maxWidth2 := maxWidth
		current := ""
		for j, part := range parts {
			candidate := current + part
			if j == len(parts)-1 && i == len(lines)-1 {
				maxWidth2 -= allowance
			}
			if len([]rune(repr(candidate))) > maxWidth2 {
				if current != "" {
					chunks = append(chunks, repr(current))
				}
				current = part
			} else {
				current = candidate
			}
		}
		if current != "" {
			chunks = append(chunks, repr(current))
		}
	}
	if len(chunks) == 1 {
		b.WriteString(rep)
		return
	}
	if level == 1 {
		b.WriteByte('(')
	}
	for i, c := range chunks {
		if i > 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent))
		}
		b.WriteString(c)
	}
	if level == 1 {
		b.WriteByte(')')
	}
}
