package extract

import (
	"encoding/binary"
	"fmt"
	"path"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// TNEF (MS-OXTNEF) attribute identifiers.
const (
	tnefSignature      = 0x223e9f78
	attBody            = 0x0001800c
	attMAPIProps       = 0x00069003
	attAttachRendData  = 0x00069002
	attAttachTitle     = 0x00018010
	attAttachData      = 0x0006800f
	tnefLevelMessage   = 1
	tnefLevelAttach    = 2
	prBody             = 0x1000
	prRTFCompressed    = 0x1009
	prHTML             = 0x1013
	ptString8          = 0x001e
	ptUnicode          = 0x001f
	ptBinary           = 0x0102
	ptObject           = 0x000d
	ptMultiValued      = 0x1000
	maxTNEFProps       = 1 << 14
	maxTNEFMultiValues = 1 << 14
)

// tnefFile reads a TNEF stream (winmail.dat): the message body (plain,
// compressed RTF or HTML, from the attributes or the MAPI properties) and
// the attachments, each extracted as a part of its own.
//
// No maintained Go TNEF library is served by the module proxy, so this is a
// small reader of our own for the attributes that carry content.
func (s *state) tnefFile(it item) error {
	data := it.data
	if len(data) < 6 || binary.LittleEndian.Uint32(data) != tnefSignature {
		return errUnscannable
	}
	if it.depth+1 >= s.lim.MaxDepth {
		return errBudget
	}
	bodies := 0
	attachments := 0
	ext := ""
	body := func(kind, mt string, b []byte) {
		bodies++
		base := it.base.child(fmt.Sprintf("tnef body %d", bodies))
		s.item(item{where: base.base + " (" + mt + ")", base: base, kind: kind, declared: mt, data: b, depth: it.depth + 1})
	}
	for i := 6; i+9 <= len(data); {
		if err := s.tick(); err != nil {
			return err
		}
		level := data[i]
		id := binary.LittleEndian.Uint32(data[i+1:])
		n := int64(binary.LittleEndian.Uint32(data[i+5:]))
		start := i + 9
		if int64(start)+n > int64(len(data)) {
			return errUnscannable
		}
		val := data[start : start+int(n)]
		i = start + int(n) + 2 // and the checksum
		switch {
		case id == attBody && level == tnefLevelMessage:
			body("text", "text/plain", ansiText(val))
		case id == attMAPIProps && level == tnefLevelMessage:
			err := tnefProps(s, val, func(id, typ uint16, v []byte) {
				switch {
				case id == prBody && typ == ptUnicode:
					if t, err := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder().Bytes(v); err == nil {
						body("text", "text/plain", t)
					}
				case id == prBody && typ == ptString8:
					body("text", "text/plain", ansiText(v))
				case id == prHTML && (typ == ptBinary || typ == ptString8):
					body("html", "text/html", v)
				case id == prRTFCompressed && typ == ptBinary:
					if rtf, err := s.lzfu(v); err == nil {
						body("rtf", "application/rtf", rtf)
					} else {
						s.fail(it.base.child("tnef body").base+" (application/rtf)", "rtf", err)
					}
				}
			})
			if err != nil {
				return err
			}
		case id == attAttachRendData:
			ext = ""
		case id == attAttachTitle && level == tnefLevelAttach:
			ext = strings.ToLower(path.Ext(strings.TrimRight(string(val), "\x00")))
		case id == attAttachData && level == tnefLevelAttach:
			attachments++
			if err := s.addPart(); err != nil {
				return err
			}
			base := it.base.child(fmt.Sprintf("tnef attachment %d", attachments))
			kind := sniff("", nil, ext, val)
			mt := typeOf(kind, ext)
			s.item(item{where: base.base + " (" + mt + ")", base: base, kind: kind, declared: mt, data: val, depth: it.depth + 1})
		}
	}
	return nil
}

// ansiText reads 8-bit text in Windows-1252, dropping a final NUL.
func ansiText(b []byte) []byte {
	b = []byte(strings.TrimRight(string(b), "\x00"))
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return b
	}
	return out
}

