package render

import (
	"fmt"
	"strings"
)

// This file turns Jinja template source into segments (text, expressions,
// statements), applying Jinja's whitespace rules exactly as Jinja2's lexer
// does with trim_blocks=True and lstrip_blocks=True, so the text that reaches
// pongo2 is already the text Jinja would output.

type segKind int

const (
	segText segKind = iota
	segPrint
	segStmt
)

type segment struct {
	kind   segKind
	text   string  // segText: literal output
	tokens []token // segPrint, segStmt: the tag's content
	line   int     // line of the tag's opening delimiter (1-based)
	end    int     // offset of the closing delimiter, for errors at the end of a tag
	col    int
}

// SyntaxError is a template error with its position in the template.
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// normalizeSource does what Jinja's lexer does before anything else: every
// newline becomes "\n" and one trailing newline is dropped
// (keep_trailing_newline=False).
func normalizeSource(src string) string {
	if strings.ContainsRune(src, '\r') {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	return strings.TrimSuffix(src, "\n")
}

type lexer struct {
	file string
	src  string
	pos  int
	segs []segment
}

func (l *lexer) lineCol(pos int) (int, int) {
	line := 1 + strings.Count(l.src[:pos], "\n")
	col := pos - strings.LastIndexByte(l.src[:pos], '\n')
	return line, col
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	line, col := l.lineCol(pos)
	return &SyntaxError{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// lex splits normalized source into segments.
func lex(file, src string) ([]segment, error) {
	l := &lexer{file: file, src: src}
	lineStarting := true // the previous match ended a line (or nothing came yet)
	for l.pos < len(l.src) {
		start := nextTagStart(l.src, l.pos)
		if start < 0 {
			l.addText(l.src[l.pos:])
			break
		}
		text := l.src[l.pos:start]
		open := l.src[start : start+2]
		sign := byte(0)
		if start+2 < len(l.src) && (l.src[start+2] == '-' || l.src[start+2] == '+') {
			sign = l.src[start+2]
		}
		// Whitespace before the tag.
		switch {
		case sign == '-':
			text = strings.TrimRight(text, " \t\n\r\f\v")
		case sign != '+' && open != "{{":
			// lstrip_blocks: drop the spaces and tabs between the start of
			// the line and a block or comment tag.
			lpos := strings.LastIndexByte(text, '\n') + 1
			if (lpos > 0 || lineStarting) && lpos < len(text) && isBlank(text[lpos:]) {
				text = text[:lpos]
			}
		}
		l.addText(text)
		bodyStart := start + 2
		if sign != 0 {
			bodyStart++
		}
		var end int
		var err error
		switch open {
		case "{#":
			end, err = l.comment(start, bodyStart)
		case "{{":
			end, err = l.tag(start, bodyStart, segPrint, "}}")
		default:
			end, err = l.tag(start, bodyStart, segStmt, "%}")
		}
		if err != nil {
			return nil, err
		}
		l.pos = end
		lineStarting = end > 0 && l.src[end-1] == '\n'
	}
	return l.segs, nil
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\f', '\v', '\r':
		default:
			return false
		}
	}
	return true
}

func nextTagStart(src string, from int) int {
	for i := from; i+1 < len(src); i++ {
		if src[i] == '{' && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#') {
			return i
		}
	}
	return -1
}

func (l *lexer) addText(s string) {
	if s == "" {
		return
	}
	if n := len(l.segs); n > 0 && l.segs[n-1].kind == segText {
		l.segs[n-1].text += s
		return
	}
	l.segs = append(l.segs, segment{kind: segText, text: s})
}

// afterEnd applies the whitespace rules that follow a closing delimiter at
// pos (just past it): "-" strips all whitespace, "+" keeps it, and
// trim_blocks drops one newline after block and comment tags.
func (l *lexer) afterEnd(pos int, sign byte, trim bool) int {
	switch {
	case sign == '-':
		for pos < len(l.src) && strings.IndexByte(" \t\n\r\f\v", l.src[pos]) >= 0 {
			pos++
		}
	case sign == '+':
	case trim && pos < len(l.src) && l.src[pos] == '\n':
		pos++
	}
	return pos
}

