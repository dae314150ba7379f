package extract

// Builders for the test fixtures: minimal but valid files of each format,
// made in Go so that every byte of them is known. TestGenerateFixtures
// writes the testdata/*.eml files from them when run with -generate.

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

var fixedTime = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

type zipEntry struct {
	name      string
	data      []byte
	encrypted bool // sets the traditional-encryption flag bit
	store     bool
}

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: fixedTime}
		if e.store {
			fh.Method = zip.Store
		}
		if e.encrypted {
			// Raw entry with bit 0 set: what a password-protected zip
			// looks like to a reader without the password.
			fh.Flags |= 1
			fh.Method = zip.Store
			fh.CRC32 = crc32.ChecksumIEEE(e.data)
			fh.CompressedSize64 = uint64(len(e.data)) + 12
			fh.UncompressedSize64 = uint64(len(e.data))
			w, err := zw.CreateRaw(fh)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(append(bytes.Repeat([]byte{0x5a}, 12), e.data...))
			continue
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

const ooxmlRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="%s"/></Relationships>`

func buildDOCX(t testing.TB, header string, paragraphs ...string) []byte {
	t.Helper()
	var body strings.Builder
	for _, p := range paragraphs {
		// Split each paragraph into two runs, as Word does, to check that
		// runs join without a separator.
		half := len(p) / 2
		fmt.Fprintf(&body, `<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r><w:r><w:t>%s</w:t></w:r></w:p>`, xmlEscape(p[:half]), xmlEscape(p[half:]))
	}
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() + `<w:sectPr/></w:body></w:document>`
	hdr := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:r><w:t>` + xmlEscape(header) + `</w:t></w:r></w:p></w:hdr>`
	types := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/></Types>`
	return buildZip(t,
		zipEntry{name: "[Content_Types].xml", data: []byte(types)},
		zipEntry{name: "_rels/.rels", data: []byte(fmt.Sprintf(ooxmlRels, "word/document.xml"))},
		zipEntry{name: "word/header1.xml", data: []byte(hdr)},
		zipEntry{name: "word/document.xml", data: []byte(doc)},
	)
}

// buildXLSX makes a workbook of one sheet whose rows hold a shared string
// and a number each.
func buildXLSX(t testing.TB, rows [][2]string) []byte {
	t.Helper()
	var ss, sheet strings.Builder
	fmt.Fprintf(&ss, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(rows), len(rows))
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, r := range rows {
		fmt.Fprintf(&ss, `<si><t>%s</t></si>`, xmlEscape(r[0]))
		fmt.Fprintf(&sheet, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>%s</v></c></row>`, i+1, i+1, i, i+1, r[1])
	}
	ss.WriteString(`</sst>`)
	sheet.WriteString(`<row r="99"><c r="A99" t="inlineStr"><is><t>inline note</t></is></c></row></sheetData></worksheet>`)
	wb := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`
	wbRels := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	types := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`
	return buildZip(t,
		zipEntry{name: "[Content_Types].xml", data: []byte(types)},
		zipEntry{name: "_rels/.rels", data: []byte(fmt.Sprintf(ooxmlRels, "xl/workbook.xml"))},
		zipEntry{name: "xl/workbook.xml", data: []byte(wb)},
		zipEntry{name: "xl/_rels/workbook.xml.rels", data: []byte(wbRels)},
		zipEntry{name: "xl/worksheets/sheet1.xml", data: []byte(sheet.String())},
		zipEntry{name: "xl/sharedStrings.xml", data: []byte(ss.String())},
	)
}

