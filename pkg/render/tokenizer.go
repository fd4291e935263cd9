package render

import (
	"strings"
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
	val  string // names and operators as written; strings unescaped
	pos  int    // offset in the normalized source
}

type tokenizer struct {
	src   string
	pos   int
	lexer *lexer
}

func (t *tokenizer) skipSpace() {
	for t.pos < len(t.src) && strings.IndexByte(" \t\n\r\f\v", t.src[t.pos]) >= 0 {
		t.pos++
	}
}

// Longest operators first.
var operators = []string{"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "="}

func (t *tokenizer) next() (token, error) {
	start := t.pos
	c := t.src[t.pos]
	switch {
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for t.pos < len(t.src) && isNameByte(t.src[t.pos]) {
			t.pos++
		}
		return token{kind: tokName, val: t.src[start:t.pos], pos: start}, nil
	case c >= '0' && c <= '9':
		kind := tokInt
		for t.pos < len(t.src) && (t.src[t.pos] >= '0' && t.src[t.pos] <= '9' || t.src[t.pos] == '_') {
			t.pos++
		}
		if t.pos+1 < len(t.src) && t.src[t.pos] == '.' && t.src[t.pos+1] >= '0' && t.src[t.pos+1] <= '9' {
			kind = tokFloat
			t.pos++
			for t.pos < len(t.src) && (t.src[t.pos] >= '0' && t.src[t.pos] <= '9' || t.src[t.pos] == '_') {
				t.pos++
			}
		}
		if t.pos < len(t.src) && (t.src[t.pos] == 'e' || t.src[t.pos] == 'E') {
			p := t.pos + 1
			if p < len(t.src) && (t.src[p] == '+' || t.src[p] == '-') {
				p++
			}
			if p < len(t.src) && t.src[p] >= '0' && t.src[p] <= '9' {
				kind = tokFloat
				t.pos = p
				for t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
					t.pos++
				}
			}
		}
		return token{kind: kind, val: strings.ReplaceAll(t.src[start:t.pos], "_", ""), pos: start}, nil
	case c == '\'' || c == '"':
		return t.str(c)
	}
	for _, op := range operators {
		if strings.HasPrefix(t.src[t.pos:], op) {
			t.pos += len(op)
			return token{kind: tokOp, val: op, pos: start}, nil
		}
	}
	return token{}, t.lexer.errorf(start, "unexpected character %q", c)
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// str reads a Python string literal, with Python's escapes.
func (t *tokenizer) str(quote byte) (token, error) {
	start := t.pos
	t.pos++
	var b strings.Builder
	for {
		if t.pos >= len(t.src) {
			return token{}, t.lexer.errorf(start, "string literal is never closed")
		}
		c := t.src[t.pos]
		switch {
		case c == quote:
			t.pos++
			return token{kind: tokString, val: b.String(), pos: start}, nil
		case c == '\\' && t.pos+1 < len(t.src):
			e := t.src[t.pos+1]
			t.pos += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '\'', '"':
				b.WriteByte(e)
			case '\n':
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			t.pos++
		}
	}
}
