package extract

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxHTMLToken bounds the size of any one HTML token.
const maxHTMLToken = 1 << 20

// htmlText writes the text of an HTML document: script, style and template
// contents are dropped, entities decoded, runs of white space collapsed, and
// block elements end lines.
func (s *state) htmlText(r io.Reader, k *sink) error {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(maxHTMLToken)
	skipping := atom.Atom(0) // the element whose content is being dropped
	for {
		if err := s.tick(); err != nil {
			return err
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			err := z.Err()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if errors.Is(err, errBudget) {
				return err
			}
			return errors.Join(errUnscannable, err)
		case html.TextToken:
			if skipping != 0 {
				continue
			}
			if err := writeCollapsed(k, z.Text()); err != nil {
				return err
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipping != 0 {
				if tt == html.EndTagToken && a == skipping {
					skipping = 0
				}
				continue
			}
			switch a {
			case atom.Script, atom.Style, atom.Template:
				if tt == html.StartTagToken {
					skipping = a
				}
				continue
			}
			if err := htmlBreak(k, a); err != nil {
				return err
			}
		}
	}
}

// htmlBreak writes the separator that element a implies.
func htmlBreak(k *sink, a atom.Atom) error {
	switch a {
	case atom.Br, atom.P, atom.Div, atom.Li, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Dt, atom.Dd,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Blockquote, atom.Pre, atom.Hr,
		atom.Section, atom.Article, atom.Header, atom.Footer, atom.Title, atom.Address, atom.Caption,
		atom.Body, atom.Form, atom.Fieldset, atom.Figure, atom.Nav, atom.Aside, atom.Main:
		return k.sep('\n')
	case atom.Td, atom.Th:
		return k.sep('\t')
	}
	return nil
}

// writeCollapsed writes text with each run of white space (including
// no-break spaces) as one space.
func writeCollapsed(k *sink, text []byte) error {
	t := strings.ReplaceAll(string(text), "\u00a0", " ")
	space := false
	start := true
	var b strings.Builder
	for _, r := range t {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			space = true
			continue
		}
		if space && !(start && isSpaceByte(k.lastByte())) {
			b.WriteByte(' ')
		}
		space, start = false, false
		b.WriteRune(r)
	}
	if space && !start {
		b.WriteByte(' ')
	}
	if start && space && !isSpaceByte(k.lastByte()) {
		b.WriteByte(' ')
	}
	return k.WriteString(b.String())
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }
