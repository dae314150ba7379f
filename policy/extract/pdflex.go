package extract

import (
	"bytes"
	"errors"
	"strconv"
)

// PDF values, as read by pdfLex.
type (
	pdfName    string // without the slash
	pdfKeyword string // operators, true/false/null, obj, stream, R, and the delimiters << >> [ ]
	pdfString  []byte
	pdfArray   []any
	pdfDict    map[pdfName]any
	pdfRef     struct{ num, gen int }
)

// maxPDFNesting bounds arrays and dictionaries inside one another.
const maxPDFNesting = 32

var errPDFSyntax = errors.New("pdf syntax error")

// pdfLex reads PDF tokens and values from b, ticking the state's step budget
// for each token.
type pdfLex struct {
	s      *state
	b      []byte
	i      int
	noRefs bool // content streams have no indirect references
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *pdfLex) skipSpace() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case isPDFSpace(c):
			l.i++
		case c == '%':
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		default:
			return
		}
	}
}

// token returns the next token, or nil at the end of the input.
func (l *pdfLex) token() (any, error) {
	if err := l.s.tick(); err != nil {
		return nil, err
	}
	l.skipSpace()
	if l.i >= len(l.b) {
		return nil, nil
	}
	c := l.b[l.i]
	switch {
	case c == '/':
		l.i++
		start := l.i
		for l.i < len(l.b) && !isPDFSpace(l.b[l.i]) && !isPDFDelim(l.b[l.i]) {
			l.i++
		}
		return pdfName(unescapeName(l.b[start:l.i])), nil
	case c == '(':
		return l.literal()
	case c == '<':
		if l.i+1 < len(l.b) && l.b[l.i+1] == '<' {
			l.i += 2
			return pdfKeyword("<<"), nil
		}
		return l.hex(), nil
	case c == '>':
		if l.i+1 < len(l.b) && l.b[l.i+1] == '>' {
			l.i += 2
			return pdfKeyword(">>"), nil
		}
		l.i++
		return pdfKeyword(">"), nil
	case c == '[' || c == ']' || c == '{' || c == '}' || c == ')':
		l.i++
		return pdfKeyword(string(c)), nil
	}
	start := l.i
	for l.i < len(l.b) && !isPDFSpace(l.b[l.i]) && !isPDFDelim(l.b[l.i]) {
		l.i++
	}
	word := l.b[start:l.i]
	if c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9' {
		if f, err := strconv.ParseFloat(string(word), 64); err == nil {
			return f, nil
		}
	}
	return pdfKeyword(word), nil
}

func unescapeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, ok := hexByte(b[i+1], b[i+2]); ok {
				out = append(out, v)
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// literal reads a (string) with its escapes and balanced parentheses.
func (l *pdfLex) literal() (pdfString, error) {
	l.i++ // (
	// Fast path: no escapes or nested parentheses, the common case.
	for j := l.i; j < len(l.b); j++ {
		c := l.b[j]
		if c == ')' {
			out := l.b[l.i:j:j]
			l.i = j + 1
			return out, nil
		}
		if c == '\\' || c == '(' {
			break
		}
	}
	var out []byte
	depth := 1
	for l.i < len(l.b) {
		if l.s.steps++; l.s.steps&4095 == 0 && l.s.done() {
			return nil, errBudget
		}
		c := l.b[l.i]
		l.i++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return out, nil
			}
		case '\\':
			if l.i >= len(l.b) {
				return out, nil
			}
			e := l.b[l.i]
			l.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.i < len(l.b) && l.b[l.i] == '\n' {
					l.i++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for n := 0; n < 2 && l.i < len(l.b) && l.b[l.i] >= '0' && l.b[l.i] <= '7'; n++ {
						v = v*8 + int(l.b[l.i]-'0')
						l.i++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// hex reads a <hex string>.
func (l *pdfLex) hex() pdfString {
	l.i++ // <
	var out []byte
	var hi byte
	half := false
	for l.i < len(l.b) {
		c := l.b[l.i]
		l.i++
		if c == '>' {
			break
		}
		v, ok := hexVal(c)
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out
}

// value reads one value: a dictionary, an array, a reference ("1 0 R"), or
// a single token.
func (l *pdfLex) value(depth int) (any, error) {
	tok, err := l.token()
	if err != nil || tok == nil {
		return nil, err
	}
	return l.valueFrom(tok, depth)
}

func (l *pdfLex) valueFrom(tok any, depth int) (any, error) {
	if depth > maxPDFNesting {
		return nil, errPDFSyntax
	}
	switch t := tok.(type) {
	case pdfKeyword:
		switch t {
		case "<<":
			d := pdfDict{}
			for {
				k, err := l.token()
				if err != nil {
					return d, err
				}
				if k == nil || k == pdfKeyword(">>") {
					return d, nil
				}
				name, ok := k.(pdfName)
				if !ok {
					continue // tolerate junk between entries
				}
				v, err := l.value(depth + 1)
				if err != nil {
					return d, err
				}
				if v == pdfKeyword(">>") {
					return d, nil
				}
				d[name] = v
			}
		case "[":
			var a pdfArray
			for {
				v, err := l.value(depth + 1)
				if err != nil {
					return a, err
				}
				if v == nil || v == pdfKeyword("]") {
					return a, nil
				}
				a = append(a, v)
			}
		}
	case float64:
		if l.noRefs {
			return t, nil
		}
		// Maybe "num gen R".
		save := l.i
		t2, err := l.token()
		if err != nil {
			return nil, err
		}
		if g, ok := t2.(float64); ok {
			t3, err := l.token()
			if err != nil {
				return nil, err
			}
			if t3 == pdfKeyword("R") {
				return pdfRef{num: int(t), gen: int(g)}, nil
			}
		}
		l.i = save
		return t, nil
	}
	return tok, nil
}

// Accessors that tolerate any type.

func dictOf(v any) pdfDict {
	d, _ := v.(pdfDict)
	return d
}

func nameOf(v any) pdfName {
	n, _ := v.(pdfName)
	return n
}

func numOf(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}
