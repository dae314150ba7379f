package render

import (
	"bytes"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	htmlcharset "golang.org/x/net/html/charset"
)

// wordDecoder decodes RFC 2047 encoded words in any charset go-message knows.
var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words in s, leaving s as it is if
// they do not decode.
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// decode2231 decodes the value of an RFC 2231 extended parameter.
func decode2231(cs, pct string) (string, bool) {
	b, err := url.PathUnescape(pct)
	if err != nil {
		return "", false
	}
	r, err := charset.Reader(cs, strings.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", false
	}
	return string(out), true
}

// decodeText converts a text body in charset cs to clean UTF-8: valid,
// with "\n" line ends and without control characters other than tab and
// newline. A body without a charset (or wrongly said to be US-ASCII) that is
// not UTF-8 is read as windows-1252, or for HTML as its <meta> says. An
// unknown charset is read as UTF-8, with replacement characters where that
// fails.
func decodeText(data []byte, cs string, isHTML bool) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if (cs == "" || cs == "us-ascii") && !utf8.Valid(data) {
		cs = "windows-1252"
		if isHTML {
			_, cs, _ = htmlcharset.DetermineEncoding(data, "text/html")
		}
	}
	s := ""
	switch cs {
	case "", "utf-8", "utf8", "us-ascii":
		s = string(data)
	default:
		r, err := charset.Reader(cs, bytes.NewReader(data))
		if err != nil {
			s = string(data)
			break
		}
		out, _ := io.ReadAll(r)
		s = string(out)
	}
	return cleanText(s)
}

// cleanText makes s valid UTF-8 with "\n" line ends and removes control
// characters other than tab and newline.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\t' || r == '\n':
			return r
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// cleanLine makes s a single clean line for display: valid UTF-8, control
// characters turned to spaces, no leading or trailing space.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// maxNameLen is the longest cleaned file name, in bytes.
const maxNameLen = 200

// CleanName returns name made safe to use as a file name: valid UTF-8;
// without '/', '\\', control characters or the invisible formatting
// characters that can disguise an extension (such as U+202E); without
// leading dots or surrounding spaces; at most 200 bytes, keeping the
// extension. An empty result becomes "attachment-<index>".
func CleanName(name string, index int) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\':
			return '_'
		case r == '\t' || unicode.Is(unicode.Zs, r):
			return ' '
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	name = strings.TrimLeft(name, ". ")
	if len(name) > maxNameLen {
		ext := path.Ext(name)
		if len(ext) > 20 || !utf8.ValidString(ext) {
			ext = ""
		}
		stem := truncate(strings.TrimSuffix(name, ext), maxNameLen-len(ext))
		name = strings.TrimSpace(stem) + ext
	}
	if name == "" || strings.Trim(name, ".") == "" {
		return "attachment-" + strconv.Itoa(index)
	}
	return name
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
