package jinja

import (
	"html"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Methods of the built-in types that templates call: str, list, tuple,
// dict, int and float, with Python's semantics.

type methodFunc func(r *renderer, recv any, a *args) any

// boundMethod is a method read without calling it (x.upper).
type boundMethod struct {
	recv any
	name string
	fn   methodFunc
}

// builtin is a global function (range, dict, namespace…) or a method of a
// runtime object.
type builtin struct {
	name string
	fn   func(r *renderer, a *args) any
}

func methodOf(obj any, name string) (any, bool) {
	if m, ok := builtinMethod(obj, name); ok {
		return &boundMethod{recv: obj, name: name, fn: m}, true
	}
	return nil, false
}

// builtinMethod finds the method name of obj's type.
func builtinMethod(obj any, name string) (methodFunc, bool) {
	var m methodFunc
	switch obj.(type) {
	case string:
		m = strMethods[name]
	case Markup:
		if f, ok := strMethods[name]; ok {
			m = markupMethod(name, f)
		} else {
			m = markupOwnMethods[name]
		}
	case *List:
		m = listMethods[name]
	case Tuple, groupTuple:
		m = tupleMethods[name]
	case *Dict:
		m = dictMethods[name]
	case int, bool:
		m = intMethods[name]
	case float64:
		m = floatMethods[name]
	case dictView:
		if name == "isdisjoint" {
			m = func(_ *renderer, recv any, a *args) any {
				p := a.bind("isdisjoint", "other")
				for _, x := range items(recv) {
					if contains(mustDefined(p[0]), x) {
						return false
					}
				}
				return true
			}
		}
	}
	return m, m != nil
}

// --- str ---

// pySpace is Python's str.isspace for one character (and what \s matches
// in Python's re): Go's unicode.IsSpace plus the separators \x1c-\x1f.
func pySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// Python's \s and \S, for Go regexps, whose own are ASCII-only.
const (
	reSpace    = `[\t\n\v\f\r\x1c-\x1f\x{85}\p{Z}]`
	reNonSpace = `[^\t\n\v\f\r\x1c-\x1f\x{85}\p{Z}]`
)

func needStr(fn string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Markup:
		return string(x)
	}
	mustDefined(v)
	throw("%s() argument must be str, not %s", fn, typeName(v))
	return ""
}

// optStr reads an optional str-or-None argument.
func optStr(fn string, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	if _, ok := v.(none); ok {
		return "", false
	}
	return needStr(fn, v), true
}

func needInt(fn string, v any) int {
	if n, ok := repeatCount(v); ok {
		return n
	}
	mustDefined(v)
	throw("%s(): '%s' object cannot be interpreted as an integer", fn, typeName(v))
	return 0
}

func optInt(fn string, v any, def int) int {
	if v == nil {
		return def
	}
	if _, ok := v.(none); ok {
		return def
	}
	return needInt(fn, v)
}

func pyUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	s = strings.ToUpper(s)
	return strings.ReplaceAll(s, "ß", "SS")
}

func pyLower(s string) string { return strings.ToLower(s) }

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

// pyTitle is str.title(): a cased character after an uncased one starts a
// word.
func pyTitle(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevCased := false
	for _, r := range s {
		switch {
		case !isCased(r):
			b.WriteRune(r)
			prevCased = false
		case prevCased:
			b.WriteRune(unicode.ToLower(r))
		default:
			if r == 'ß' {
				b.WriteString("Ss")
			} else {
				b.WriteRune(unicode.ToTitle(r))
			}
			prevCased = true
		}
	}
	return b.String()
}

// pyCapitalize is str.capitalize(): the first character title-cased, the
// rest lower-cased.
func pyCapitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	first := string(unicode.ToTitle(r))
	if r == 'ß' {
		first = "Ss"
	}
	return first + strings.ToLower(s[n:])
}

