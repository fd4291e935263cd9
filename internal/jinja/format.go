package jinja

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python's string formatting: the % operator (and the format filter) and
// str.format.

// --- HTML escaping (markupsafe) ---

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func escapeString(s string) string {
	if strings.ContainsAny(s, `&<>"'`) {
		return htmlEscaper.Replace(s)
	}
	return s
}

// escape is markupsafe.escape: Markup stays as it is, anything else is
// converted with str() and escaped.
func escape(v any) string {
	if m, ok := v.(Markup); ok {
		return string(m)
	}
	return escapeString(str(v))
}

func hasHTML(v any) bool {
	_, ok := v.(Markup)
	return ok
}

// --- printf-style formatting ---

type fmtSpec struct {
	minus, plus, space, zero, alt bool
	width, prec                   int // -1: not given
	verb                          byte
}

// percentFormat is Python's format % args. For Markup formats, %s and %r
// escape what they insert, as markupsafe does.
func percentFormat(format string, arg any, escapeHTML bool) string {
	var pos []any
	mapping, isMap := arg.(*Dict)
	// Python ignores unused arguments when the right operand has
	// __getitem__ (a dict, but also a list or a range), not a tuple.
	mappingLike := isMap
	switch arg.(type) {
	case *List, rangeVal, *undefined:
		mappingLike = true
	}
	if t, ok := asTuple(arg); ok {
		pos = t
	} else {
		pos = []any{arg}
	}
	used := 0
	next := func() any {
		if used >= len(pos) {
			throw("not enough arguments for format string")
		}
		used++
		return pos[used-1]
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			throw("incomplete format")
		}
		var val any
		haveVal := false
		if format[i] == '(' {
			depth, j := 1, i+1
			for ; j < len(format) && depth > 0; j++ {
				switch format[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth > 0 {
				throw("incomplete format key")
			}
			if !isMap {
				throw("format requires a mapping")
			}
			key := format[i+1 : j-1]
			v, ok := mapping.Get(key)
			if !ok {
				throw("KeyError: %s", strRepr(key))
			}
			val, haveVal = v, true
			i = j
		}
		sp := fmtSpec{width: -1, prec: -1}
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.minus = true
			case '+':
				sp.plus = true
			case ' ':
				sp.space = true
			case '0':
				sp.zero = true
			case '#':
				sp.alt = true
			default:
				break flags
			}
		}
		readNum := func() int {
			if i < len(format) && format[i] == '*' {
				i++
				n, ok := repeatCount(next())
				if !ok {
					throw("* wants int")
				}
				return n
			}
			j := i
			for i < len(format) && isDigit(format[i]) {
				i++
			}
			if j == i {
				return -1
			}
			n, _ := strconv.Atoi(format[j:i])
			return n
		}
		sp.width = readNum()
		if sp.width < -1 {
			sp.minus, sp.width = true, -sp.width
		}
		if i < len(format) && format[i] == '.' {
			i++
			sp.prec = max(readNum(), 0)
		}
		for i < len(format) && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L') {
			i++
		}
		if i >= len(format) {
			throw("incomplete format")
		}
		sp.verb = format[i]
		if sp.verb == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveVal {
			val = next()
		}
		b.WriteString(formatOne(sp, val, escapeHTML))
	}
	if used < len(pos) && !mappingLike {
		throw("not all arguments converted during string formatting")
	}
	return b.String()
}