func buildPPTX(t testing.TB, slides ...string) []byte {
	t.Helper()
	entries := []zipEntry{
		{name: "[Content_Types].xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>`)},
		{name: "_rels/.rels", data: []byte(fmt.Sprintf(ooxmlRels, "ppt/presentation.xml"))},
		{name: "ppt/presentation.xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>`)},
	}
	// Stored in reverse to check that slides are read in their order.
	for i := len(slides) - 1; i >= 0; i-- {
		entries = append(entries, zipEntry{name: fmt.Sprintf("ppt/slides/slide%d.xml", i+1), data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>` + xmlEscape(slides[i]) + `</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`)})
	}
	return buildZip(t, entries...)
}

func buildODT(t testing.TB, paragraphs ...string) []byte {
	t.Helper()
	var body strings.Builder
	for _, p := range paragraphs {
		fmt.Fprintf(&body, `<text:p text:style-name="Standard">%s</text:p>`, strings.ReplaceAll(xmlEscape(p), "  ", `<text:s text:c="2"/>`))
	}
	content := `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:automatic-styles><style:style xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" style:name="P1">not text</style:style></office:automatic-styles><office:body><office:text>` + body.String() + `</office:text></office:body></office:document-content>`
	manifest := `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`
	return buildZip(t,
		zipEntry{name: "mimetype", data: []byte("application/vnd.oasis.opendocument.text"), store: true},
		zipEntry{name: "META-INF/manifest.xml", data: []byte(manifest)},
		zipEntry{name: "content.xml", data: []byte(content)},
	)
}

// pdfBuilder assembles a PDF with a correct cross-reference table.
type pdfBuilder struct {
	objs []string
}

func (b *pdfBuilder) add(obj string) int {
	b.objs = append(b.objs, obj)
	return len(b.objs)
}

func (b *pdfBuilder) addStream(dict string, data []byte, compress bool) int {
	if compress {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		data = buf.Bytes()
		dict += " /Filter /FlateDecode"
	}
	return b.add(fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data))
}

func (b *pdfBuilder) bytes(root int, trailer string) []byte {
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(b.objs))
	for i, o := range b.objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(b.objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R %s >>\nstartxref\n%d\n%%%%EOF\n", len(b.objs)+1, root, trailer, xref)
	return out.Bytes()
}

// pdfEscape escapes a string for a PDF literal.
func pdfEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

type pdfOpts struct {
	compress  bool
	cid       bool // a Type0 font with 2-byte codes and a ToUnicode CMap
	encrypted bool
	form      string // text shown from a form XObject
	field     string // the value of a filled-in form field, and an /Info title
}

// buildPDF makes a one-page PDF showing lines of text.
func buildPDF(t testing.TB, o pdfOpts, lines ...string) []byte {
	t.Helper()
	b := &pdfBuilder{}
	catalog := b.add("<< /Type /Catalog /Pages 2 0 R >>")
	pages := b.add("<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >> >>")
	b.add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>")
	var content strings.Builder
	content.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
	for i, line := range lines {
		switch {
		case o.cid:
			var hex strings.Builder
			for _, r := range line {
				fmt.Fprintf(&hex, "%04X", r+0x100) // glyph ids are not character codes
			}
			fmt.Fprintf(&content, "<%s> Tj T*\n", hex.String())
		case i%2 == 1:
			// TJ with kerning, and a wide gap that is a word space.
			words := strings.SplitN(line, " ", 2)
			if len(words) == 2 {
				fmt.Fprintf(&content, "[(%s) -20 (%s) -400 (%s)] TJ T*\n", pdfEscape(words[0][:1]), pdfEscape(words[0][1:]), pdfEscape(words[1]))
			} else {
				fmt.Fprintf(&content, "[(%s)] TJ T*\n", pdfEscape(line))
			}
		default:
			fmt.Fprintf(&content, "(%s) Tj T*\n", pdfEscape(line))
		}
	}
	content.WriteString("ET\n")
	if o.form != "" {
		content.WriteString("q /X1 Do Q\n")
	}
	b.addStream("", []byte(content.String()), o.compress)
	if o.cid {
		b.add("<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H /DescendantFonts [] /ToUnicode 7 0 R >>")
	} else {
		b.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	}
	b.addStream("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F2 8 0 R >> >>", []byte("BT /F2 10 Tf 72 40 Td ("+pdfEscape(o.form)+") Tj ET"), o.compress)
	var cm strings.Builder
	cm.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	cm.WriteString("1 beginbfrange\n<0120> <017E> <0020>\nendbfrange\n1 beginbfchar\n<01E9> <00E9>\nendbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n")
	b.addStream("", []byte(cm.String()), o.compress)
	b.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	_ = pages
	trailer := ""
	if o.field != "" {
		info := b.add("<< /Title (Referral form) /Producer (sealpost test) >>")
		b.add("<< /FT /Tx /T (patient) /V <FEFF" + utf16Hex(o.field) + "> >>")
		trailer = fmt.Sprintf("/Info %d 0 R", info)
	}
	if o.encrypted {
		enc := b.add("<< /Filter /Standard /V 2 /R 3 /Length 128 /P -1028 /O <00> /U <00> >>")
		trailer = fmt.Sprintf("/Encrypt %d 0 R /ID [<01><01>]", enc)
	}
	return b.bytes(catalog, trailer)
}

// repeatedDeflate returns a raw deflate stream that inflates to n MiB of
// zeros while being about n KiB long: one flushed block, repeated.
func repeatedDeflate(n int) []byte {
	var blk bytes.Buffer
	fw, _ := flate.NewWriter(&blk, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	var out bytes.Buffer
	for i := 0; i < n; i++ {
		out.Write(blk.Bytes())
	}
	var end bytes.Buffer
	fe, _ := flate.NewWriter(&end, flate.BestCompression)
	fe.Close()
	out.Write(end.Bytes())
	return out.Bytes()
}

// zipBomb makes a zip with one entry that claims, and would inflate to,
// gib GiB of zeros.
func zipBomb(t testing.TB, gib int) []byte {
	t.Helper()
	raw := repeatedDeflate(gib << 10)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "zeros.txt", Method: zip.Deflate, Modified: fixedTime,
		CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(gib) << 30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// tnefAttr encodes one TNEF attribute.
func tnefAttr(level byte, id uint32, data []byte) []byte {
	out := []byte{level}
	out = binary.LittleEndian.AppendUint32(out, id)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	var sum uint16
	for _, c := range data {
		sum += uint16(c)
	}
	return binary.LittleEndian.AppendUint16(out, sum)
}

// lzfuLiterals compresses RTF the simplest valid way: every byte a literal.
func lzfuLiterals(rtf []byte) []byte {
	var body []byte
	for i := 0; i < len(rtf); i += 8 {
		body = append(body, 0)
		body = append(body, rtf[i:min(i+8, len(rtf))]...)
	}
	// End marker: a reference to the current write position.
	w := (len(lzfuPrebuf) + len(rtf)) % 4096
	if len(rtf)%8 == 0 {
		body = append(body, 1)
	} else {
		body[len(body)-1-len(rtf)%8] |= 1 << (len(rtf) % 8)
	}
	body = append(body, byte(w>>4), byte(w<<4))
	hdr := binary.LittleEndian.AppendUint32(nil, uint32(len(body)+12))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(rtf)))
	hdr = append(hdr, "LZFu"...)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	return append(hdr, body...)
}

// buildTNEF makes a winmail.dat with a compressed RTF body in the MAPI
// properties and one attachment.
func buildTNEF(rtf string, attTitle string, att []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, tnefSignature)
	out = binary.LittleEndian.AppendUint16(out, 0x0001)
	out = append(out, tnefAttr(1, 0x00089006, []byte{0, 1, 0, 0})...) // attTnefVersion
	// attMAPIProps: PR_SUBJECT-like long, then PR_RTF_COMPRESSED.
	props := binary.LittleEndian.AppendUint32(nil, 2)
	props = binary.LittleEndian.AppendUint16(props, 0x0003) // PT_LONG
	props = binary.LittleEndian.AppendUint16(props, 0x0E07)
	props = binary.LittleEndian.AppendUint32(props, 1)
	comp := lzfuLiterals([]byte(rtf))
	props = binary.LittleEndian.AppendUint16(props, ptBinary)
	props = binary.LittleEndian.AppendUint16(props, prRTFCompressed)
	props = binary.LittleEndian.AppendUint32(props, 1)
	props = binary.LittleEndian.AppendUint32(props, uint32(len(comp)))
	props = append(props, comp...)
	for len(props)%4 != 0 {
		props = append(props, 0)
	}
	out = append(out, tnefAttr(1, attMAPIProps, props)...)
	out = append(out, tnefAttr(2, attAttachRendData, make([]byte, 14))...)
	out = append(out, tnefAttr(2, attAttachTitle, append([]byte(attTitle), 0))...)
	out = append(out, tnefAttr(2, attAttachData, att)...)
	return out
}

// derTLV encodes one DER element.
func derTLV(tag byte, body ...[]byte) []byte {
	content := bytes.Join(body, nil)
	out := []byte{tag}
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

// buildSignedData makes a CMS SignedData (no signers: extraction does not
// verify) encapsulating content.
func buildSignedData(content []byte) []byte {
	oidData := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}
	sd := derTLV(0x30,
		derTLV(0x02, []byte{1}),
		derTLV(0x31),
		derTLV(0x30, oidData, derTLV(0xa0, derTLV(0x04, content))),
		derTLV(0x31),
	)
	return derTLV(0x30, oidSignedData, derTLV(0xa0, sd))
}

func buildEnvelopedData() []byte {
	return derTLV(0x30, oidEnvelopedData, derTLV(0xa0, derTLV(0x30, derTLV(0x02, []byte{0}))))
}

// oleEncryptedFile is the start of an OLE compound file holding an
// EncryptedPackage stream, as Office writes for password-protected files.
func oleEncryptedFile() []byte {
	out := []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	out = append(out, make([]byte, 504)...)
	for _, r := range utf16.Encode([]rune("EncryptedPackage")) {
		out = append(out, byte(r), byte(r>>8))
	}
	return append(out, make([]byte, 64)...)
}

// mimePart is one part of a test message.
type mimePart struct {
	header string // full header lines, without the blank line
	body   string // already encoded
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

func attachment(mt, name string, data []byte) mimePart {
	return mimePart{
		header: fmt.Sprintf("Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64", mt, name, name),
		body:   b64(data),
	}
}

func multipart(kind, boundary string, parts ...mimePart) mimePart {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\n%s\r\n\r\n%s\r\n", boundary, p.header, p.body)
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return mimePart{header: fmt.Sprintf("Content-Type: multipart/%s; boundary=\"%s\"", kind, boundary), body: b.String()}
}

func email(subject string, p mimePart) string {
	return "From: clinic@example.org\r\nTo: someone@example.net\r\nSubject: " + subject +
		"\r\nDate: Fri, 01 Mar 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n" + p.header + "\r\n\r\n" + p.body
}

func utf16Hex(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}
