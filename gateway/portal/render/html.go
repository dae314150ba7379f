package render

import (
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
)

var (
	linkURL    = regexp.MustCompile(`(?i)^\s*(https?|mailto):`)
	cidURL     = regexp.MustCompile(`(?i)^\s*cid:`)
	colour     = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,20})$`)
	fontFace   = regexp.MustCompile(`^[\p{L}\p{N} ,_-]{1,100}$`)
	fontSize   = regexp.MustCompile(`^[+-]?[1-7]$`)
	langTag    = regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8}){0,4}$`)
	blockAlign = regexp.MustCompile(`(?i)^(center|justify|left|right)$`)
	nowrap     = regexp.MustCompile(`(?i)^(|nowrap)$`)
	scope      = regexp.MustCompile(`(?i)^(row|col|rowgroup|colgroup)$`)
)

// sanitizer sanitises the HTML pieces of one message.
type sanitizer struct {
	policy *bluemonday.Policy
	srcs   map[string]int // rewritten image URL → part index
	inline map[int]bool   // parts shown as images, filled in as pieces are sanitised
}

// newSanitizer returns a sanitizer for a message with the given parts.
// Images are kept only when their src is a cid: reference to a raster
// part; it is rewritten to partURL(index), or left as the cid: URL if
// partURL is nil. Each part shown is recorded in inline.
func newSanitizer(parts []Part, partURL func(int) string, inline map[int]bool) *sanitizer {
	cids := map[string]int{}
	folded := map[string]int{}
	for _, p := range parts {
		if p.ContentID == "" || !p.Raster {
			continue
		}
		if _, ok := cids[p.ContentID]; !ok {
			cids[p.ContentID] = p.Index
		}
		if _, ok := folded[strings.ToLower(p.ContentID)]; !ok {
			folded[strings.ToLower(p.ContentID)] = p.Index
		}
	}
	lookup := func(u *url.URL) (int, bool) {
		id := u.Opaque
		if un, err := url.PathUnescape(id); err == nil {
			id = un
		}
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		if i, ok := cids[id]; ok {
			return i, true
		}
		i, ok := folded[strings.ToLower(id)]
		return i, ok
	}
	s := &sanitizer{srcs: map[string]int{}, inline: inline}
	s.policy = emailPolicy(func(u *url.URL) bool {
		_, ok := lookup(u)
		return ok
	})
	s.policy.RewriteSrc(func(u *url.URL) {
		i, ok := lookup(u)
		if u.Scheme != "cid" || !ok {
			*u = url.URL{} // cannot happen: the cid policy let only these through
			return
		}
		if partURL != nil {
			nu, err := url.Parse(partURL(i))
			if err != nil {
				*u = url.URL{}
				return
			}
			*u = *nu
		}
		s.srcs[u.String()] = i
	})
	return s
}

// emailPolicy is a UGC-like policy for mail: formatting, lists, tables,
// links to http, https and mailto, and images only from cid: URLs that
// cidOK accepts. No style, script, forms, frames, embedded objects, SVG,
// meta or base survive, and no attribute that loads anything.
func emailPolicy(cidOK func(*url.URL) bool) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AddSpaceWhenStrippingTag(true)

	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(langTag).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()

	p.AllowElements(
		"b", "i", "u", "s", "strike", "em", "strong", "small", "big", "sub", "sup", "mark",
		"code", "kbd", "samp", "var", "tt", "pre", "blockquote", "q", "abbr", "acronym", "cite",
		"dfn", "del", "ins", "br", "hr", "p", "div", "span", "center", "h1", "h2", "h3", "h4",
		"h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "address", "article", "aside", "section",
		"header", "footer", "main", "figure", "figcaption", "details", "summary", "caption",
		"table", "thead", "tbody", "tfoot", "tr", "td", "th", "col", "colgroup", "bdi", "wbr",
		"ruby", "rt", "rp",
	)
	p.AllowAttrs("dir").Matching(bluemonday.Direction).OnElements("bdo")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`(?i)^(|open)$`)).OnElements("details")
	p.AllowAttrs("start", "value").Matching(bluemonday.Integer).OnElements("ol", "li")
	p.AllowAttrs("type").Matching(bluemonday.ListType).OnElements("ol", "ul", "li")

	p.AllowAttrs("align").Matching(blockAlign).OnElements(
		"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "caption", "hr")
	p.AllowAttrs("align").Matching(bluemonday.CellAlign).OnElements(
		"thead", "tbody", "tfoot", "tr", "td", "th", "col", "colgroup")
	p.AllowAttrs("valign").Matching(bluemonday.CellVerticalAlign).OnElements(
		"thead", "tbody", "tfoot", "tr", "td", "th", "col", "colgroup")
	p.AllowAttrs("width").Matching(bluemonday.NumberOrPercent).OnElements(
		"table", "td", "th", "col", "colgroup", "hr", "img")
	p.AllowAttrs("height").Matching(bluemonday.NumberOrPercent).OnElements("td", "th", "img")
	p.AllowAttrs("colspan", "rowspan").Matching(bluemonday.Integer).OnElements("td", "th")
	p.AllowAttrs("span").Matching(bluemonday.Integer).OnElements("col", "colgroup")
	p.AllowAttrs("border", "cellpadding", "cellspacing").Matching(bluemonday.Integer).OnElements("table")
	p.AllowAttrs("bgcolor").Matching(colour).OnElements("table", "tr", "td", "th")
	p.AllowAttrs("nowrap").Matching(nowrap).OnElements("td", "th")
	p.AllowAttrs("scope").Matching(scope).OnElements("td", "th")
	p.AllowAttrs("color").Matching(colour).OnElements("font")
	p.AllowAttrs("face").Matching(fontFace).OnElements("font")
	p.AllowAttrs("size").Matching(fontSize).OnElements("font")

	// Links: http, https and mailto only; bluemonday adds
	// rel="nofollow noreferrer", and target="_blank" with rel="noopener"
	// to links with a host.
	p.AllowAttrs("href").Matching(linkURL).OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)

	// Images: cid: only. The scheme is allowed for every URL attribute,
	// but the only one allowed to hold it is img src.
	p.AllowURLSchemeWithCustomPolicy("cid", cidOK)
	p.AllowAttrs("src").Matching(cidURL).OnElements("img")
	p.AllowAttrs("alt").OnElements("img")
	return p
}

// sanitize returns the sanitised form of one HTML piece.
func (s *sanitizer) sanitize(raw string) string {
	return strings.TrimSpace(s.keepImages(s.policy.Sanitize(raw)))
}

// keepImages removes from sanitised HTML every img whose src is not one of
// the rewritten part URLs (an img left with only its alt, for one), and
// records the parts that the remaining images show.
func (s *sanitizer) keepImages(clean string) string {
	if !strings.Contains(clean, "<img") {
		return clean
	}
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(clean))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return b.String()
		}
		raw := string(z.Raw())
		if tt == xhtml.StartTagToken || tt == xhtml.SelfClosingTagToken {
			name, more := z.TagName()
			if string(name) == "img" {
				src, found := "", false
				for more {
					var k, v []byte
					k, v, more = z.TagAttr()
					if string(k) == "src" {
						src, found = string(v), true
					}
				}
				i, ok := s.srcs[src]
				if !found || !ok {
					continue
				}
				s.inline[i] = true
			}
		}
		b.WriteString(raw)
	}
}

// textToHTML shows a plain-text piece within an HTML body.
func textToHTML(s string) string {
	return "<pre>" + html.EscapeString(s) + "</pre>"
}
