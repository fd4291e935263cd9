package jinja

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// urlize and wordwrap: ports of Jinja's utils.urlize and of Python's
// textwrap, which wordwrap uses.

// The urlize patterns are compiled on first use: their Unicode classes
// make them costly to build at every program start.
var (
	httpRE      = lazyRegexp(`(?i)^((https?://|www\.)(([\p{L}\p{N}\p{Mn}_%-]+\.)+)?([a-z]{2,63}|xn--[\p{L}\p{N}\p{Mn}_%]{2,59})|([\p{L}\p{N}\p{Mn}_%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil)|(https?://)((([\d]{1,3})(\.[\d]{1,3}){3})|(\[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}\])))(?::[\d]{1,5})?(?:[/?#]` + reNonSpace + `*)?\n?$`)
	emailRE     = lazyRegexp(`^` + reNonSpace + `+@[\p{L}\p{N}\p{Mn}_][\p{L}\p{N}\p{Mn}_.-]*\.[\p{L}\p{N}\p{Mn}_]+\n?$`)
	uriSchemeRE = lazyRegexp(`^([\p{L}\p{N}\p{Mn}_.+-]{2,}:(/){0,2})$`)
	spaceSplit  = lazyRegexp(reSpace + `+`)
	headRE      = lazyRegexp(`^([(<]|&lt;)+`)
	tailRE      = lazyRegexp(`([)>.,\n]|&gt;)+$`)
)

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// filterURLize is urlize(trim_url_limit=None, nofollow=False, target=None,
// rel=None, extra_schemes=None) with Jinja's default policies (rel
// "noopener").
func filterURLize(_ *renderer, v any, a *args) any {
	p := a.bind("urlize", "trim_url_limit", "nofollow", "target", "rel", "extra_schemes")
	relParts := map[string]bool{"noopener": true}
	if rel, ok := p[3].(string); ok {
		for _, r := range strings.Fields(rel) {
			relParts[r] = true
		}
	}
	if truth(orDefault(p[1], false)) {
		relParts["nofollow"] = true
	}
	rels := make([]string, 0, len(relParts))
	for r := range relParts {
		rels = append(rels, r)
	}
	sort.Strings(rels)
	relAttr := ` rel="` + escapeString(strings.Join(rels, " ")) + `"`
	targetAttr := ""
	if t, ok := p[2].(string); ok && t != "" {
		targetAttr = ` target="` + escapeString(t) + `"`
	}
	var schemes []string
	if p[4] != nil {
		if _, isNone := p[4].(none); !isNone {
			for _, s := range items(mustDefined(p[4])) {
				ss := str(s)
				if !uriSchemeRE().MatchString(ss) {
					throw("%s is not a valid URI scheme prefix.", strRepr(ss))
				}
				schemes = append(schemes, ss)
			}
		}
	}
	limit := -1
	if p[0] != nil {
		if _, isNone := p[0].(none); !isNone {
			limit = needInt("urlize", p[0])
		}
	}
	trim := func(x string) string {
		if limit >= 0 && runeLen(x) > limit {
			return string([]rune(x)[:limit]) + "..."
		}
		return x
	}
	text := escape(v)
	var b strings.Builder
	last := 0
	word := func(w string) {
		head, middle, tail := "", w, ""
		if m := headRE().FindString(middle); m != "" {
			head, middle = m, middle[len(m):]
		}
		if strings.HasSuffix(middle, ")") || strings.HasSuffix(middle, ">") || strings.HasSuffix(middle, ".") ||
			strings.HasSuffix(middle, ",") || strings.HasSuffix(middle, "\n") || strings.HasSuffix(middle, "&gt;") {
			if loc := tailRE().FindStringIndex(middle); loc != nil {
				tail, middle = middle[loc[0]:], middle[:loc[0]]
			}
		}
		for _, pair := range [][2]string{{"(", ")"}, {"<", ">"}, {"&lt;", "&gt;"}} {
			start := strings.Count(middle, pair[0])
			if start <= strings.Count(middle, pair[1]) {
				continue
			}
			for range min(start, strings.Count(tail, pair[1])) {
				end := strings.Index(tail, pair[1]) + len(pair[1])
				middle += tail[:end]
				tail = tail[end:]
			}
		}
		switch {
		case httpRE().MatchString(middle):
			href := middle
			if !strings.HasPrefix(middle, "https://") && !strings.HasPrefix(middle, "http://") {
				href = "https://" + middle
			}
			middle = `<a href="` + href + `"` + relAttr + targetAttr + `>` + trim(middle) + `</a>`
		case strings.HasPrefix(middle, "mailto:") && emailRE().MatchString(middle[7:]):
			middle = `<a href="` + middle + `">` + middle[7:] + `</a>`
		case strings.Contains(middle, "@") && !strings.HasPrefix(middle, "www.") && !strings.Contains(middle, ":") && emailRE().MatchString(middle):
			middle = `<a href="mailto:` + middle + `">` + middle + `</a>`
		default:
			for _, s := range schemes {
				if middle != s && strings.HasPrefix(middle, s) {
					middle = `<a href="` + middle + `"` + relAttr + targetAttr + `>` + middle + `</a>`
				}
			}
		}
		b.WriteString(head + middle + tail)
	}
	for _, loc := range spaceSplit().FindAllStringIndex(text, -1) {
		word(text[last:loc[0]])
		b.WriteString(text[loc[0]:loc[1]])
		last = loc[1]
	}
	word(text[last:])
	return b.String()
}

