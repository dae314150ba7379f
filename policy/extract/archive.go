package extract

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// zipFile reads a zip file: an office document (DOCX, XLSX, PPTX, ODF) as
// one unit written to k, or an archive whose entries are extracted in turn.
// It returns the kind of the unit written to k.
func (s *state) zipFile(it item, k *sink) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(it.data), int64(len(it.data)))
	if err != nil {
		return "zip", errors.Join(errUnscannable, err)
	}
	kind, parts := officeParts(s, zr)
	if kind == "" {
		return "zip", s.zipArchive(it, zr)
	}
	doc := &officeDoc{kind: kind}
	for _, f := range parts {
		if err := s.tick(); err != nil {
			return kind, err
		}
		if kind == "xlsx" && f.Name == "xl/sharedStrings.xml" {
			if err := s.zipXML(f, doc, nil); err != nil {
				return kind, err
			}
			continue
		}
		if err := s.zipXML(f, doc, k); err != nil {
			return kind, err
		}
		if err := k.sep('\n'); err != nil {
			return kind, err
		}
	}
	return kind, nil
}

// officeParts tells an office document from a plain archive and lists the
// entries that hold its text, in reading order.
func officeParts(s *state, zr *zip.Reader) (string, []*zip.File) {
	byName := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		byName[f.Name] = f
	}
	var kind string
	var keep func(name string) bool
	switch {
	case byName["word/document.xml"] != nil:
		kind = "docx"
		keep = func(n string) bool {
			return n == "word/document.xml" || n == "word/footnotes.xml" || n == "word/endnotes.xml" || n == "word/comments.xml" ||
				strings.HasPrefix(n, "word/header") && strings.HasSuffix(n, ".xml") ||
				strings.HasPrefix(n, "word/footer") && strings.HasSuffix(n, ".xml")
		}
	case byName["xl/workbook.xml"] != nil:
		kind = "xlsx"
		keep = func(n string) bool {
			return n == "xl/sharedStrings.xml" || strings.HasPrefix(n, "xl/worksheets/sheet") && strings.HasSuffix(n, ".xml")
		}
	case byName["ppt/presentation.xml"] != nil:
		kind = "pptx"
		keep = func(n string) bool {
			return strings.HasPrefix(n, "ppt/slides/slide") && strings.HasSuffix(n, ".xml") ||
				strings.HasPrefix(n, "ppt/notesSlides/notesSlide") && strings.HasSuffix(n, ".xml")
		}
	case byName["content.xml"] != nil && byName["mimetype"] != nil:
		mt := odfMimetype(s, byName["mimetype"])
		switch {
		case strings.HasPrefix(mt, "application/vnd.oasis.opendocument.text"):
			kind = "odt"
		case strings.HasPrefix(mt, "application/vnd.oasis.opendocument.spreadsheet"):
			kind = "ods"
		case strings.HasPrefix(mt, "application/vnd.oasis.opendocument.presentation"):
			kind = "odp"
		default:
			return "", nil
		}
		keep = func(n string) bool { return n == "content.xml" }
	default:
		return "", nil
	}
	var parts []*zip.File
	for _, f := range zr.File {
		if keep(f.Name) {
			parts = append(parts, f)
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return naturalLess(parts[i].Name, parts[j].Name) })
	if kind == "xlsx" { // shared strings first: sheets refer to them
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].Name == "xl/sharedStrings.xml" && parts[j].Name != parts[i].Name })
	}
	if kind == "docx" { // the body first, then headers, footers and notes
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].Name == "word/document.xml" && parts[j].Name != parts[i].Name })
	}
	return kind, parts
}

// naturalLess orders "slide2.xml" before "slide10.xml".
func naturalLess(a, b string) bool {
	ta, na := splitNum(a)
	tb, nb := splitNum(b)
	if ta != tb {
		return a < b
	}
	return na < nb
}