func pySwapcase(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLower(r):
			if r == 'ß' {
				b.WriteString("SS")
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pyIsUpper and pyIsLower are str.isupper()/islower(): at least one cased
// character, and no cased character of the other case.
func pyIsUpper(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsLower(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsUpper(r) {
			cased = true
		}
	}
	return cased
}

func pyIsLower(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsLower(r) {
			cased = true
		}
	}
	return cased
}

func pyStrip(s string, chars string, has bool, left, right bool) string {
	f := pySpace
	if has {
		f = func(r rune) bool { return strings.ContainsRune(chars, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, f)
	}
	if right {
		s = strings.TrimRightFunc(s, f)
	}
	return s
}

// pySplit is str.split(sep, maxsplit).
func pySplit(s, sep string, hasSep bool, maxsplit int) []any {
	var parts []string
	if !hasSep {
		rest := s
		for {
			rest = strings.TrimLeftFunc(rest, pySpace)
			if rest == "" {
				break
			}
			if maxsplit >= 0 && len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			j := strings.IndexFunc(rest, pySpace)
			if j < 0 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:j])
			rest = rest[j:]
		}
	} else {
		if sep == "" {
			throw("empty separator")
		}
		parts = strings.SplitN(s, sep, maxsplit+1)
		if maxsplit < 0 {
			parts = strings.Split(s, sep)
		}
	}
	return stringsToAny(parts)
}

