package jinja

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file turns Jinja template source into segments (text, expressions,
// statements), applying Jinja's whitespace rules exactly as Jinja2's lexer
// does with trim_blocks=True and lstrip_blocks=True, so the text that
// reaches pongo2 is already the text Jinja would output.

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
	col    int
	end    int // offset of the closing delimiter, for errors at the end of a tag
}

// normalizeSource does what Jinja's lexer does before anything else: every
// newline becomes "\n" and one trailing newline is dropped
// (keep_trailing_newline=False).
func normalizeSource(src string) string {
	if strings.IndexByte(src, '\r') >= 0 {
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
	l := &lexer{file: file, src: src, segs: make([]segment, 0, 16)}
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
		text = l.stripBefore(text, sign, open != "{{", lineStarting)
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

// stripBefore applies the whitespace rules to the text before a tag: "-"
// strips all whitespace, and lstrip_blocks drops the blanks between the
// start of the line and a block or comment tag.
func (l *lexer) stripBefore(text string, sign byte, block, lineStarting bool) string {
	switch {
	case sign == '-':
		return strings.TrimRightFunc(text, pySpace)
	case sign != '+' && block:
		lpos := strings.LastIndexByte(text, '\n') + 1
		if (lpos > 0 || lineStarting) && lpos < len(text) && isBlank(text[lpos:]) {
			return text[:lpos]
		}
	}
	return text
}

// isBlank reports whether s is only whitespace other than newlines, as
// Python's \s sees it.
func isBlank(s string) bool {
	for _, r := range s {
		if !pySpace(r) {
			return false
		}
	}
	return true
}

func nextTagStart(src string, from int) int {
	for {
		i := strings.IndexByte(src[from:], '{')
		if i < 0 || from+i+1 >= len(src) {
			return -1
		}
		i += from
		switch src[i+1] {
		case '{', '%', '#':
			return i
		}
		from = i + 1
	}
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
		for pos < len(l.src) {
			r, n := utf8.DecodeRuneInString(l.src[pos:])
			if !pySpace(r) {
				break
			}
			pos += n
		}
	case sign == '+':
	case trim && pos < len(l.src) && l.src[pos] == '\n':
		pos++
	}
	return pos
}

func (l *lexer) comment(start, bodyStart int) (int, error) {
	// As Jinja's non-greedy match: the first "#}" ends the comment, and a
	// "-" or "+" just before it is its whitespace control.
	i := strings.Index(l.src[bodyStart:], "#}")
	if i < 0 {
		return 0, l.errorf(start, "comment is never closed: missing #}")
	}
	closeAt := bodyStart + i
	sign := byte(0)
	if closeAt > bodyStart && (l.src[closeAt-1] == '-' || l.src[closeAt-1] == '+') {
		sign = l.src[closeAt-1]
	}
	return l.afterEnd(closeAt+2, sign, true), nil
}

// tag tokenizes the content of {{ }} or {% %} up to its closing delimiter,
// which only counts outside brackets (so {'a': {'b': 1}} works in {{ }}).
func (l *lexer) tag(start, bodyStart int, kind segKind, closer string) (int, error) {
	line, col := l.lineCol(start)
	tz := &tokenizer{src: l.src, pos: bodyStart, lexer: l}
	var toks []token
	var balance []byte
	for {
		tz.skipSpace()
		if tz.pos >= len(l.src) {
			return 0, l.errorf(start, "tag is never closed: missing %s", closer)
		}
		if len(balance) == 0 {
			rest := l.src[tz.pos:]
			sign := byte(0)
			if len(rest) > 0 && (rest[0] == '-' || rest[0] == '+' && kind == segStmt) && strings.HasPrefix(rest[1:], closer) {
				sign = rest[0]
				rest = rest[1:]
			}
			if strings.HasPrefix(rest, closer) {
				end := tz.pos + len(closer)
				if sign != 0 {
					end++
				}
				if kind == segStmt && len(toks) == 1 && toks[0].kind == tokName && toks[0].val == "raw" && sign != '+' {
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
		if tok.kind == tokOp {
			switch tok.val {
			case "(":
				balance = append(balance, ')')
			case "[":
				balance = append(balance, ']')
			case "{":
				balance = append(balance, '}')
			case ")", "]", "}":
				if len(balance) == 0 {
					return 0, l.errorf(tok.pos, "unexpected '%s'", tok.val)
				}
				if want := balance[len(balance)-1]; want != tok.val[0] {
					return 0, l.errorf(tok.pos, "unexpected '%s', expected '%c'", tok.val, want)
				}
				balance = balance[:len(balance)-1]
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
	lineStarting := bodyStart > 0 && l.src[bodyStart-1] == '\n'
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
		q := skipSpaces(l.src, p)
		if !strings.HasPrefix(l.src[q:], "endraw") {
			search = tagAt + 2
			continue
		}
		q = skipSpaces(l.src, q+len("endraw"))
		endSign := byte(0)
		if q < len(l.src) && (l.src[q] == '-' || l.src[q] == '+') {
			endSign = l.src[q]
			q++
		}
		if !strings.HasPrefix(l.src[q:], "%}") {
			search = tagAt + 2
			continue
		}
		l.addText(l.stripBefore(l.src[bodyStart:tagAt], sign, true, lineStarting))
		return l.afterEnd(q+2, endSign, true), nil
	}
}

func skipSpaces(s string, p int) int {
	for p < len(s) {
		r, n := utf8.DecodeRuneInString(s[p:])
		if !pySpace(r) {
			break
		}
		p += n
	}
	return p
}