func splitNum(s string) (string, int) {
	stem := strings.TrimSuffix(s, path.Ext(s))
	i := len(stem)
	for i > 0 && stem[i-1] >= '0' && stem[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(stem[i:])
	return stem[:i], n
}

func odfMimetype(s *state, f *zip.File) string {
	if f.Flags&1 != 0 {
		return "application/vnd.oasis.opendocument.text" // read as a document, so that it is reported as encrypted
	}
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := s.readAll(rc, 256)
	return strings.TrimSpace(string(b))
}

// officeDoc is what reading one office document needs across its entries.
type officeDoc struct {
	kind        string
	shared      []string // XLSX shared strings
	sharedBytes int64
}

// zipXML writes the text of one XML entry of an office document; with a nil
// sink, it reads XLSX shared strings into doc.
func (s *state) zipXML(f *zip.File, doc *officeDoc, k *sink) error {
	if f.Flags&1 != 0 {
		return errEncrypted
	}
	rc, err := f.Open()
	if err != nil {
		return errors.Join(errUnscannable, err)
	}
	defer rc.Close()
	r := s.inflateReader(rc)
	switch {
	case k == nil:
		return s.sharedStrings(r, doc)
	case doc.kind == "odt" || doc.kind == "ods" || doc.kind == "odp":
		return s.odfText(r, k)
	}
	return s.ooxmlText(r, doc, k)
}

// xmlTokens calls fn for each raw token of an XML stream, within the
// budgets.
func (s *state) xmlTokens(r io.Reader, fn func(xml.Token) error) error {
	d := xml.NewDecoder(r)
	d.Strict = false
	for {
		if err := s.tick(); err != nil {
			return err
		}
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errBudget) {
				return err
			}
			return errors.Join(errUnscannable, err)
		}
		if err := fn(tok); err != nil {
			return err
		}
	}
}

// sharedStrings reads xl/sharedStrings.xml into doc.shared; their total
// size counts against MaxBytes, as they are text to be written later.
func (s *state) sharedStrings(r io.Reader, doc *officeDoc) error {
	var cur strings.Builder
	inText, phonetic := 0, 0
	return s.xmlTokens(r, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				cur.Reset()
			case "t":
				inText++
			case "rPh":
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				doc.shared = append(doc.shared, cur.String())
			case "t":
				inText = max(inText-1, 0)
			case "rPh":
				phonetic = max(phonetic-1, 0)
			}
		case xml.CharData:
			if inText > 0 && phonetic == 0 {
				doc.sharedBytes += int64(len(t))
				if doc.sharedBytes > s.lim.MaxBytes {
					return errBudget
				}
				cur.Write(t)
			}
		}
		return nil
	})
}

// ooxmlText writes the text of a DOCX, XLSX or PPTX part: the content of
// text elements (w:t, w:delText, a:t, t) and of cell values, with shared
// strings looked up.
func (s *state) ooxmlText(r io.Reader, doc *officeDoc, k *sink) error {
	inText := 0
	shared, inValue := false, false
	var value []byte
	return s.xmlTokens(r, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t", "delText":
				inText++
			case "v":
				inValue, value = true, value[:0]
			case "c":
				shared = false
				for _, a := range t.Attr {
					if a.Name.Local == "t" && a.Value == "s" {
						shared = true
					}
				}
			case "tab":
				return k.WriteByte('\t')
			case "br", "cr":
				return k.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t", "delText":
				inText = max(inText-1, 0)
			case "v":
				inValue = false
				if !shared {
					return k.WriteString(string(value))
				}
				if i, err := strconv.Atoi(strings.TrimSpace(string(value))); err == nil && i >= 0 && i < len(doc.shared) {
					return k.WriteString(doc.shared[i])
				}
			case "p", "si", "row":
				return k.sep('\n')
			case "c":
				shared = false
				return k.sep('\t')
			}
		case xml.CharData:
			switch {
			case inValue:
				if len(value) < 1024 {
					value = append(value, t[:min(len(t), 1024-len(value))]...)
				}
			case inText > 0:
				return k.WriteString(string(t))
			}
		}
		return nil
	})
}