func (l *lexer) comment(start, bodyStart int) (int, error) {
	i := strings.Index(l.src[bodyStart:], "#}")
	if i < 0 {
		return 0, l.errorf(start, "comment is never closed: missing #}")
	}
	closeAt := bodyStart + i
	sign := byte(0)
	if closeAt > bodyStart && l.src[closeAt-1] == '-' {
		sign = '-'
	}
	return l.afterEnd(closeAt+2, sign, true), nil
}

// tag tokenizes the content of {{ }} or {% %} up to its closing delimiter,
// which only counts outside brackets (so {'a': {'b': 1}} works in {{ }}).
func (l *lexer) tag(start, bodyStart int, kind segKind, closer string) (int, error) {
	line, col := l.lineCol(start)
	tz := &tokenizer{src: l.src, pos: bodyStart, lexer: l}
	var toks []token
	depth := 0
	for {
		tz.skipSpace()
		if tz.pos >= len(l.src) {
			return 0, l.errorf(start, "tag is never closed: missing %s", closer)
		}
		if depth == 0 {
			rest := l.src[tz.pos:]
			sign := byte(0)
			if len(rest) > 0 && (rest[0] == '-' || rest[0] == '+') && strings.HasPrefix(rest[1:], closer) {
				sign = rest[0]
				rest = rest[1:]
			}
			if strings.HasPrefix(rest, closer) {
				end := tz.pos + len(closer)
				if sign != 0 {
					end++
				}
				if kind == segStmt && len(toks) > 0 && toks[0].kind == tokName && toks[0].val == "raw" {
					return l.raw(start, end, sign)
				}
				l.segs = append(l.segs, segment{kind: kind, tokens: toks, line: line, col: col, end: tz.pos})
				return l.afterEnd(end, sign, kind == segStmt), nil
			}
		}
		tok, err := tz.next()
		if err != nil {
			return 0, err
		}
		switch tok.val {
		case "(", "[", "{":
			if tok.kind == tokOp {
				depth++
			}
		case ")", "]", "}":
			if tok.kind == tokOp {
				depth--
			}
		}
		toks = append(toks, tok)
	}
}

// raw copies everything up to {% endraw %} as text. As in Jinja, no newline
// is trimmed after {% raw %}, but one is after {% endraw %}.
func (l *lexer) raw(start, bodyStart int, openSign byte) (int, error) {
	if openSign == '-' {
		bodyStart = l.afterEnd(bodyStart, '-', false)
	}
	search := bodyStart
	for {
		i := strings.Index(l.src[search:], "{%")
		if i < 0 {
			return 0, l.errorf(start, "{%% raw %%} is never closed: missing {%% endraw %%}")
		}
		tagAt := search + i
		p := tagAt + 2
		sign := byte(0)
		if p < len(l.src) && (l.src[p] == '-' || l.src[p] == '+') {
			sign = l.src[p]
			p++
		}
		q := p
		for q < len(l.src) && isBlank(l.src[q:q+1]) {
			q++
		}
		if !strings.HasPrefix(l.src[q:], "endraw") {
			search = tagAt + 2
			continue
		}
		q += len("endraw")
		for q < len(l.src) && isBlank(l.src[q:q+1]) {
			q++
		}
		endSign := byte(0)
		if q < len(l.src) && (l.src[q] == '-' || l.src[q] == '+') {
			endSign = l.src[q]
			q++
		}
		if !strings.HasPrefix(l.src[q:], "%}") {
			search = tagAt + 2
			continue
		}
		text := l.src[bodyStart:tagAt]
		if sign == '-' {
			text = strings.TrimRight(text, " \t\n\r\f\v")
		} else if sign != '+' {
			lpos := strings.LastIndexByte(text, '\n') + 1
			if lpos > 0 && lpos < len(text) && isBlank(text[lpos:]) {
				text = text[:lpos]
			}
		}
		l.addText(text)
		return l.afterEnd(q+2, endSign, true), nil
	}
}
