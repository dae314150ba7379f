package render

import (
	"strings"

	xhtml "golang.org/x/net/html"
)

// htmlToText renders HTML as plain text: tags stripped, entities decoded,
// whitespace collapsed outside <pre>, paragraph and line breaks kept, list
// items marked with "- ", table cells separated by a tab, and the address
// of an http(s) link added after its text when the text does not show it.
// Scripts, styles and the title are left out.
func htmlToText(s string) string {
	var t textBuilder
	z := xhtml.NewTokenizer(strings.NewReader(s))
	skip, pre := 0, 0
	href, linkStart := "", 0
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return t.finish()
		case xhtml.TextToken:
			if skip == 0 {
				t.text(string(z.Text()), pre > 0)
			}
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, more := z.TagName()
			tag := string(name)
			if skip > 0 {
				if skipped[tag] && tt == xhtml.StartTagToken {
					skip++
				}
				continue
			}
			switch {
			case skipped[tag]:
				if tt == xhtml.StartTagToken {
					skip++
				}
			case tag == "br":
				t.newline(true)
			case tag == "li":
				t.newline(false)
				t.word("-")
				t.pending = true
			case tag == "td" || tag == "th":
				t.cell()
			case tag == "a":
				href = ""
				for more {
					var k, v []byte
					k, v, more = z.TagAttr()
					if string(k) == "href" {
						if u := strings.TrimSpace(string(v)); linkURL.MatchString(u) && !strings.HasPrefix(strings.ToLower(u), "mailto:") {
							href = u
						}
					}
				}
				linkStart = t.b.Len()
			case paragraphs[tag]:
				t.paragraph()
			case lines[tag]:
				t.newline(false)
			}
			if tag == "pre" && tt == xhtml.StartTagToken {
				pre++
			}
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if skip > 0 {
				if skipped[tag] {
					skip--
				}
				continue
			}
			switch {
			case tag == "a":
				if href != "" && linkStart <= t.b.Len() && !strings.Contains(t.b.String()[linkStart:], href) {
					t.pending = true
					t.word("<" + href + ">")
				}
				href = ""
			case paragraphs[tag]:
				t.paragraph()
			case lines[tag]:
				t.newline(false)
			}
			if tag == "pre" && pre > 0 {
				pre--
			}
		}
	}
}

var (
	skipped    = set("script", "style", "title", "noscript", "template", "iframe", "noembed", "noframes")
	paragraphs = set("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "pre", "hr", "address", "figure")
	lines      = set("div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "aside", "nav", "main", "caption", "center", "figcaption", "details", "summary", "form", "fieldset")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// textBuilder collects text, collapsing whitespace and line breaks.
type textBuilder struct {
	b       strings.Builder
	nl      int  // newlines at the end of b
	pending bool // a space is due before the next word
}

// word writes w, after a space if one is due and the line has begun.
func (t *textBuilder) word(w string) {
	if t.pending && t.nl == 0 && t.b.Len() > 0 {
		t.b.WriteByte(' ')
	}
	t.pending = false
	t.b.WriteString(w)
	t.nl = 0
}

// text writes a text node: as it is inside <pre>, else with whitespace
// collapsed.
func (t *textBuilder) text(s string, pre bool) {
	if pre {
		for _, line := range strings.SplitAfter(s, "\n") {
			if line == "" {
				continue
			}
			body := strings.TrimSuffix(line, "\n")
			if body != "" {
				t.word(body)
			}
			if strings.HasSuffix(line, "\n") {
				t.newline(true)
			}
		}
		return
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		t.pending = t.pending || s != ""
		return
	}
	if strings.TrimLeftFunc(s, isSpace) != s {
		t.pending = true
	}
	for i, w := range words {
		if i > 0 {
			t.pending = true
		}
		t.word(w)
	}
	if strings.TrimRightFunc(s, isSpace) != s {
		t.pending = true
	}
}

func isSpace(r rune) bool { return strings.ContainsRune(" \t\n\r\f\v\u00a0\u0085", r) }

// newline ends the current line; a forced one (br) may leave an empty line.
func (t *textBuilder) newline(force bool) {
	t.pending = false
	if t.b.Len() == 0 && !force {
		return
	}
	if t.nl == 0 || force && t.nl < 2 {
		t.b.WriteByte('\n')
		t.nl++
	}
}

// paragraph leaves one empty line after the current text.
func (t *textBuilder) paragraph() {
	t.pending = false
	if t.b.Len() == 0 {
		return
	}
	for t.nl < 2 {
		t.b.WriteByte('\n')
		t.nl++
	}
}

// cell separates table cells on one line.
func (t *textBuilder) cell() {
	if t.nl == 0 && t.b.Len() > 0 {
		t.b.WriteByte('\t')
	}
	t.pending = false
}

// finish returns the text without trailing spaces on its lines and
// without leading or trailing empty lines.
func (t *textBuilder) finish() string {
	lines := strings.Split(cleanText(t.b.String()), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	out := strings.Trim(strings.Join(lines, "\n"), "\n")
	if out == "" {
		return ""
	}
	return out + "\n"
}
