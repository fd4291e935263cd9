package jinja

import (
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokName tokKind = iota
	tokString
	tokInt
	tokFloat
	tokOp
)

type token struct {
	kind tokKind
	val  string // names and operators as written; strings unescaped; numbers cleaned
	pos  int    // offset in the normalized source
}

type tokenizer struct {
	src   string
	pos   int
	lexer *lexer
}

func (t *tokenizer) skipSpace() { t.pos = skipSpaces(t.src, t.pos) }

// Longest operators first.
var operators = []string{"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", ";"}

func (t *tokenizer) next() (token, error) {
	start := t.pos
	c := t.src[t.pos]
	switch {
	case c >= '0' && c <= '9':
		return t.number()
	case c == '\'' || c == '"':
		return t.str(c)
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
		for t.pos < len(t.src) {
			r, n := utf8.DecodeRuneInString(t.src[t.pos:])
			if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Pc, r)) {
				break
			}
			if t.pos == start && unicode.IsDigit(r) {
				break
			}
			t.pos += n
		}
		if t.pos > start {
			return token{kind: tokName, val: t.src[start:t.pos], pos: start}, nil
		}
	}
	for _, op := range operators {
		if strings.HasPrefix(t.src[t.pos:], op) {
			t.pos += len(op)
			return token{kind: tokOp, val: op, pos: start}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(t.src[t.pos:])
	return token{}, t.lexer.errorf(start, "unexpected char %s", strRepr(string(r)))
}

func digitsRun(s string, p int, digit func(byte) bool) int {
	// (_?digit)+ as in Python's grammar: underscores only between digits.
	for p < len(s) {
		if digit(s[p]) {
			p++
			continue
		}
		if s[p] == '_' && p+1 < len(s) && digit(s[p+1]) {
			p += 2
			continue
		}
		break
	}
	return p
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads Jinja's integer and float literals: floats first (digits
// with a fraction or an exponent), then 0b/0o/0x and decimal integers.
func (t *tokenizer) number() (token, error) {
	s, start := t.src, t.pos
	afterDot := start > 0 && s[start-1] == '.'
	p := digitsRun(s, start, isDigit)
	if !afterDot {
		q := p
		isFloat := false
		if q+1 < len(s) && s[q] == '.' && isDigit(s[q+1]) {
			q = digitsRun(s, q+1, isDigit)
			isFloat = true
		}
		if q < len(s) && (s[q] == 'e' || s[q] == 'E') {
			e := q + 1
			if e < len(s) && (s[e] == '+' || s[e] == '-') {
				e++
			}
			if e < len(s) && isDigit(s[e]) {
				q = digitsRun(s, e, isDigit)
				isFloat = true
			}
		}
		if isFloat {
			t.pos = q
			return token{kind: tokFloat, val: strings.ReplaceAll(s[start:q], "_", ""), pos: start}, nil
		}
	}
	if s[start] == '0' && start+1 < len(s) {
		var digit func(byte) bool
		base := 0
		switch s[start+1] | 0x20 {
		case 'b':
			digit, base = func(c byte) bool { return c == '0' || c == '1' }, 2
		case 'o':
			digit, base = func(c byte) bool { return c >= '0' && c <= '7' }, 8
		case 'x':
			digit, base = func(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }, 16
		}
		if digit != nil {
			q := start + 2
			if q < len(s) && s[q] == '_' {
				q++
			}
			if q < len(s) && digit(s[q]) {
				q = digitsRun(s, q, digit)
				t.pos = q
				n, _ := new(big.Int).SetString(strings.ReplaceAll(s[start+2:q], "_", ""), base)
				return token{kind: tokInt, val: n.String(), pos: start}, nil
			}
		}
		// A decimal zero is 0(_?0)*: "012" is 0 followed by 12.
		q := start + 1
		for q < len(s) && (s[q] == '0' || s[q] == '_' && q+1 < len(s) && s[q+1] == '0') {
			q++
		}
		p = q
	}
	t.pos = p
	return token{kind: tokInt, val: strings.ReplaceAll(s[start:p], "_", ""), pos: start}, nil
}

// str reads a string literal and decodes it as Jinja does, with Python's
// unicode-escape codec.
func (t *tokenizer) str(quote byte) (token, error) {
	start := t.pos
	p := start + 1
	for {
		if p >= len(t.src) {
			return token{}, t.lexer.errorf(start, "string literal is never closed")
		}
		c := t.src[p]
		if c == quote {
			break
		}
		if c == '\\' {
			p++
		}
		p++
	}
	raw := t.src[start+1 : p]
	t.pos = p + 1
	if strings.IndexByte(raw, '\\') < 0 {
		return token{kind: tokString, val: raw, pos: start}, nil
	}
	val, err := unescape(raw)
	if err != "" {
		return token{}, t.lexer.errorf(start, "%s", err)
	}
	return token{kind: tokString, val: val, pos: start}, nil
}

func unescape(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			if c == '\\' {
				return "", "\\ at end of string"
			}
			b.WriteByte(c)
			continue
		}
		i++
		e := s[i]
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(s[i:j], 8, 32)
			b.WriteRune(rune(n))
			i = j - 1
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+width >= len(s) {
				return "", "truncated \\" + string(e) + " escape"
			}
			hex := s[i+1 : i+1+width]
			n, err := strconv.ParseUint(hex, 16, 32)
			if err != nil || len(hex) != width {
				return "", "truncated \\" + string(e) + " escape"
			}
			if n > unicode.MaxRune {
				return "", "illegal Unicode character"
			}
			b.WriteRune(rune(n))
			i += width
		case 'N':
			return "", "\\N{…} escapes are not supported"
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), ""
}
