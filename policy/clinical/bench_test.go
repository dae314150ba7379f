package clinical

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchTexts are a clinical letter and plain business prose.
func benchTexts() map[string]string {
	letter := `Dear Dr Patel,

Re: Mrs Margaret Jones, DOB 12/03/1948
I reviewed Mrs Jones in the diabetes clinic today. She reports good control of her symptoms and is taking Metformin 500mg bd, Ramipril 5mg od and Atorvastatin 20mg nocte.
On examination: BP 142/88, HR 76. Chest clear. Results: HbA1c 58 mmol/mol, eGFR 52, K+ 4.9 mmol/L.
Impression: suboptimal control. Plan: 1. Increase metformin to 1g bd. 2. Repeat bloods in 3 months.
Yours sincerely, Consultant Physician
`
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the quarterly budget report shows that spending on office supplies and travel rose by four per cent while the project board agreed to move the meeting to Thursday afternoon in the main conference room please send comments before Friday")
	var b strings.Builder
	for b.Len() < 64<<10 {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return map[string]string{"letter": strings.Repeat(letter, 100), "business": b.String()}
}

func BenchmarkScan(b *testing.B) {
	m := Lexicon()
	for name, text := range benchTexts() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			dst := make([]Hit, 0, 8192)
			for b.Loop() {
				dst = m.Scan(text, dst[:0])
			}
		})
	}
}
