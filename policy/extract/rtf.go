package extract

import (
	"golang.org/x/text/encoding/charmap"
)

// maxRTFDepth bounds the group nesting kept track of; deeper groups inherit
// the state of the deepest one kept.
const maxRTFDepth = 512

// rtfSkipped lists the destinations whose content is not text.
var rtfSkipped = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true, "object": true,
	"objdata": true, "themedata": true, "colorschememapping": true, "datastore": true, "latentstyles": true,
	"listtable": true, "listoverridetable": true, "rsidtbl": true, "generator": true, "xmlnstbl": true,
	"mmathPr": true, "fldinst": true, "filetbl": true, "revtbl": true, "pgdsctbl": true, "bkmkstart": true,
	"bkmkend": true, "nonshppict": true, "shpinst": true, "blipuid": true, "wgrffmtfilter": true,
	"pnseclvl": true, "pntext": true, "pntxtb": true, "pntxta": true, "listtext": true, "xe": true, "tc": true,
	"atnid": true, "atnauthor": true, "template": true, "userprops": true, "docvar": true,
}

// rtfChars maps control words that stand for characters.
var rtfChars = map[string]string{
	"par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n", "tab": "\t", "cell": "\t",
	"emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022", "lquote": "\u2018", "rquote": "\u2019",
	"ldblquote": "\u201c", "rdblquote": "\u201d", "emspace": " ", "enspace": " ", "qmspace": " ",
}

type rtfGroup struct {
	skip    bool // the content of this group is not text
	htmlrtf bool // \htmlrtf: RTF-only content of encapsulated HTML
	uc      int  // characters to skip after \uN
}

// rtfText writes the text of an RTF document: control words and
// non-text destinations are dropped, \'hh is read in the document's ANSI
// code page and \uN as Unicode.
func (s *state) rtfText(data []byte, k *sink) error {
	cp := charmap.Windows1252
	stack := make([]rtfGroup, 1, 16)
	stack[0].uc = 1
	extra := 0 // groups opened beyond maxRTFDepth
	pendingSkip := 0
	cur := func() *rtfGroup { return &stack[len(stack)-1] }
	emit := func(str string) error {
		g := cur()
		if g.skip || g.htmlrtf {
			return nil
		}
		return k.WriteString(str)
	}
	emitByte := func(b byte) error {
		if pendingSkip > 0 {
			pendingSkip--
			return nil
		}
		if b < 0x80 {
			return emit(string(rune(b)))
		}
		return emit(string(cp.DecodeByte(b)))
	}
	i := 0
	for i < len(data) {
		if err := s.tick(); err != nil {
			return err
		}
		c := data[i]
		switch c {
		case '{':
			i++
			if len(stack) >= maxRTFDepth {
				extra++
				continue
			}
			stack = append(stack, *cur())
			continue
		case '}':
			i++
			if extra > 0 {
				extra--
			} else if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			pendingSkip = 0
			continue
		case '\r', '\n':
			i++
			continue
		case '\\':
		default:
			i++
			if err := emitByte(c); err != nil {
				return err
			}
			continue
		}
		// A control word or symbol.
		i++
		if i >= len(data) {
			break
		}
		c = data[i]
		switch {
		case c == '\'':
			if i+2 < len(data) {
				if v, ok := hexByte(data[i+1], data[i+2]); ok {
					i += 3
					if err := emitByte(v); err != nil {
						return err
					}
					continue
				}
				i++
				continue
			}
			i = len(data)
		case c == '*':
			cur().skip = true
			i++
		case c == '\\' || c == '{' || c == '}':
			i++
			if err := emitByte(c); err != nil {
				return err
			}
		case c == '~':
			i++
			if err := emit(" "); err != nil {
				return err
			}
		case c == '_':
			i++
			if err := emit("-"); err != nil {
				return err
			}
		case c == '\r' || c == '\n':
			i++
			if err := emit("\n"); err != nil {
				return err
			}
		case isASCIILetter(c):
			start := i
			for i < len(data) && isASCIILetter(data[i]) && i-start < 32 {
				i++
			}
			word := string(data[start:i])
			param, hasParam := 0, false
			neg := false
			if i < len(data) && data[i] == '-' {
				neg = true
				i++
			}
			for n := 0; i < len(data) && data[i] >= '0' && data[i] <= '9'; n++ {
				if n < 10 {
					param = param*10 + int(data[i]-'0')
				}
				hasParam = true
				i++
			}
			if neg {
				param = -param
			}
			if i < len(data) && data[i] == ' ' {
				i++
			}
			switch {
			case word == "u" && hasParam:
				if param < 0 {
					param += 65536
				}
				if err := emit(string(rune(param))); err != nil {
					return err
				}
				pendingSkip = cur().uc
			case word == "uc" && hasParam:
				cur().uc = max(param, 0)
			case word == "ansicpg" && hasParam:
				cp = codePage(param)
			case word == "bin" && hasParam:
				i += max(param, 0)
			case word == "htmlrtf":
				cur().htmlrtf = !hasParam || param != 0
			case rtfSkipped[word]:
				cur().skip = true
			default:
				if str, ok := rtfChars[word]; ok {
					if err := emit(str); err != nil {
						return err
					}
				}
			}
		default:
			i++
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func hexByte(a, b byte) (byte, bool) {
	h, ok1 := hexVal(a)
	l, ok2 := hexVal(b)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// codePage returns the single-byte Windows code page n, or Windows-1252.
func codePage(n int) *charmap.Charmap {
	switch n {
	case 437:
		return charmap.CodePage437
	case 850:
		return charmap.CodePage850
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	case 874:
		return charmap.Windows874
	}
	return charmap.Windows1252
}
