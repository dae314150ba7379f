package classify_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sealpost/sealpost/policy/classify"
)

func ExampleClassifier_Classify() {
	c := classify.New(classify.Config{})
	note := "Subject: today's consult\r\n\r\n" +
		"67yo M. c/o SOB and productive cough x 5/7.\r\n" +
		"PMHx: T2DM, HTN. DHx: Metformin 500mg bd, Ramipril 5mg od.\r\n" +
		"O/E: T 38.1, sats 94% RA, coarse creps R base. BP 142/88.\r\n" +
		"Imp: LRTI. Plan: Doxycycline 200mg stat then 100mg od 5/7.\r\n"
	news := "Subject: Health news\r\n\r\n" +
		"NHS waiting list reaches 7.6 million. The number of patients waiting for " +
		"routine treatment rose, according to figures published on Thursday. " +
		"A spokesperson said the government was investing record amounts.\r\n"
	for _, msg := range []string{note, news} {
		r, err := c.Classify(context.Background(), strings.NewReader(msg))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("PHI: %v\n", r.Score >= 0.5)
	}
	// Output:
	// PHI: true
	// PHI: false
}