// pyRsplit is str.rsplit(sep, maxsplit).
func pyRsplit(s, sep string, hasSep bool, maxsplit int) []any {
	if maxsplit < 0 {
		return pySplit(s, sep, hasSep, -1)
	}
	var parts []string
	if !hasSep {
		rest := s
		for {
			rest = strings.TrimRightFunc(rest, pySpace)
			if rest == "" {
				break
			}
			if len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			j := strings.LastIndexFunc(rest, pySpace)
			if j < 0 {
				parts = append(parts, rest)
				break
			}
			_, n := utf8.DecodeRuneInString(rest[j:])
			parts = append(parts, rest[j+n:])
			rest = rest[:j]
		}
	} else {
		if sep == "" {
			throw("empty separator")
		}
		rest := s
		for len(parts) < maxsplit {
			j := strings.LastIndex(rest, sep)
			if j < 0 {
				break
			}
			parts = append(parts, rest[j+len(sep):])
			rest = rest[:j]
		}
		parts = append(parts, rest)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return stringsToAny(parts)
}

func stringsToAny(parts []string) []any {
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// pySplitlines is str.splitlines(keepends).
func pySplitlines(s string, keepends bool) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			end := i + n
			if r == '\r' && end < len(s) && s[end] == '\n' {
				end++
			}
			if keepends {
				lines = append(lines, s[start:end])
			} else {
				lines = append(lines, s[start:i])
			}
			start = end
			i = end
			continue
		}
		i += n
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// runeSpan converts Python start/end arguments into byte offsets of s.
func runeSpan(fn string, s string, a []any) (int, int, bool) {
	n := runeLen(s)
	start, end := 0, n
	if len(a) > 0 && a[0] != nil {
		if _, isNone := a[0].(none); !isNone {
			start = needInt(fn, a[0])
		}
	}
	if len(a) > 1 && a[1] != nil {
		if _, isNone := a[1].(none); !isNone {
			end = needInt(fn, a[1])
		}
	}
	norm := func(x int) int {
		if x < 0 {
			x += n
			if x < 0 {
				x = 0
			}
		}
		return min(x, n)
	}
	start, end = norm(start), norm(end)
	if start > end {
		return 0, 0, false
	}
	return byteOffset(s, start), byteOffset(s, end), true
}

func byteOffset(s string, runes int) int {
	if isASCII(s) {
		return runes
	}
	i := 0
	for k := 0; k < runes && i < len(s); k++ {
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return i
}

func runeIndex(s string, byteOff int) int {
	if isASCII(s[:byteOff]) {
		return byteOff
	}
	return utf8.RuneCountInString(s[:byteOff])
}

func pad(s string, width int, fill string, align byte) string {
	n := runeLen(s)
	if width <= n {
		return s
	}
	marg := width - n
	switch align {
	case '<':
		return s + strings.Repeat(fill, marg)
	case '>':
		return strings.Repeat(fill, marg) + s
	}
	left := marg/2 + (marg & width & 1)
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, marg-left)
}

func fillChar(fn string, v any) string {
	if v == nil {
		return " "
	}
	s := needStr(fn, v)
	if runeLen(s) != 1 {
		throw("The fill character must be exactly one character long")
	}
	return s
}

func startsEnds(fn string, s string, a *args, check func(string, string) bool) any {
	p := a.bind(fn, "prefix", "start", "end")
	if p[0] == nil {
		throw("%s() takes at least 1 argument (0 given)", fn)
	}
	b, e, ok := runeSpan(fn, s, p[1:])
	if !ok {
		return false
	}
	sub := s[b:e]
	candidates, isTuple := p[0].(Tuple)
	if !isTuple {
		candidates = Tuple{p[0]}
	}
	for _, c := range candidates {
		cs, ok := c.(string)
		if m, isM := c.(Markup); isM {
			cs, ok = string(m), true
		}
		if !ok {
			throw("%s first arg must be str or a tuple of str, not %s", fn, typeName(c))
		}
		if check(sub, cs) {
			return true
		}
	}
	return false
}

func findSub(fn string, s string, a *args, last bool) int {
	p := a.bind(fn, "sub", "start", "end")
	if p[0] == nil {
		throw("%s() takes at least 1 argument (0 given)", fn)
	}
	sub := needStr(fn, p[0])
	b, e, ok := runeSpan(fn, s, p[1:])
	if !ok {
		return -1
	}
	var i int
	if last {
		i = strings.LastIndex(s[b:e], sub)
	} else {
		i = strings.Index(s[b:e], sub)
	}
	if i < 0 {
		return -1
	}
	return runeIndex(s, b+i)
}

func strPredicate(f func(rune) bool, nonEmpty bool) methodFunc {
	return func(_ *renderer, recv any, a *args) any {
		a.bind("predicate")
		s := str(recv)
		if nonEmpty && s == "" {
			return false
		}
		for _, r := range s {
			if !f(r) {
				return false
			}
		}
		return true
	}
}

func isNumericRune(r rune) bool { return unicode.In(r, unicode.N) }

func isDecimalRune(r rune) bool { return unicode.Is(unicode.Nd, r) }

func isDigitRune(r rune) bool {
	return unicode.Is(unicode.Nd, r) || r == '²' || r == '³' || r == '¹' || r >= '①' && r <= '⑨' || r >= '⁰' && r <= '⁹' && r != 'ⁱ' && r != '⁺'
}

var strMethods map[string]methodFunc

func init() {
	simple := func(f func(string) string) methodFunc {
		return func(_ *renderer, recv any, a *args) any {
			a.bind("method")
			return f(str(recv))
		}
	}
	strMethods = map[string]methodFunc{
		"lower":      simple(pyLower),
		"upper":      simple(pyUpper),
		"casefold":   simple(func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "ß", "ss") }),
		"title":      simple(pyTitle),
		"capitalize": simple(pyCapitalize),
		"swapcase":   simple(pySwapcase),
		"strip": func(_ *renderer, recv any, a *args) any {
			c, has := optStr("strip", a.bind("strip", "chars")[0])
			return pyStrip(str(recv), c, has, true, true)
		},
		"lstrip": func(_ *renderer, recv any, a *args) any {
			c, has := optStr("lstrip", a.bind("lstrip", "chars")[0])
			return pyStrip(str(recv), c, has, true, false)
		},
		"rstrip": func(_ *renderer, recv any, a *args) any {
			c, has := optStr("rstrip", a.bind("rstrip", "chars")[0])
			return pyStrip(str(recv), c, has, false, true)
		},
		"split": func(_ *renderer, recv any, a *args) any {
			p := a.bind("split", "sep", "maxsplit")
			sep, has := optStr("split", p[0])
			return newList(pySplit(str(recv), sep, has, optInt("split", p[1], -1)))
		},
		"rsplit": func(_ *renderer, recv any, a *args) any {
			p := a.bind("rsplit", "sep", "maxsplit")
			sep, has := optStr("rsplit", p[0])
			return newList(pyRsplit(str(recv), sep, has, optInt("rsplit", p[1], -1)))
		},
		"splitlines": func(_ *renderer, recv any, a *args) any {
			keep := truth(orDefault(a.bind("splitlines", "keepends")[0], false))
			return newList(stringsToAny(pySplitlines(str(recv), keep)))
		},
		"startswith": func(_ *renderer, recv any, a *args) any {
			return startsEnds("startswith", str(recv), a, strings.HasPrefix)
		},
		"endswith": func(_ *renderer, recv any, a *args) any {
			return startsEnds("endswith", str(recv), a, strings.HasSuffix)
		},
		"replace": func(_ *renderer, recv any, a *args) any {
			p := a.bind("replace", "old", "new", "count")
			if p[0] == nil || p[1] == nil {
				throw("replace() takes at least 2 arguments")
			}
			return strings.Replace(str(recv), needStr("replace", p[0]), needStr("replace", p[1]), optInt("replace", p[2], -1))
		},
		"join": func(_ *renderer, recv any, a *args) any {
			p := a.bind("join", "iterable")
			if p[0] == nil {
				throw("join() takes exactly one argument (0 given)")
			}
			parts := items(mustDefined(p[0]))
			ss := make([]string, len(parts))
			for i, x := range parts {
				s, ok := x.(string)
				if m, isM := x.(Markup); isM {
					s, ok = string(m), true
				}
				if !ok {
					throw("sequence item %d: expected str instance, %s found", i, typeName(x))
				}
				ss[i] = s
			}
			return strings.Join(ss, str(recv))
		},
		"count": func(_ *renderer, recv any, a *args) any {
			p := a.bind("count", "sub", "start", "end")
			if p[0] == nil {
				throw("count() takes at least 1 argument (0 given)")
			}
			s := str(recv)
			b, e, ok := runeSpan("count", s, p[1:])
			if !ok {
				return 0
			}
			sub := needStr("count", p[0])
			if sub == "" {
				return runeLen(s[b:e]) + 1
			}
			return strings.Count(s[b:e], sub)
		},
		"find": func(_ *renderer, recv any, a *args) any { return findSub("find", str(recv), a, false) },
		"rfind": func(_ *renderer, recv any, a *args) any {
			return findSub("rfind", str(recv), a, true)
		},
		"index": func(_ *renderer, recv any, a *args) any {
			i := findSub("index", str(recv), a, false)
			if i < 0 {
				throw("substring not found")
			}
			return i
		},
		"rindex": func(_ *renderer, recv any, a *args) any {
			i := findSub("rindex", str(recv), a, true)
			if i < 0 {
				throw("substring not found")
			}
			return i
		},
		"center": func(_ *renderer, recv any, a *args) any {
			p := a.bind("center", "width", "fillchar")
			return pad(str(recv), needInt("center", orDefault(p[0], None)), fillChar("center", p[1]), '^')
		},
		"ljust": func(_ *renderer, recv any, a *args) any {
			p := a.bind("ljust", "width", "fillchar")
			return pad(str(recv), needInt("ljust", orDefault(p[0], None)), fillChar("ljust", p[1]), '<')
		},
		"rjust": func(_ *renderer, recv any, a *args) any {
			p := a.bind("rjust", "width", "fillchar")
			return pad(str(recv), needInt("rjust", orDefault(p[0], None)), fillChar("rjust", p[1]), '>')
		},
		"zfill": func(_ *renderer, recv any, a *args) any {
			width := needInt("zfill", orDefault(a.bind("zfill", "width")[0], None))
			s := str(recv)
			n := runeLen(s)
			if width <= n {
				return s
			}
			sign := ""
			if s != "" && (s[0] == '+' || s[0] == '-') {
				sign, s = s[:1], s[1:]
			}
			return sign + strings.Repeat("0", width-n) + s
		},
		"partition": func(_ *renderer, recv any, a *args) any {
			sep := needStr("partition", orDefault(a.bind("partition", "sep")[0], None))
			if sep == "" {
				throw("empty separator")
			}
			s := str(recv)
			if b, after, ok := strings.Cut(s, sep); ok {
				return Tuple{b, sep, after}
			}
			return Tuple{s, "", ""}
		},
		"rpartition": func(_ *renderer, recv any, a *args) any {
			sep := needStr("rpartition", orDefault(a.bind("rpartition", "sep")[0], None))
			if sep == "" {
				throw("empty separator")
			}
			s := str(recv)
			if i := strings.LastIndex(s, sep); i >= 0 {
				return Tuple{s[:i], sep, s[i+len(sep):]}
			}
			return Tuple{"", "", s}
		},
		"removeprefix": func(_ *renderer, recv any, a *args) any {
			return strings.TrimPrefix(str(recv), needStr("removeprefix", orDefault(a.bind("removeprefix", "prefix")[0], None)))
		},
		"removesuffix": func(_ *renderer, recv any, a *args) any {
			return strings.TrimSuffix(str(recv), needStr("removesuffix", orDefault(a.bind("removesuffix", "suffix")[0], None)))
		},
		"expandtabs": func(_ *renderer, recv any, a *args) any {
			size := optInt("expandtabs", a.bind("expandtabs", "tabsize")[0], 8)
			var b strings.Builder
			col := 0
			for _, r := range str(recv) {
				switch r {
				case '\t':
					if size > 0 {
						n := size - col%size
						b.WriteString(strings.Repeat(" ", n))
						col += n
					}
				case '\n', '\r':
					b.WriteRune(r)
					col = 0
				default:
					b.WriteRune(r)
					col++
				}
			}
			return b.String()
		},
		"format": func(r *renderer, recv any, a *args) any { return strFormatEscaped(str(recv), a, false) },
		"format_map": func(r *renderer, recv any, a *args) any {
			p := a.bind("format_map", "mapping")
			d, ok := orDefault(p[0], None).(*Dict)
			if !ok {
				throw("format_map() argument must be a mapping")
			}
			kw := make([]kwVal, 0, d.Len())
			for i, k := range d.keys {
				if ks, ok := k.(string); ok {
					kw = append(kw, kwVal{ks, d.vals[i]})
				}
			}
			return strFormat(str(recv), &args{kw: kw})
		},
		"isupper":   func(_ *renderer, recv any, a *args) any { a.bind("isupper"); return pyIsUpper(str(recv)) },
		"islower":   func(_ *renderer, recv any, a *args) any { a.bind("islower"); return pyIsLower(str(recv)) },
		"isdigit":   strPredicate(isDigitRune, true),
		"isdecimal": strPredicate(isDecimalRune, true),
		"isnumeric": strPredicate(isNumericRune, true),
		"isalpha":   strPredicate(unicode.IsLetter, true),
		"isalnum": strPredicate(func(r rune) bool {
			return unicode.IsLetter(r) || isNumericRune(r)
		}, true),
		"isspace":     strPredicate(pySpace, true),
		"isascii":     strPredicate(func(r rune) bool { return r < 0x80 }, false),
		"isprintable": strPredicate(unicode.IsPrint, false),
		"isidentifier": func(_ *renderer, recv any, a *args) any {
			a.bind("isidentifier")
			s := str(recv)
			if s == "" {
				return false
			}
			for i, r := range s {
				if !(r == '_' || unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r))) {
					return false
				}
			}
			return true
		},
		"istitle": func(_ *renderer, recv any, a *args) any {
			a.bind("istitle")
			prevCased, any := false, false
			for _, r := range str(recv) {
				switch {
				case unicode.IsUpper(r) || unicode.IsTitle(r):
					if prevCased {
						return false
					}
					prevCased, any = true, true
				case unicode.IsLower(r):
					if !prevCased {
						return false
					}
				default:
					prevCased = false
				}
			}
			return any
		},
	}
}