func formatOne(sp fmtSpec, v any, escapeHTML bool) string {
	if sp.verb != 'r' && sp.verb != 's' && sp.verb != 'a' {
		mustDefined(v) // str() and repr() decide for themselves
	}
	var body, sign string
	numeric := true
	switch sp.verb {
	case 's', 'r', 'a':
		numeric = false
		switch {
		case sp.verb != 's':
			body = repr(v)
			if escapeHTML {
				body = escapeString(body)
			}
		case escapeHTML:
			body = escape(v)
		default:
			body = str(v)
		}
		if sp.prec >= 0 && runeLen(body) > sp.prec {
			body = string([]rune(body)[:sp.prec])
		}
	case 'c':
		numeric = false
		switch x := v.(type) {
		case int:
			body = string(rune(x))
		case string:
			if runeLen(x) != 1 {
				throw("%%c requires int or char")
			}
			body = x
		default:
			throw("%%c requires int or char")
		}
	case 'd', 'i', 'u':
		n, ok := intOf(v)
		if !ok {
			throw("%%%c format: a real number is required, not %s", sp.verb, typeName(v))
		}
		body, sign = splitSign(strconv.Itoa(n))
		if sp.prec >= 0 && len(body) < sp.prec {
			body = strings.Repeat("0", sp.prec-len(body)) + body
		}
	case 'o', 'x', 'X':
		n, ok := repeatCount(v)
		if !ok {
			throw("%%%c format: an integer is required, not %s", sp.verb, typeName(v))
		}
		base := 8
		prefix := "0o"
		if sp.verb != 'o' {
			base, prefix = 16, "0x"
		}
		body, sign = splitSign(strconv.FormatInt(int64(n), base))
		if sp.prec >= 0 && len(body) < sp.prec {
			body = strings.Repeat("0", sp.prec-len(body)) + body
		}
		if sp.alt {
			body = prefix + body
		}
		if sp.verb == 'X' {
			body = strings.ToUpper(body)
		}
	case 'e', 'E', 'f', 'F', 'g', 'G':
		f, _, _, ok := toNumber(v)
		if !ok {
			throw("must be real number, not %s", typeName(v))
		}
		prec := sp.prec
		if prec < 0 {
			prec = 6
		}
		body, sign = splitSign(formatFloat(f, sp.verb, prec, sp.alt))
	default:
		throw("unsupported format character '%c' (0x%x)", sp.verb, sp.verb)
	}
	if numeric && sign == "" {
		if sp.plus {
			sign = "+"
		} else if sp.space {
			sign = " "
		}
	}
	n := runeLen(sign) + runeLen(body)
	if sp.width > n {
		fill := sp.width - n
		switch {
		case sp.minus:
			return sign + body + strings.Repeat(" ", fill)
		case sp.zero && numeric && isFinite(body):
			if sp.alt && (sp.verb == 'x' || sp.verb == 'X' || sp.verb == 'o') {
				return sign + body[:2] + strings.Repeat("0", fill) + body[2:]
			}
			return sign + strings.Repeat("0", fill) + body
		default:
			return strings.Repeat(" ", fill) + sign + body
		}
	}
	return sign + body
}

func isFinite(body string) bool {
	return body != "inf" && body != "nan" && body != "INF" && body != "NAN"
}

func splitSign(s string) (string, string) {
	if strings.HasPrefix(s, "-") {
		return s[1:], "-"
	}
	return s, ""
}

// intOf is int() of a number, as %d takes it.
func intOf(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			throw("cannot convert float %s to integer", floatRepr(x))
		}
		return int(x), true
	}
	return 0, false
}

// formatFloat formats like Python's %e, %f and %g (and their upper-case
// forms) with a precision.
func formatFloat(f float64, verb byte, prec int, alt bool) string {
	upper := verb == 'E' || verb == 'F' || verb == 'G'
	switch {
	case math.IsInf(f, 1):
		if upper {
			return "INF"
		}
		return "inf"
	case math.IsInf(f, -1):
		if upper {
			return "-INF"
		}
		return "-inf"
	case math.IsNaN(f):
		if upper {
			return "NAN"
		}
		return "nan"
	}
	var s string
	switch verb | 0x20 {
	case 'e':
		s = strconv.FormatFloat(f, 'e', prec, 64)
	case 'f':
		s = strconv.FormatFloat(f, 'f', prec, 64)
	case 'g':
		if prec == 0 {
			prec = 1
		}
		exp := 0
		if f != 0 {
			e := strconv.FormatFloat(f, 'e', prec-1, 64)
			exp, _ = strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
		}
		if exp < -4 || exp >= prec {
			s = strconv.FormatFloat(f, 'e', prec-1, 64)
			if !alt {
				mant, e, _ := strings.Cut(s, "e")
				if strings.Contains(mant, ".") {
					mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
				}
				s = mant + "e" + e
			}
		} else {
			s = strconv.FormatFloat(f, 'f', max(prec-1-exp, 0), 64)
			if !alt && strings.Contains(s, ".") {
				s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			} else if alt && !strings.Contains(s, ".") {
				s += "."
			}
		}
	}
	if alt && prec == 0 && (verb|0x20 == 'f' || verb|0x20 == 'e') {
		if mant, e, ok := strings.Cut(s, "e"); ok {
			s = mant + ".e" + e
		} else {
			s += "."
		}
	}
	if upper {
		s = strings.ToUpper(s)
	}
	return s
}

// --- str.format ---

func strFormat(format string, a *args) string { return strFormatEscaped(format, a, false) }

