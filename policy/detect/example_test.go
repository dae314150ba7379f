package detect_test

import (
	"fmt"
	"time"

	"github.com/sealpost/sealpost/policy/detect"
)

func ExampleCombined() {
	mrn, err := detect.CompilePattern("trust-mrn", `\bRX[0-9]{7}\b`)
	if err != nil {
		panic(err)
	}
	cfg := detect.Config{
		MRN: []detect.NamedPattern{mrn},
		Now: func() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) },
	}
	text := "Re: Mrs Example, NHS No: 943 476 5919, DOB: 01/02/1960, MRN RX1234567.\n" +
		"Diagnosis: E11.9. Your order 4505577104 has shipped."
	for _, m := range detect.Combined(cfg).Find(text, nil) {
		fmt.Printf("%-10s %.2f %s\n", m.Detector, m.Score, m.Evidence)
	}
	// Output:
	// nhs_number 0.95 NHS number ••• ••• 5919 (check digit valid; context 'NHS No')
	// dob        0.85 date of birth ••/••/•••• (context 'DOB')
	// icd10      0.80 ICD-10 code •••.• (category in bundled list; context 'diagnosis')
	// nhs_number 0.10 NHS number ••••••7104 (check digit valid; business context 'order')
	// mrn        0.80 MRN •••••4567 (pattern 'trust-mrn'; context 'MRN')
}