// markupWrapped are the str methods markupsafe's Markup overrides: their
// string arguments are escaped and their results are Markup again (split's
// parts too). The others answer with plain values.
var markupWrapped = map[string]bool{
	"capitalize": true, "center": true, "expandtabs": true, "format": true, "format_map": true,
	"join": true, "ljust": true, "lower": true, "lstrip": true, "partition": true, "replace": true,
	"rjust": true, "rpartition": true, "rsplit": true, "rstrip": true, "split": true,
	"splitlines": true, "strip": true, "swapcase": true, "title": true, "upper": true, "zfill": true,
}

// markupMethod wraps a str method for Markup receivers.
func markupMethod(name string, f methodFunc) methodFunc {
	if !markupWrapped[name] {
		return func(r *renderer, recv any, a *args) any { return f(r, string(recv.(Markup)), a) }
	}
	switch name {
	case "join":
		// Markup.join escapes every item, which need not be strings.
		return func(_ *renderer, recv any, a *args) any {
			p := a.bind("join", "iterable")
			parts := items(mustDefined(orDefault(p[0], None)))
			ss := make([]string, len(parts))
			for i, x := range parts {
				ss[i] = escape(x)
			}
			return Markup(strings.Join(ss, string(recv.(Markup))))
		}
	case "format", "format_map":
		return func(r *renderer, recv any, a *args) any {
			if name == "format_map" {
				return Markup(f(r, string(recv.(Markup)), a).(string))
			}
			return Markup(strFormatEscaped(string(recv.(Markup)), a, true))
		}
	}
	return func(r *renderer, recv any, a *args) any {
		ea := &args{pos: make([]any, len(a.pos)), kw: make([]kwVal, len(a.kw))}
		for i, p := range a.pos {
			ea.pos[i] = escapeArg(p)
		}
		for i, k := range a.kw {
			ea.kw[i] = kwVal{k.name, escapeArg(k.val)}
		}
		return toMarkup(f(r, string(recv.(Markup)), ea))
	}
}