// strFormatEscaped is str.format, or Markup.format when escapeHTML: each
// field's text is escaped unless its value is Markup.
func strFormatEscaped(format string, a *args, escapeHTML bool) string {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch c {
		case '}':
			if i+1 < len(format) && format[i+1] == '}' {
				b.WriteByte('}')
				i++
				continue
			}
			throw("Single '}' encountered in format string")
		case '{':
			if i+1 < len(format) && format[i+1] == '{' {
				b.WriteByte('{')
				i++
				continue
			}
			depth, j := 1, i+1
			for ; j < len(format) && depth > 0; j++ {
				switch format[j] {
				case '{':
					depth++
				case '}':
					depth--
				}
			}
			if depth > 0 {
				throw("expected '}' before end of string")
			}
			field := format[i+1 : j-1]
			i = j - 1
			b.WriteString(formatField(field, a, &auto, escapeHTML))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func formatField(field string, a *args, auto *int, escapeHTML bool) string {
	name, spec, _ := strings.Cut(field, ":")
	conv := byte(0)
	if k := strings.IndexByte(name, '!'); k >= 0 {
		if k+2 != len(name) {
			throw("expected ':' after conversion specifier")
		}
		conv = name[k+1]
		name = name[:k]
	}
	end := strings.IndexAny(name, ".[")
	if end < 0 {
		end = len(name)
	}
	head, rest := name[:end], name[end:]
	var v any
	switch {
	case head == "":
		if *auto < 0 {
			throw("cannot switch from manual field specification to automatic field numbering")
		}
		if *auto >= len(a.pos) {
			throw("Replacement index %d out of range for positional args tuple", *auto)
		}
		v = a.pos[*auto]
		*auto++
	case isDigit(head[0]):
		n, err := strconv.Atoi(head)
		if err != nil {
			throw("invalid field %q", head)
		}
		if *auto > 0 {
			throw("cannot switch from automatic field numbering to manual field specification")
		}
		*auto = -1
		if n >= len(a.pos) {
			throw("Replacement index %d out of range for positional args tuple", n)
		}
		v = a.pos[n]
	default:
		kv, ok := a.kwarg(head)
		if !ok {
			throw("KeyError: %s", strRepr(head))
		}
		v = kv
	}
	for rest != "" {
		if rest[0] == '.' {
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			attr := rest[1 : end+1]
			rest = rest[end+1:]
			got, ok := attribute(v, attr)
			if !ok {
				throw("'%s' object has no attribute '%s'", typeName(v), attr)
			}
			v = got
			continue
		}
		close := strings.IndexByte(rest, ']')
		if close < 0 {
			throw("Missing ']' in format string")
		}
		key := rest[1:close]
		rest = rest[close+1:]
		var k any = key
		if n, err := strconv.Atoi(key); err == nil {
			k = n
		}
		got, ok := item(v, k)
		if !ok {
			throw("KeyError: %s", repr(k))
		}
		v = got
	}
	switch conv {
	case 0:
	case 's':
		v = str(v)
	case 'r', 'a':
		v = repr(v)
	default:
		throw("Unknown conversion specifier %c", conv)
	}
	if strings.Contains(spec, "{") {
		spec = strFormat(spec, a)
	}
	if _, isMarkup := v.(Markup); escapeHTML && !isMarkup {
		return escapeString(formatSpec(v, spec))
	}
	return formatSpec(v, spec)
}

// formatSpec is Python's format(v, spec) for str, int, float and bool.
func formatSpec(v any, spec string) string {
	if u, ok := v.(*undefined); ok && u.lenient && spec == "" {
		return ""
	}
	mustDefined(v)
	fill, align := " ", byte(0)
	if r, n := utf8.DecodeRuneInString(spec); n > 0 && n < len(spec) && strings.IndexByte("<>=^", spec[n]) >= 0 {
		fill, align, spec = string(r), spec[n], spec[n+1:]
	} else if spec != "" && strings.IndexByte("<>=^", spec[0]) >= 0 {
		align, spec = spec[0], spec[1:]
	}
	sign := byte('-')
	if spec != "" && (spec[0] == '+' || spec[0] == '-' || spec[0] == ' ') {
		sign, spec = spec[0], spec[1:]
	}
	alt := false
	if strings.HasPrefix(spec, "#") {
		alt, spec = true, spec[1:]
	}
	if strings.HasPrefix(spec, "0") {
		if align == 0 {
			fill, align = "0", '='
		}
		spec = spec[1:]
	}
	j := 0
	for j < len(spec) && isDigit(spec[j]) {
		j++
	}
	width := -1
	if j > 0 {
		width, _ = strconv.Atoi(spec[:j])
	}
	spec = spec[j:]
	group := ""
	if spec != "" && (spec[0] == ',' || spec[0] == '_') {
		group, spec = spec[:1], spec[1:]
	}
	prec := -1
	if strings.HasPrefix(spec, ".") {
		k := 1
		for k < len(spec) && isDigit(spec[k]) {
			k++
		}
		prec, _ = strconv.Atoi(spec[1:k])
		spec = spec[k:]
	}
	typ := byte(0)
	if len(spec) == 1 {
		typ = spec[0]
	} else if spec != "" {
		throw("Invalid format specifier")
	}
	var body, sgn string
	numeric := false
	switch x := v.(type) {
	case string, Markup:
		if typ != 0 && typ != 's' {
			throw("Unknown format code '%c' for object of type 'str'", typ)
		}
		if sign != '-' || align == '=' {
			throw("Sign not allowed in string format specifier")
		}
		body = str(x)
		if prec >= 0 && runeLen(body) > prec {
			body = string([]rune(body)[:prec])
		}
		if align == 0 {
			align = '<'
		}
	case int, bool:
		n, _ := repeatCount(x)
		numeric = true
		switch typ {
		case 0, 'd', 'n':
			if _, isBool := x.(bool); isBool && typ == 0 && sign == '-' && width < 0 {
				body = str(x)
				numeric = false
				break
			}
			body, sgn = splitSign(strconv.Itoa(n))
			body = group3(body, group)
		case 'b', 'o', 'x', 'X':
			base := map[byte]int{'b': 2, 'o': 8, 'x': 16, 'X': 16}[typ]
			body, sgn = splitSign(strconv.FormatInt(int64(n), base))
			if typ == 'X' {
				body = strings.ToUpper(body)
			}
			if alt {
				body = "0" + string(typ) + body
			}
		case 'c':
			body = string(rune(n))
			numeric = false
		case 'e', 'E', 'f', 'F', 'g', 'G', '%':
			return formatSpec(float64(n), rebuildSpec(fill, align, sign, alt, width, group, prec, typ))
		default:
			throw("Unknown format code '%c' for object of type 'int'", typ)
		}
	case float64:
		numeric = true
		p := prec
		switch typ {
		case 0:
			if p < 0 {
				body = floatRepr(x)
			} else {
				body = formatFloat(x, 'g', max(p, 1), alt)
				if !strings.ContainsAny(body, ".en") {
					body += ".0"
				}
			}
		case '%':
			if p < 0 {
				p = 6
			}
			body = formatFloat(x*100, 'f', p, alt) + "%"
		case 'e', 'E', 'f', 'F', 'g', 'G', 'n':
			if p < 0 {
				p = 6
			}
			t := typ
			if t == 'n' {
				t = 'g'
			}
			body = formatFloat(x, t, p, alt)
		default:
			throw("Unknown format code '%c' for object of type 'float'", typ)
		}
		body, sgn = splitSign(body)
		if group != "" {
			intPart, frac, _ := strings.Cut(body, ".")
			if frac != "" || strings.Contains(body, ".") {
				body = group3(intPart, group) + "." + frac
			} else {
				body = group3(intPart, group)
			}
		}
	default:
		if spec != "" || width >= 0 || typ != 0 {
			throw("unsupported format string passed to %s.__format__", typeName(v))
		}
		return str(v)
	}
	if numeric && sgn == "" && sign != '-' {
		sgn = string(sign)
	}
	if align == 0 {
		align = '>'
	}
	n := runeLen(sgn) + runeLen(body)
	if width <= n {
		return sgn + body
	}
	padding := width - n
	switch align {
	case '<':
		return sgn + body + strings.Repeat(fill, padding)
	case '^':
		left := padding / 2
		return strings.Repeat(fill, left) + sgn + body + strings.Repeat(fill, padding-left)
	case '=':
		return sgn + strings.Repeat(fill, padding) + body
	}
	return strings.Repeat(fill, padding) + sgn + body
}

func rebuildSpec(fill string, align, sign byte, alt bool, width int, group string, prec int, typ byte) string {
	var b strings.Builder
	if align != 0 {
		b.WriteString(fill)
		b.WriteByte(align)
	}
	if sign != '-' {
		b.WriteByte(sign)
	}
	if alt {
		b.WriteByte('#')
	}
	if width >= 0 {
		b.WriteString(strconv.Itoa(width))
	}
	b.WriteString(group)
	if prec >= 0 {
		b.WriteString("." + strconv.Itoa(prec))
	}
	b.WriteByte(typ)
	return b.String()
}

func group3(digits, sep string) string {
	if sep == "" || len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