// odfText writes the text of an ODF content.xml: all character data inside
// office:body, with text:s, text:tab and text:line-break, and paragraphs,
// headings, rows and cells separated.
func (s *state) odfText(r io.Reader, k *sink) error {
	inBody := 0
	return s.xmlTokens(r, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == "office" && t.Name.Local == "body":
				inBody++
			case inBody == 0:
			case t.Name.Space == "text" && t.Name.Local == "s":
				n := 1
				for _, a := range t.Attr {
					if a.Name.Local == "c" {
						if c, err := strconv.Atoi(a.Value); err == nil && c > 0 {
							n = min(c, 64)
						}
					}
				}
				return k.WriteString(strings.Repeat(" ", n))
			case t.Name.Space == "text" && t.Name.Local == "tab":
				return k.WriteByte('\t')
			case t.Name.Space == "text" && t.Name.Local == "line-break":
				return k.WriteByte('\n')
			}
		case xml.EndElement:
			switch {
			case t.Name.Space == "office" && t.Name.Local == "body":
				inBody = max(inBody-1, 0)
			case inBody == 0:
			case t.Name.Local == "p" || t.Name.Local == "h" || t.Name.Local == "table-row":
				return k.sep('\n')
			case t.Name.Local == "table-cell":
				return k.sep('\t')
			}
		case xml.CharData:
			if inBody > 0 {
				return k.WriteString(string(t))
			}
		}
		return nil
	})
}

// zipArchive extracts each entry of a zip archive as a part of its own.
func (s *state) zipArchive(it item, zr *zip.Reader) error {
	if it.depth+1 >= s.lim.MaxDepth {
		return errBudget
	}
	n := 0
	for _, f := range zr.File {
		if err := s.tick(); err != nil {
			return err
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		n++
		if err := s.addPart(); err != nil {
			return err
		}
		base := it.base.child(fmt.Sprintf("zip entry %d", n))
		ext := strings.ToLower(path.Ext(f.Name))
		if f.Flags&1 != 0 {
			s.skip(base.base+" ("+typeOf(sniff("", nil, ext, nil), ext)+")", "zip", ReasonEncrypted)
			continue
		}
		child := item{base: base, depth: it.depth + 1}
		rc, err := f.Open()
		if err != nil {
			s.skip(base.base+" ("+typeOf("", ext)+")", "zip", ReasonUnscannable)
			continue
		}
		child.data, err = s.readAll(rc, s.lim.MaxDecompressed)
		rc.Close()
		child.kind = sniff("", nil, ext, child.data)
		child.declared = typeOf(child.kind, ext)
		child.where = base.base + " (" + child.declared + ")"
		if err != nil && !errors.Is(err, zip.ErrChecksum) {
			s.fail(child.where, child.kind, err)
			if errors.Is(err, errBudget) {
				return nil // reported; the budget is spent for the other entries too
			}
			continue
		}
		s.item(child)
	}
	return nil
}

// gzipFile extracts the content of a gzip file as a part of its own.
func (s *state) gzipFile(it item) error {
	if it.depth+1 >= s.lim.MaxDepth {
		return errBudget
	}
	zr, err := gzip.NewReader(bytes.NewReader(it.data))
	if err != nil {
		return errors.Join(errUnscannable, err)
	}
	ext := strings.ToLower(path.Ext(zr.Name))
	data, err := s.readAll(zr, s.lim.MaxDecompressed)
	base := it.base.child("gzip content")
	child := item{base: base, depth: it.depth + 1, data: data}
	child.kind = sniff("", nil, ext, data)
	child.declared = typeOf(child.kind, ext)
	child.where = base.base + " (" + child.declared + ")"
	if err != nil {
		s.fail(child.where, child.kind, err)
		if len(data) == 0 {
			return nil
		}
	}
	s.item(child)
	return nil
}