// markupOwnMethods are the methods only Markup has.
var markupOwnMethods = map[string]methodFunc{
	"striptags": func(r *renderer, recv any, a *args) any { return filterStriptags(r, recv, a) },
	"unescape": func(_ *renderer, recv any, a *args) any {
		a.bind("unescape")
		return html.UnescapeString(string(recv.(Markup)))
	},
	"escape": func(_ *renderer, recv any, a *args) any {
		p := a.bind("escape", "s")
		return Markup(escape(orDefault(p[0], None)))
	},
}

func escapeArg(v any) any {
	if s, ok := v.(string); ok {
		return escapeString(s)
	}
	return v
}

func toMarkup(v any) any {
	switch x := v.(type) {
	case string:
		return Markup(x)
	case *List:
		for i, e := range x.Items {
			x.Items[i] = toMarkup(e)
		}
		return x
	case Tuple:
		for i, e := range x {
			x[i] = toMarkup(e)
		}
		return x
	}
	return v
}

// --- list, tuple ---

func seqIndex(fn string, list []any, a *args) any {
	p := a.bind(fn, "value", "start", "stop")
	if p[0] == nil {
		throw("%s() takes at least 1 argument (0 given)", fn)
	}
	n := len(list)
	start, stop := optInt(fn, p[1], 0), optInt(fn, p[2], n)
	if start < 0 {
		start = max(start+n, 0)
	}
	if stop < 0 {
		stop = max(stop+n, 0)
	}
	for i := start; i < min(stop, n); i++ {
		if equal(list[i], p[0]) {
			return i
		}
	}
	throw("%s is not in list", repr(p[0]))
	return nil
}

