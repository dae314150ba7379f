package extract

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"io"
	"sort"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// Bounds of the PDF reader besides the state's budgets.
const (
	maxPDFObjects   = 1 << 18 // objects indexed
	maxPDFPages     = 1 << 14
	maxPDFFormDepth = 4  // form XObjects inside one another
	maxPDFOperands  = 64 // operands kept before an operator
	maxCMapRanges   = 4096
)

type pdfObj struct {
	val     any
	stream  []byte // raw stream data, nil if none
	decoded []byte
	done    bool // decoded is set
}

type pdfDoc struct {
	s       *state
	data    []byte
	objs    map[int]*pdfObj
	fonts   map[pdfRef]*pdfFont
	budget  bool // the decompression budget was hit
	visited map[pdfRef]bool
}

// pdfText writes the text of a PDF document.
func (s *state) pdfText(data []byte, k *sink) error {
	if pdfEncrypted(data) {
		return errEncrypted
	}
	d := &pdfDoc{s: s, data: data, objs: map[int]*pdfObj{}, fonts: map[pdfRef]*pdfFont{}, visited: map[pdfRef]bool{}}
	if err := d.index(); err != nil {
		return err
	}
	if err := d.objectStreams(); err != nil {
		return err
	}
	pages, err := d.pages()
	if err != nil {
		return err
	}
	if len(pages) > 0 {
		for _, p := range pages {
			content := d.contents(p.dict["Contents"])
			if err := d.run(content, p.resources, 0, k); err != nil {
				return err
			}
			if err := k.sep('\n'); err != nil {
				return err
			}
		}
	} else if err := d.fallback(k); err != nil {
		return err
	}
	if err := d.fieldsAndInfo(k); err != nil {
		return err
	}
	if d.budget {
		return errBudget
	}
	return nil
}

// pdfEncrypted reports whether the file has an /Encrypt entry (in its
// trailer or cross-reference stream dictionary; both are never compressed).
func pdfEncrypted(data []byte) bool {
	key := []byte("/Encrypt")
	for off := 0; ; {
		i := bytes.Index(data[off:], key)
		if i < 0 {
			return false
		}
		j := off + i + len(key)
		if j >= len(data) || isPDFSpace(data[j]) || isPDFDelim(data[j]) {
			return true
		}
		off = j
	}
}

// index finds every "N G obj" in the file, whatever the cross-reference
// table says; later definitions win, as with incremental updates.
func (d *pdfDoc) index() error {
	key := []byte("obj")
	for off := 0; off < len(d.data); {
		if err := d.s.tick(); err != nil {
			return err
		}
		i := bytes.Index(d.data[off:], key)
		if i < 0 {
			return nil
		}
		at := off + i
		off = at + len(key)
		if off < len(d.data) && !isPDFSpace(d.data[off]) && !isPDFDelim(d.data[off]) {
			continue // "objx", "endobj" is caught below
		}
		num, ok := objNumberBefore(d.data, at)
		if !ok {
			continue
		}
		if len(d.objs) >= maxPDFObjects {
			return errBudget
		}
		l := &pdfLex{s: d.s, b: d.data, i: off}
		v, err := l.value(0)
		if err != nil {
			if errors.Is(err, errBudget) {
				return err
			}
			continue
		}
		o := &pdfObj{val: v}
		d.objs[num] = o
		off = l.i
		if dict, ok := v.(pdfDict); ok {
			l.skipSpace()
			if bytes.HasPrefix(d.data[l.i:], []byte("stream")) {
				start := l.i + len("stream")
				if bytes.HasPrefix(d.data[start:], []byte("\r\n")) {
					start += 2
				} else if start < len(d.data) && (d.data[start] == '\n' || d.data[start] == '\r') {
					start++
				}
				end := d.streamEnd(start, dict["Length"])
				o.stream = d.data[start:end]
				off = end
			}
		}
	}
	return nil
}

