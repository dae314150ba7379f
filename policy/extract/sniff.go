package extract

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// sniff decides how to read a part from its content first (declared types
// are often wrong), then its declared media type, then its file name
// extension. It returns one of the kinds handled by state.item.
func sniff(mt string, params map[string]string, ext string, data []byte) string {
	if k := sniffMagic(data); k != "" {
		return k
	}
	switch mt {
	case "application/pgp-encrypted", "multipart/encrypted":
		return "pgp"
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		switch strings.ToLower(params["smime-type"]) {
		case "enveloped-data", "authenveloped-data":
			return "smime-enc"
		}
		return "smime"
	case "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature", "application/pgp-keys":
		return "signature"
	case "application/age", "application/x-age", "application/age-encrypted":
		return "age"
	case "message/rfc822", "message/global":
		return "message"
	case "application/ms-tnef", "application/vnd.ms-tnef":
		return "tnef"
	case "application/dicom":
		return "binary"
	case "text/html", "application/xhtml+xml":
		return "html"
	case "text/csv", "text/tab-separated-values":
		return "csv"
	case "text/rtf", "application/rtf":
		return "rtf"
	case "application/json", "application/xml", "application/fhir+json", "application/fhir+xml",
		"application/hl7-v2", "x-application/hl7-v2+er7", "application/edi-hl7":
		return "text"
	}
	switch {
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+json"):
		return "text"
	}
	switch ext {
	case ".htm", ".html":
		return "html"
	case ".csv", ".tsv":
		return "csv"
	case ".gpg", ".pgp":
		return "pgp"
	case ".age":
		return "age"
	case ".p7m":
		return "smime"
	case ".eml":
		return "message"
	case ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp":
		return "image"
	}
	if strings.HasPrefix(mt, "text/") || looksText(data) {
		return "text"
	}
	return "binary"
}

// sniffMagic recognises formats by their first bytes.
func sniffMagic(data []byte) string {
	has := func(p string) bool { return bytes.HasPrefix(data, []byte(p)) }
	switch {
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		return "dicom"
	case bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")):
		return "pdf"
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return "zip"
	case has("\x1f\x8b"):
		return "gzip"
	case has("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		return "ole"
	case has("{\\rtf"):
		return "rtf"
	case has("\x78\x9f\x3e\x22"):
		return "tnef"
	case has("age-encryption.org/v1\n"), has("-----BEGIN AGE ENCRYPTED FILE-----"):
		return "age"
	case has("-----BEGIN PGP MESSAGE-----"):
		return "pgp"
	case has("-----BEGIN PKCS7-----"):
		return "smime"
	case has("\x89PNG"), has("\xff\xd8\xff"), has("GIF8"), has("II*\x00"), has("MM\x00*"), len(data) >= 14 && has("BM") && string(data[6:10]) == "\x00\x00\x00\x00",
		len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "image"
	}
	return ""
}

// looksText reports whether data is text: a Unicode byte order mark, or no
// NUL and few control bytes in its first 4 KiB.
func looksText(data []byte) bool {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return true
	}
	head := data[:min(len(data), 4096)]
	bad := 0
	for _, c := range head {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f':
			bad++
		}
	}
	return bad*50 <= len(head)
}

// decodeText returns data as UTF-8: UTF-16 with a byte order mark is
// decoded, a UTF-8 byte order mark dropped, valid UTF-8 kept, and anything
// else read as Windows-1252 (a superset of ISO-8859-1 in its printable
// range), which is what unlabelled 8-bit mail usually is.
func decodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		return data[3:]
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err == nil {
			return out
		}
	case utf8.Valid(data):
		return data
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return out
}

// typeOf names the media type of an archive entry for Where, from its kind
// and its extension.
func typeOf(kind, ext string) string {
	switch ext {
	case ".txt":
		return "text/plain"
	case ".xml":
		return "application/xml"
	case ".json":
		return "application/json"
	case ".hl7":
		return "application/hl7-v2"
	case ".ods":
		return "application/vnd.oasis.opendocument.spreadsheet"
	case ".odp":
		return "application/vnd.oasis.opendocument.presentation"
	}
	switch kind {
	case "text":
		return "text/plain"
	case "csv":
		return "text/csv"
	case "html":
		return "text/html"
	case "rtf":
		return "application/rtf"
	case "pdf":
		return "application/pdf"
	case "zip":
		switch ext {
		case ".docx":
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		case ".xlsx":
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case ".pptx":
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
		case ".odt":
			return "application/vnd.oasis.opendocument.text"
		}
		return "application/zip"
	case "gzip":
		return "application/gzip"
	case "message":
		return "message/rfc822"
	case "tnef":
		return "application/ms-tnef"
	case "image":
		return "image"
	case "pgp":
		return "application/pgp-encrypted"
	case "age":
		return "application/age"
	case "smime":
		return "application/pkcs7-mime"
	case "ole":
		return "application/x-ole-storage"
	case "dicom":
		return "application/dicom"
	}
	return "application/octet-stream"
}