func seqCount(list []any, a *args) any {
	p := a.bind("count", "value")
	if p[0] == nil {
		throw("count() takes exactly one argument (0 given)")
	}
	n := 0
	for _, x := range list {
		if equal(x, p[0]) {
			n++
		}
	}
	return n
}

var tupleMethods = map[string]methodFunc{
	"index": func(_ *renderer, recv any, a *args) any { return seqIndex("index", items(recv), a) },
	"count": func(_ *renderer, recv any, a *args) any { return seqCount(items(recv), a) },
}

var listMethods = map[string]methodFunc{
	"index": func(_ *renderer, recv any, a *args) any { return seqIndex("index", recv.(*List).Items, a) },
	"count": func(_ *renderer, recv any, a *args) any { return seqCount(recv.(*List).Items, a) },
	"append": func(_ *renderer, recv any, a *args) any {
		p := a.bind("append", "object")
		if p[0] == nil {
			throw("append() takes exactly one argument (0 given)")
		}
		l := recv.(*List)
		l.Items = append(l.Items, p[0])
		return None
	},
	"extend": func(_ *renderer, recv any, a *args) any {
		p := a.bind("extend", "iterable")
		if p[0] == nil {
			throw("extend() takes exactly one argument (0 given)")
		}
		l := recv.(*List)
		l.Items = append(l.Items, items(mustDefined(p[0]))...)
		return None
	},
	"insert": func(_ *renderer, recv any, a *args) any {
		p := a.bind("insert", "index", "object")
		if p[1] == nil {
			throw("insert expected 2 arguments")
		}
		l := recv.(*List)
		i := needInt("insert", p[0])
		n := len(l.Items)
		if i < 0 {
			i = max(i+n, 0)
		}
		i = min(i, n)
		l.Items = append(l.Items[:i], append([]any{p[1]}, l.Items[i:]...)...)
		return None
	},
	"pop": func(_ *renderer, recv any, a *args) any {
		l := recv.(*List)
		i := optInt("pop", a.bind("pop", "index")[0], -1)
		if len(l.Items) == 0 {
			throw("pop from empty list")
		}
		if i < 0 {
			i += len(l.Items)
		}
		if i < 0 || i >= len(l.Items) {
			throw("pop index out of range")
		}
		v := l.Items[i]
		l.Items = append(l.Items[:i:i], l.Items[i+1:]...)
		return v
	},
	"remove": func(_ *renderer, recv any, a *args) any {
		p := a.bind("remove", "value")
		l := recv.(*List)
		for i, x := range l.Items {
			if equal(x, p[0]) {
				l.Items = append(l.Items[:i:i], l.Items[i+1:]...)
				return None
			}
		}
		throw("list.remove(x): x not in list")
		return nil
	},
	"clear": func(_ *renderer, recv any, a *args) any {
		a.bind("clear")
		recv.(*List).Items = []any{}
		return None
	},
	"copy": func(_ *renderer, recv any, a *args) any {
		a.bind("copy")
		return newList(append([]any{}, recv.(*List).Items...))
	},
	"reverse": func(_ *renderer, recv any, a *args) any {
		a.bind("reverse")
		l := recv.(*List).Items
		for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
			l[i], l[j] = l[j], l[i]
		}
		return None
	},
	"sort": func(_ *renderer, recv any, a *args) any {
		p := a.bind("sort", "key", "reverse")
		if p[0] != nil {
			if _, isNone := p[0].(none); !isNone {
				throw("list.sort(key=…) is not supported: use the sort filter with attribute=")
			}
		}
		l := recv.(*List)
		l.Items = sortValues(l.Items, nil, truth(orDefault(p[1], false)))
		return None
	},
}