// objNumberBefore reads "N G " backwards from the "obj" at at.
func objNumberBefore(b []byte, at int) (int, bool) {
	i := at
	digits := func() (int, bool) {
		for i > 0 && isPDFSpace(b[i-1]) {
			i--
		}
		end := i
		for i > 0 && b[i-1] >= '0' && b[i-1] <= '9' && end-i < 10 {
			i--
		}
		if i == end {
			return 0, false
		}
		n := 0
		for _, c := range b[i:end] {
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if _, ok := digits(); !ok {
		return 0, false
	}
	num, ok := digits()
	if !ok || i > 0 && !isPDFSpace(b[i-1]) && !isPDFDelim(b[i-1]) {
		return 0, false
	}
	return num, true
}

// streamEnd trusts a direct /Length only if "endstream" follows it;
// otherwise it looks for "endstream". A declared length beyond the file is
// never trusted.
func (d *pdfDoc) streamEnd(start int, length any) int {
	if n, ok := numOf(length); ok && n >= 0 && int64(start)+int64(n) <= int64(len(d.data)) {
		end := start + int(n)
		rest := d.data[end:min(len(d.data), end+32)]
		if bytes.Contains(rest, []byte("endstream")) {
			return end
		}
	}
	i := bytes.Index(d.data[start:], []byte("endstream"))
	if i < 0 {
		return len(d.data)
	}
	end := start + i
	if end > start && d.data[end-1] == '\n' {
		end--
	}
	if end > start && d.data[end-1] == '\r' {
		end--
	}
	return end
}

// resolve follows references, at most a few deep.
func (d *pdfDoc) resolve(v any) any {
	for n := 0; n < 8; n++ {
		r, ok := v.(pdfRef)
		if !ok {
			return v
		}
		o := d.objs[r.num]
		if o == nil {
			return nil
		}
		v = o.val
	}
	return nil
}

// streamOf returns the decoded stream of the object v refers to, or nil.
func (d *pdfDoc) streamOf(v any) ([]byte, pdfDict) {
	r, ok := v.(pdfRef)
	if !ok {
		return nil, nil
	}
	o := d.objs[r.num]
	if o == nil || o.stream == nil {
		return nil, dictOf(d.resolve(v))
	}
	dict := dictOf(o.val)
	if !o.done {
		o.done = true
		o.decoded = d.decode(o.stream, dict)
	}
	return o.decoded, dict
}

// decode applies a stream's filters within the decompression budget. An
// unsupported filter gives nil; a broken stream gives what could be read.
func (d *pdfDoc) decode(raw []byte, dict pdfDict) []byte {
	var filters []pdfName
	switch f := d.resolve(dict["Filter"]).(type) {
	case pdfName:
		filters = []pdfName{f}
	case pdfArray:
		for _, v := range f {
			filters = append(filters, nameOf(d.resolve(v)))
		}
	}
	if len(filters) > 4 {
		return nil
	}
	data := raw
	for _, f := range filters {
		var r io.Reader
		switch f {
		case "FlateDecode", "Fl":
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				r = flate.NewReader(bytes.NewReader(data))
			} else {
				r = zr
			}
		case "ASCIIHexDecode", "AHx":
			l := &pdfLex{s: d.s, b: append([]byte{'<'}, data...)}
			data = l.hex()
			continue
		case "ASCII85Decode", "A85":
			if i := bytes.Index(data, []byte("~>")); i >= 0 {
				data = data[:i]
			}
			r = ascii85.NewDecoder(bytes.NewReader(data))
		default:
			return nil
		}
		out, err := d.s.readAll(r, d.s.lim.MaxDecompressed)
		if errors.Is(err, errBudget) {
			d.budget = true
		}
		data = out
	}
	return data
}

// objectStreams indexes the objects packed in object streams.
func (d *pdfDoc) objectStreams() error {
	nums := make([]int, 0)
	for n, o := range d.objs {
		if o.stream != nil && nameOf(dictOf(o.val)["Type"]) == "ObjStm" {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		data, dict := d.streamOf(pdfRef{num: n})
		count, _ := numOf(dict["N"])
		first, _ := numOf(dict["First"])
		if data == nil || count <= 0 || first < 0 || int(first) > len(data) {
			continue
		}
		l := &pdfLex{s: d.s, b: data[:int(first)]}
		for i := 0; i < int(count); i++ {
			a, err := l.token()
			if err != nil {
				return err
			}
			b, err := l.token()
			if err != nil {
				return err
			}
			num, ok1 := numOf(a)
			off, ok2 := numOf(b)
			if !ok1 || !ok2 {
				break
			}
			if _, ok := d.objs[int(num)]; ok || off < 0 || int(first)+int(off) >= len(data) {
				continue
			}
			if len(d.objs) >= maxPDFObjects {
				return errBudget
			}
			vl := &pdfLex{s: d.s, b: data, i: int(first) + int(off)}
			v, err := vl.value(0)
			if errors.Is(err, errBudget) {
				return err
			}
			d.objs[int(num)] = &pdfObj{val: v}
		}
	}
	return nil
}

type pdfPage struct {
	dict      pdfDict
	resources pdfDict
}

// pages walks the page tree from the catalog, in order, with inherited
// resources.
func (d *pdfDoc) pages() ([]pdfPage, error) {
	var root any
	for n, o := range d.objs {
		if nameOf(dictOf(o.val)["Type"]) == "Catalog" {
			if root == nil || n > root.(pdfRef).num {
				root = pdfRef{num: n}
			}
		}
	}
	if root == nil {
		return nil, nil
	}
	var out []pdfPage
	seen := map[pdfRef]bool{}
	var walk func(v any, res pdfDict, depth int) error
	walk = func(v any, res pdfDict, depth int) error {
		if err := d.s.tick(); err != nil {
			return err
		}
		if r, ok := v.(pdfRef); ok {
			if seen[r] {
				return nil
			}
			seen[r] = true
		}
		node := dictOf(d.resolve(v))
		if node == nil || depth > 64 || len(out) >= maxPDFPages {
			return nil
		}
		if r := dictOf(d.resolve(node["Resources"])); r != nil {
			res = r
		}
		if kids, ok := d.resolve(node["Kids"]).(pdfArray); ok {
			for _, kid := range kids {
				if err := walk(kid, res, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if node["Contents"] != nil {
			out = append(out, pdfPage{dict: node, resources: res})
		}
		return nil
	}
	catalog := dictOf(d.resolve(root))
	return out, walk(catalog["Pages"], nil, 0)
}

// contents concatenates a page's content streams.
func (d *pdfDoc) contents(v any) []byte {
	if a, ok := d.resolve(v).(pdfArray); ok {
		var out []byte
		for _, x := range a {
			b, _ := d.streamOf(x)
			out = append(out, b...)
			out = append(out, '\n')
		}
		return out
	}
	b, _ := d.streamOf(v)
	return b
}

// fallback reads every stream that looks like page content, for files whose
// page tree cannot be found.
func (d *pdfDoc) fallback(k *sink) error {
	nums := make([]int, 0, len(d.objs))
	for n, o := range d.objs {
		if o.stream != nil {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		dict := dictOf(d.objs[n].val)
		switch nameOf(dict["Type"]) {
		case "XRef", "ObjStm", "Metadata", "XObject", "EmbeddedFile":
			continue
		}
		if dict["Subtype"] != nil || dict["Length1"] != nil {
			continue // images, fonts
		}
		data, _ := d.streamOf(pdfRef{num: n})
		if !bytes.Contains(data, []byte("BT")) {
			continue
		}
		if err := d.run(data, nil, 0, k); err != nil {
			return err
		}
		if err := k.sep('\n'); err != nil {
			return err
		}
	}
	return nil
}

// run interprets a content stream, writing the text its text operators
// show.
func (d *pdfDoc) run(content []byte, res pdfDict, depth int, k *sink) error {
	l := &pdfLex{s: d.s, b: content, noRefs: true}
	var ops []any
	var font *pdfFont
	lastY, haveY := 0.0, false
	for {
		tok, err := l.token()
		if err != nil {
			return err
		}
		if tok == nil {
			return nil
		}
		kw, isOp := tok.(pdfKeyword)
		if !isOp || kw == "[" || kw == "<<" {
			v, err := l.valueFrom(tok, 0)
			if err != nil {
				if errors.Is(err, errBudget) {
					return err
				}
				ops = ops[:0]
				continue
			}
			if len(ops) >= maxPDFOperands {
				ops = ops[1:]
			}
			ops = append(ops, v)
			continue
		}
		switch kw {
		case "Tf":
			if len(ops) >= 2 {
				font = d.font(res, nameOf(ops[len(ops)-2]))
			}
		case "Tj":
			if len(ops) >= 1 {
				err = writeShown(k, font, ops[len(ops)-1])
			}
		case "'", "\"":
			if err = k.sep('\n'); err == nil && len(ops) >= 1 {
				err = writeShown(k, font, ops[len(ops)-1])
			}
		case "TJ":
			if len(ops) >= 1 {
				a, _ := ops[len(ops)-1].(pdfArray)
				for _, x := range a {
					if n, ok := x.(float64); ok {
						if n < -250 {
							err = k.sep(' ')
						}
					} else {
						err = writeShown(k, font, x)
					}
					if err != nil {
						break
					}
				}
			}
		case "T*":
			err = k.sep('\n')
		case "Td", "TD":
			if len(ops) >= 2 {
				if ty, _ := numOf(ops[len(ops)-1]); ty != 0 {
					err = k.sep('\n')
				} else {
					err = k.sep(' ')
				}
			}
		case "Tm":
			if len(ops) >= 6 {
				y, _ := numOf(ops[len(ops)-1])
				if haveY && y != lastY {
					err = k.sep('\n')
				} else {
					err = k.sep(' ')
				}
				lastY, haveY = y, true
			}
		case "ET":
			err = k.sep(' ')
		case "Do":
			if len(ops) >= 1 && depth < maxPDFFormDepth {
				err = d.form(res, nameOf(ops[len(ops)-1]), depth, k)
			}
		case "BI":
			// Skip an inline image: its data runs to "EI" after white space.
			for l.i < len(l.b) {
				j := bytes.Index(l.b[l.i:], []byte("EI"))
				if j < 0 {
					l.i = len(l.b)
					break
				}
				at := l.i + j
				l.i = at + 2
				if at > 0 && isPDFSpace(l.b[at-1]) && (l.i >= len(l.b) || isPDFSpace(l.b[l.i])) {
					break
				}
			}
		}
		if err != nil {
			return err
		}
		ops = ops[:0]
	}
}

// form runs a form XObject named in the resources.
func (d *pdfDoc) form(res pdfDict, name pdfName, depth int, k *sink) error {
	xobjs := dictOf(d.resolve(res["XObject"]))
	ref, ok := xobjs[name].(pdfRef)
	if !ok || d.visited[ref] {
		return nil
	}
	data, dict := d.streamOf(ref)
	if nameOf(dict["Subtype"]) != "Form" || data == nil {
		return nil
	}
	d.visited[ref] = true
	defer delete(d.visited, ref)
	inner := dictOf(d.resolve(dict["Resources"]))
	if inner == nil {
		inner = res
	}
	return d.run(data, inner, depth+1, k)
}

// writeShown writes a string shown by a text operator, decoded with the
// current font.
func writeShown(k *sink, f *pdfFont, v any) error {
	s, ok := v.(pdfString)
	if !ok {
		return nil
	}
	if f == nil {
		f = &pdfFont{}
	}
	return f.decode(s, k)
}

// pdfFont is what is needed to turn a font's codes into text.
type pdfFont struct {
	cmap      *cmap
	composite bool     // Type0: multi-byte codes
	diff      []string // simple fonts: /Differences, by code
	enc       *charmap.Charmap
}

func (d *pdfDoc) font(res pdfDict, name pdfName) *pdfFont {
	fonts := dictOf(d.resolve(res["Font"]))
	v := fonts[name]
	ref, isRef := v.(pdfRef)
	if isRef {
		if f, ok := d.fonts[ref]; ok {
			return f
		}
	}
	fd := dictOf(d.resolve(v))
	f := &pdfFont{enc: charmap.Windows1252}
	if fd != nil {
		f.composite = nameOf(fd["Subtype"]) == "Type0"
		if data, _ := d.streamOf(fd["ToUnicode"]); data != nil {
			f.cmap = parseCMap(d.s, data)
		}
		switch e := d.resolve(fd["Encoding"]).(type) {
		case pdfName:
			if e == "MacRomanEncoding" {
				f.enc = charmap.Macintosh
			}
		case pdfDict:
			if nameOf(e["BaseEncoding"]) == "MacRomanEncoding" {
				f.enc = charmap.Macintosh
			}
			if diffs, ok := d.resolve(e["Differences"]).(pdfArray); ok {
				f.diff = make([]string, 256)
				code := 0
				for _, x := range diffs {
					switch t := x.(type) {
					case float64:
						code = int(t)
					case pdfName:
						if code >= 0 && code < 256 {
							f.diff[code] = glyphText(string(t))
						}
						code++
					}
				}
			}
		}
	}
	if isRef {
		d.fonts[ref] = f
	}
	return f
}

// decode writes the text of the codes in s.
func (f *pdfFont) decode(s []byte, k *sink) error {
	if f.cmap != nil {
		return f.cmap.decode(s, f, k)
	}
	if f.composite {
		return nil // codes are glyph ids; without a ToUnicode map they mean nothing
	}
	if f.diff == nil && printableASCII(s) {
		return k.writeBytes(s)
	}
	for _, c := range s {
		if err := f.writeSimple(c, k); err != nil {
			return err
		}
	}
	return nil
}

func (f *pdfFont) writeSimple(c byte, k *sink) error {
	if f.diff != nil && f.diff[c] != "" {
		return k.WriteString(f.diff[c])
	}
	switch {
	case c == '\r' || c == '\n' || c == '\t':
		return k.WriteByte(' ')
	case c < 0x20:
		return nil
	case c < 0x80:
		return k.WriteByte(c)
	}
	enc := f.enc
	if enc == nil {
		enc = charmap.Windows1252
	}
	return k.WriteRune(enc.DecodeByte(c))
}

// glyphText maps the common glyph names of /Differences arrays to text.
func glyphText(name string) string {
	if len(name) == 1 && (isASCIILetter(name[0]) || name[0] >= '0' && name[0] <= '9') {
		return name
	}
	if len(name) == 7 && name[:3] == "uni" {
		var r rune
		for _, c := range []byte(name[3:]) {
			v, ok := hexVal(c)
			if !ok {
				return ""
			}
			r = r<<4 | rune(v)
		}
		return string(r)
	}
	switch name {
	case "space":
		return " "
	case "period":
		return "."
	case "comma":
		return ","
	case "hyphen", "minus":
		return "-"
	case "colon":
		return ":"
	case "slash":
		return "/"
	case "zero":
		return "0"
	case "one":
		return "1"
	case "two":
		return "2"
	case "three":
		return "3"
	case "four":
		return "4"
	case "five":
		return "5"
	case "six":
		return "6"
	case "seven":
		return "7"
	case "eight":
		return "8"
	case "nine":
		return "9"
	case "fi":
		return "fi"
	case "fl":
		return "fl"
	}
	return ""
}

// cmap is a parsed ToUnicode CMap.
type cmap struct {
	widths []int             // code lengths from the codespace ranges, shortest first
	chars  map[uint32]string // single codes
	ranges []cmapRange
}

type cmapRange struct {
	lo, hi uint32
	dst    []rune   // the text for lo; later codes add to its last rune
	arr    []string // or one text per code
}

// parseCMap reads the codespace ranges and bfchar/bfrange mappings of a
// ToUnicode CMap.
func parseCMap(s *state, data []byte) *cmap {
	c := &cmap{chars: map[uint32]string{}}
	l := &pdfLex{s: s, b: data}
	var mode pdfKeyword
	var args []any
	widthSeen := map[int]bool{}
	for {
		v, err := l.value(0)
		if err != nil || v == nil {
			break
		}
		kw, ok := v.(pdfKeyword)
		if !ok {
			if mode != "" && len(args) < 3 {
				args = append(args, v)
			}
		} else {
			switch kw {
			case "begincodespacerange", "beginbfchar", "beginbfrange":
				mode, args = kw, args[:0]
				continue
			case "endcodespacerange", "endbfchar", "endbfrange":
				mode, args = "", args[:0]
				continue
			}
		}
		switch mode {
		case "begincodespacerange":
			if len(args) == 2 {
				if lo, ok := args[0].(pdfString); ok && len(lo) > 0 && len(lo) <= 4 && !widthSeen[len(lo)] {
					widthSeen[len(lo)] = true
					c.widths = append(c.widths, len(lo))
				}
				args = args[:0]
			}
		case "beginbfchar":
			if len(args) == 2 {
				src, ok1 := args[0].(pdfString)
				dst, ok2 := args[1].(pdfString)
				if ok1 && ok2 && len(src) <= 4 && len(c.chars) < 1<<16 {
					c.chars[codeOf(src)] = utf16Text(dst)
				}
				args = args[:0]
			}
		case "beginbfrange":
			if len(args) == 3 {
				lo, ok1 := args[0].(pdfString)
				hi, ok2 := args[1].(pdfString)
				if ok1 && ok2 && len(lo) <= 4 && len(hi) <= 4 && codeOf(lo) <= codeOf(hi) && len(c.ranges) < maxCMapRanges {
					r := cmapRange{lo: codeOf(lo), hi: codeOf(hi)}
					switch dst := args[2].(type) {
					case pdfString:
						r.dst = []rune(utf16Text(dst))
					case pdfArray:
						for _, x := range dst {
							if str, ok := x.(pdfString); ok {
								r.arr = append(r.arr, utf16Text(str))
							}
						}
					}
					c.ranges = append(c.ranges, r)
				}
				args = args[:0]
			}
		default:
			args = args[:0]
		}
	}
	sort.Ints(c.widths)
	return c
}

func codeOf(b []byte) uint32 {
	var v uint32
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return v
}

func utf16Text(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	if len(b)%2 == 1 { // not UTF-16: a single byte
		u = append(u, uint16(b[len(b)-1]))
	}
	return string(utf16.Decode(u))
}

func (c *cmap) lookup(code uint32) (string, bool) {
	if t, ok := c.chars[code]; ok {
		return t, true
	}
	for _, r := range c.ranges {
		if code < r.lo || code > r.hi {
			continue
		}
		off := code - r.lo
		if r.arr != nil {
			if int(off) < len(r.arr) {
				return r.arr[off], true
			}
			return "", false
		}
		if len(r.dst) == 0 {
			return "", false
		}
		out := append([]rune(nil), r.dst...)
		out[len(out)-1] += rune(off)
		return string(out), true
	}
	return "", false
}

// decode writes the text of s, reading codes of the lengths the codespace
// declares (or 2 bytes for composite fonts and 1 for simple ones).
func (c *cmap) decode(s []byte, f *pdfFont, k *sink) error {
	widths := c.widths
	if len(widths) == 0 {
		widths = []int{1}
		if f.composite {
			widths = []int{2}
		}
	}
	for i := 0; i < len(s); {
		if err := k.s.tick(); err != nil {
			return err
		}
		matched := false
		for _, w := range widths {
			if i+w > len(s) {
				break
			}
			if t, ok := c.lookup(codeOf(s[i : i+w])); ok {
				if err := k.WriteString(t); err != nil {
					return err
				}
				i += w
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if !f.composite {
			if err := f.writeSimple(s[i], k); err != nil {
				return err
			}
		}
		i += widths[0]
	}
	return nil
}

func printableASCII(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// fieldsAndInfo writes the text that is not in content streams: the values
// of filled-in form fields, annotation comments, and the document
// information (title, subject, author, keywords).
func (d *pdfDoc) fieldsAndInfo(k *sink) error {
	nums := make([]int, 0, len(d.objs))
	for n, o := range d.objs {
		if _, ok := o.val.(pdfDict); ok {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		if err := d.s.tick(); err != nil {
			return err
		}
		dict := d.objs[n].val.(pdfDict)
		var keys []pdfName
		switch {
		case dict["FT"] != nil || dict["T"] != nil && dict["V"] != nil:
			keys = []pdfName{"V"}
		case nameOf(dict["Type"]) == "Annot":
			keys = []pdfName{"Contents"}
		case dict["Producer"] != nil || dict["CreationDate"] != nil || dict["Creator"] != nil:
			keys = []pdfName{"Title", "Subject", "Author", "Keywords"}
		}
		for _, key := range keys {
			str, ok := d.resolve(dict[key]).(pdfString)
			if !ok || len(str) == 0 {
				continue
			}
			if err := k.sep('\n'); err != nil {
				return err
			}
			if err := k.writeBytes(pdfTextString(str)); err != nil {
				return err
			}
		}
	}
	return nil
}

// pdfTextString decodes a PDF text string: UTF-16BE with a byte order
// mark, UTF-8 with one (PDF 2.0), or PDFDocEncoding, read as Windows-1252
// (they agree on letters).
func pdfTextString(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		return []byte(utf16Text(b[2:]))
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		return bytes.ToValidUTF8(b[3:], []byte("\uFFFD"))
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return nil
	}
	return out
}