// filterWordwrap is wordwrap(width=79, break_long_words=True,
// wrapstring=None, break_on_hyphens=True): textwrap.wrap on every line.
func filterWordwrap(_ *renderer, v any, a *args) any {
	p := a.bind("wordwrap", "width", "break_long_words", "wrapstring", "break_on_hyphens")
	width := needInt("wordwrap", orDefault(p[0], 79))
	breakLong := truth(orDefault(p[1], true))
	wrapstring := "\n"
	if p[2] != nil {
		if _, isNone := p[2].(none); !isNone {
			wrapstring = str(p[2])
		}
	}
	hyphens := truth(orDefault(p[3], true))
	if !isString(mustDefined(v)) {
		throw("'%s' object has no attribute 'splitlines'", typeName(v))
	}
	var out []string
	for _, line := range pySplitlines(str(v), false) {
		out = append(out, strings.Join(textWrap(line, width, breakLong, hyphens), wrapstring))
	}
	return strings.Join(out, wrapstring)
}

func isWrapSpace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == ' '
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Nl, unicode.No, unicode.Pc)
}

func isLetterChar(r rune) bool {
	return isWordChar(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Nd, r)
}

func isWordPunct(r rune) bool { return isWordChar(r) || strings.ContainsRune(`!"'&.,?`, r) }

// wordChunks splits text as textwrap's wordsep_re (break_on_hyphens) or
// wordsep_simple_re does: whitespace runs, and words cut after hyphens
// between letters and before em-dashes.
func wordChunks(text string, hyphens bool) []string {
	t := []rune(text)
	n := len(t)
	at := func(i int) rune {
		if i < 0 || i >= n {
			return 0
		}
		return t[i]
	}
	var out []string
	for i := 0; i < n; {
		if isWrapSpace(t[i]) {
			j := i
			for j < n && isWrapSpace(t[j]) {
				j++
			}
			out = append(out, string(t[i:j]))
			i = j
			continue
		}
		if !hyphens {
			j := i
			for j < n && !isWrapSpace(t[j]) {
				j++
			}
			out = append(out, string(t[i:j]))
			i = j
			continue
		}
		// An em-dash between words.
		if i > 0 && isWordPunct(t[i-1]) && t[i] == '-' && at(i+1) == '-' {
			k := i
			for k < n && t[k] == '-' {
				k++
			}
			if k < n && isWordChar(t[k]) {
				out = append(out, string(t[i:k]))
				i = k
				continue
			}
		}
		end := -1
		for j := i + 1; j <= n; j++ {
			if isWrapSpace(t[j-1]) {
				break
			}
			// A hyphenated word: cut after the hyphen at j.
			if at(j) == '-' && (isLetterChar(at(j-2)) && isLetterChar(at(j-1)) ||
				isLetterChar(at(j-3)) && at(j-2) == '-' && isLetterChar(at(j-1))) &&
				isLetterChar(at(j+1)) && (isLetterChar(at(j+2)) || at(j+2) == '-' && isLetterChar(at(j+3))) {
				end = j + 1
				break
			}
			// The end of the word.
			if j == n || isWrapSpace(t[j]) {
				end = j
				break
			}
			// Before an em-dash.
			if isWordPunct(t[j-1]) && t[j] == '-' && at(j+1) == '-' {
				k := j
				for k < n && t[k] == '-' {
					k++
				}
				if k < n && isWordChar(t[k]) {
					end = j
					break
				}
			}
		}
		out = append(out, string(t[i:end]))
		i = end
	}
	return out
}

// textWrap is textwrap.wrap(text, width, expand_tabs=False,
// replace_whitespace=False, break_long_words, break_on_hyphens).
func textWrap(text string, width int, breakLong, hyphens bool) []string {
	if width <= 0 {
		throw("invalid width %d (must be > 0)", width)
	}
	chunks := wordChunks(text, hyphens)
	rlen := func(s string) int { return len([]rune(s)) }
	blank := func(s string) bool { return strings.TrimFunc(s, pySpace) == "" }
	// chunks is consumed from the front.
	var lines []string
	for len(chunks) > 0 {
		var cur []string
		curLen := 0
		if blank(chunks[0]) && len(lines) > 0 {
			chunks = chunks[1:]
		}
		for len(chunks) > 0 {
			l := rlen(chunks[0])
			if curLen+l > width {
				break
			}
			cur = append(cur, chunks[0])
			curLen += l
			chunks = chunks[1:]
		}
		if len(chunks) > 0 && rlen(chunks[0]) > width {
			spaceLeft := width - curLen
			if breakLong {
				chunk := []rune(chunks[0])
				end := spaceLeft
				if hyphens && len(chunk) > spaceLeft {
					if h := strings.LastIndex(string(chunk[:spaceLeft]), "-"); h > 0 {
						hr := rlen(string(chunk[:spaceLeft])[:h])
						if strings.Trim(string(chunk[:hr]), "-") != "" {
							end = hr + 1
						}
					}
				}
				cur = append(cur, string(chunk[:end]))
				chunks[0] = string(chunk[end:])
			} else if len(cur) == 0 {
				cur = append(cur, chunks[0])
				chunks = chunks[1:]
			}
		}
		if len(cur) > 0 && blank(cur[len(cur)-1]) {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, strings.Join(cur, ""))
		}
	}
	return lines
}