// sortValues sorts stably with Python's ordering, on keys when given.
func sortValues(list []any, keys []any, reverse bool) []any {
	if keys == nil {
		keys = list
	}
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := keys[idx[i]], keys[idx[j]]
		if reverse {
			a, b = b, a
		}
		c, ok := order(a, b)
		if !ok {
			throw("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
		}
		return c == -1
	})
	out := make([]any, len(list))
	for i, k := range idx {
		out[i] = list[k]
	}
	return out
}

// --- dict ---

var dictMethods = map[string]methodFunc{
	"keys": func(_ *renderer, recv any, a *args) any {
		a.bind("keys")
		return dictView{d: recv.(*Dict), kind: "keys"}
	},
	"values": func(_ *renderer, recv any, a *args) any {
		a.bind("values")
		return dictView{d: recv.(*Dict), kind: "values"}
	},
	"items": func(_ *renderer, recv any, a *args) any {
		a.bind("items")
		return dictView{d: recv.(*Dict), kind: "items"}
	},
	"get": func(_ *renderer, recv any, a *args) any {
		p := a.bind("get", "key", "default")
		if p[0] == nil {
			throw("get expected at least 1 argument, got 0")
		}
		if len(a.kw) > 0 {
			throw("get() takes no keyword arguments")
		}
		if _, ok := hashKey(mustDefined(p[0])); !ok {
			throw("unhashable type: '%s'", typeName(p[0]))
		}
		if v, ok := recv.(*Dict).Get(p[0]); ok {
			return v
		}
		return orDefault(p[1], None)
	},
	"pop": func(_ *renderer, recv any, a *args) any {
		p := a.bind("pop", "key", "default")
		if v, ok := recv.(*Dict).delete(mustDefined(p[0])); ok {
			return v
		}
		if p[1] != nil {
			return p[1]
		}
		throw("KeyError: %s", repr(p[0]))
		return nil
	},
	"popitem": func(_ *renderer, recv any, a *args) any {
		a.bind("popitem")
		d := recv.(*Dict)
		if d.Len() == 0 {
			throw("popitem(): dictionary is empty")
		}
		k := d.keys[len(d.keys)-1]
		v, _ := d.delete(k)
		return Tuple{k, v}
	},
	"setdefault": func(_ *renderer, recv any, a *args) any {
		p := a.bind("setdefault", "key", "default")
		d := recv.(*Dict)
		if v, ok := d.Get(mustDefined(p[0])); ok {
			return v
		}
		v := orDefault(p[1], None)
		d.Set(p[0], v)
		return v
	},
	"update": func(_ *renderer, recv any, a *args) any {
		d := recv.(*Dict)
		if len(a.pos) > 1 {
			throw("update expected at most 1 argument, got %d", len(a.pos))
		}
		if len(a.pos) == 1 {
			switch src := mustDefined(a.pos[0]).(type) {
			case *Dict:
				for i, k := range src.keys {
					d.Set(k, src.vals[i])
				}
			default:
				for _, pair := range items(src) {
					kv := items(pair)
					if len(kv) != 2 {
						throw("dictionary update sequence element has length %d; 2 is required", len(kv))
					}
					d.Set(kv[0], kv[1])
				}
			}
		}
		for _, k := range a.kw {
			d.Set(k.name, k.val)
		}
		return None
	},
	"copy": func(_ *renderer, recv any, a *args) any {
		a.bind("copy")
		return recv.(*Dict).copy()
	},
	"clear": func(_ *renderer, recv any, a *args) any {
		a.bind("clear")
		d := recv.(*Dict)
		*d = *NewDict(0)
		return None
	},
}

// --- numbers ---

var intMethods = map[string]methodFunc{
	"bit_length": func(_ *renderer, recv any, a *args) any {
		a.bind("bit_length")
		n, _ := repeatCount(recv)
		n = absInt(n)
		l := 0
		for n > 0 {
			n >>= 1
			l++
		}
		return l
	},
	"conjugate": func(_ *renderer, recv any, a *args) any {
		a.bind("conjugate")
		n, _ := repeatCount(recv)
		return n
	},
}

var floatMethods = map[string]methodFunc{
	"is_integer": func(_ *renderer, recv any, a *args) any {
		a.bind("is_integer")
		f := recv.(float64)
		return f == math.Trunc(f) && !math.IsInf(f, 0)
	},
	"conjugate": func(_ *renderer, recv any, a *args) any {
		a.bind("conjugate")
		return recv
	},
}