// tnefProps walks an attMAPIProps block and calls fn for each single-valued
// string or binary property. It stops at the first property it cannot
// size.
func tnefProps(s *state, b []byte, fn func(id, typ uint16, v []byte)) error {
	if len(b) < 4 {
		return nil
	}
	count := binary.LittleEndian.Uint32(b)
	i := 4
	u32 := func() (int, bool) {
		if i+4 > len(b) {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b[i:])
		i += 4
		return int(v), v <= uint32(len(b))
	}
	for p := uint32(0); p < count && p < maxTNEFProps; p++ {
		if err := s.tick(); err != nil {
			return err
		}
		if i+4 > len(b) {
			return nil
		}
		typ := binary.LittleEndian.Uint16(b[i:])
		id := binary.LittleEndian.Uint16(b[i+2:])
		i += 4
		if id >= 0x8000 { // named property: GUID, kind, then an id or a name
			i += 16
			kind, ok := u32()
			if !ok {
				return nil
			}
			if kind == 0 {
				i += 4
			} else {
				n, ok := u32()
				if !ok {
					return nil
				}
				i += (n + 3) &^ 3
			}
		}
		base := typ &^ ptMultiValued
		variable := base == ptString8 || base == ptUnicode || base == ptBinary || base == ptObject
		values := 1
		if typ&ptMultiValued != 0 || variable {
			n, ok := u32()
			if !ok || n > maxTNEFMultiValues {
				return nil
			}
			values = n
		}
		for v := 0; v < values; v++ {
			if variable {
				n, ok := u32()
				if !ok || i+n > len(b) {
					return nil
				}
				val := b[i : i+n]
				if base == ptObject && len(val) >= 16 {
					val = val[16:] // the interface id
				}
				if typ&ptMultiValued == 0 {
					fn(id, base, val)
				}
				i += (n + 3) &^ 3
				continue
			}
			size := 0
			switch base {
			case 0x0001, 0x0002, 0x0003, 0x0004, 0x000a, 0x000b:
				size = 4
			case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040:
				size = 8
			case 0x0048:
				size = 16
			default:
				return nil
			}
			i += size
		}
		if i > len(b) {
			return nil
		}
	}
	return nil
}

// lzfuPrebuf is the dictionary that compressed RTF (MS-OXRTFCP) starts
// with.
const lzfuPrebuf = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// lzfu decompresses compressed RTF (PR_RTF_COMPRESSED) within the
// decompression budget.
func (s *state) lzfu(b []byte) ([]byte, error) {
	if len(b) < 16 {
		return nil, errUnscannable
	}
	raw := int64(binary.LittleEndian.Uint32(b[4:]))
	switch string(b[8:12]) {
	case "MELA": // stored
		body := b[16:]
		if int64(len(body)) > raw {
			body = body[:raw]
		}
		return body, nil
	case "LZFu":
	default:
		return nil, errUnscannable
	}
	var dict [4096]byte
	copy(dict[:], lzfuPrebuf)
	w := len(lzfuPrebuf)
	out := make([]byte, 0, min(raw, 1<<20))
	put := func(c byte) error {
		if s.inflated >= s.lim.MaxDecompressed {
			return errBudget
		}
		s.inflated++
		out = append(out, c)
		dict[w] = c
		w = (w + 1) % len(dict)
		return nil
	}
	in := b[16:]
	for i := 0; i < len(in); {
		if err := s.tick(); err != nil {
			return out, err
		}
		ctl := in[i]
		i++
		for bit := 0; bit < 8 && i < len(in); bit++ {
			if ctl&(1<<bit) == 0 {
				if err := put(in[i]); err != nil {
					return out, err
				}
				i++
				continue
			}
			if i+1 >= len(in) {
				return out, nil
			}
			ref := int(in[i])<<8 | int(in[i+1])
			i += 2
			off, n := ref>>4, ref&0xf+2
			if off == w {
				return out, nil // the end marker
			}
			for j := 0; j < n; j++ {
				if err := put(dict[(off+j)%len(dict)]); err != nil {
					return out, err
				}
			}
		}
	}
	return out, nil
}
