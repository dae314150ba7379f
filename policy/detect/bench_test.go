package detect

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// mixedText builds about size bytes of mixed mail text: prose, business
// lines full of numbers, and clinical lines with identifiers, in a fixed
// pseudo-random order.
func mixedText(size int) string {
	prose := []string{
		"Thank you for your email, I have forwarded it to the team and we will get back to you shortly.",
		"The quarterly review meeting has been moved to Thursday afternoon in the main conference room.",
		"Please find attached the minutes from last week, including the actions agreed by the board.",
		"We are pleased to announce that the new branch will open in the spring, subject to planning.",
		"Health news: a new study suggests that regular walking may reduce the risk of heart disease.",
		"Kind regards,\nJane Smith\nOperations Manager",
	}
	business := []string{
		"Order 4505577104 shipped on 12/03/2024, tracking 1Z999AA10123456784.",
		"Invoice INV-2024-00042 total £1,234.56 due 2024-04-30; call 020 7946 0958.",
		"Your reference 7123456789; account 12345678 sort code 12-34-56.",
		"Mobile 07700 900123 or +44 7700 900123; fax 0161 496 0000.",
		"PO 3312990012 approved; SKU A320-114 x 12 units at $19.99.",
	}
	clinical := []string{
		"Patient: NHS No 943 476 5919, DOB: 01/02/1960, seen in clinic today.",
		"Diagnosis: E11.9 type 2 diabetes; HbA1c 48 mmol/mol; SNOMED CT 73211009.",
		"Medicare MBI 1EG4-TE5-MK73, NPI 1234567893, DEA AB1234563.",
		"SSN 536-22-1234; NI number AB 12 34 56 C; CHI 0101901232.",
		"MRN: RX1234567 admitted with chest pain, born on 3rd March 1945.",
	}
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.Grow(size + 256)
	for b.Len() < size {
		switch x := r.IntN(10); {
		case x < 6:
			b.WriteString(prose[r.IntN(len(prose))])
		case x < 9:
			b.WriteString(business[r.IntN(len(business))])
		default:
			b.WriteString(clinical[r.IntN(len(clinical))])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// BenchmarkIdentifiers measures the single-pass Combined detector on 1 MiB
// of mixed text.
func BenchmarkIdentifiers(b *testing.B) {
	det := Combined(testConfig(b))
	text := mixedText(1 << 20)
	dst := make([]Match, 0, 1<<14)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		dst = det.Find(text, dst[:0])
	}
	b.ReportMetric(float64(len(dst)), "matches/op")
}

// BenchmarkIdentifiersSeparate runs the twelve detectors one after another,
// as a caller that uses Identifiers instead of Combined would.
func BenchmarkIdentifiersSeparate(b *testing.B) {
	dets := Identifiers(testConfig(b))
	text := mixedText(1 << 20)
	dst := make([]Match, 0, 1<<14)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		dst = dst[:0]
		for _, d := range dets {
			dst = d.Find(text, dst)
		}
	}
}

// BenchmarkIdentifiersProse measures text with no identifier at all, the
// common case.
func BenchmarkIdentifiersProse(b *testing.B) {
	det := Combined(Config{})
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("The quarterly review meeting has been moved to Thursday afternoon in the main conference room. ")
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = det.Find(text, nil)
	}
}
