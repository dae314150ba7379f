package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// gen holds the random source of one message and picks fillers from it.
type gen struct {
	r  *rand.Rand
	us bool // US style (names, dates, identifiers)
}

func (g *gen) pick(list ...string) string { return list[g.r.IntN(len(list))] }
func (g *gen) n(lo, hi int) int           { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) f(lo, hi float64, prec int) string {
	return fmt.Sprintf("%.*f", prec, lo+g.r.Float64()*(hi-lo))
}
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

var (
	ukFirst = []string{"Margaret", "John", "Susan", "David", "Patricia", "Robert", "Linda", "James", "Barbara", "Peter",
		"Helen", "Michael", "Elizabeth", "Stephen", "Janet", "Paul", "Christine", "Andrew", "Gillian", "Mohammed",
		"Aisha", "Priya", "Rajesh", "Siobhan", "Declan", "Fiona", "Gareth", "Rhiannon", "Callum", "Isla", "Oliver",
		"Amelia", "Harry", "Grace", "Kwame", "Zofia", "Tomasz", "Niamh", "Hamish", "Eilidh"}
	ukLast = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
		"Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel",
		"Khan", "Ahmed", "Singh", "O'Brien", "MacDonald", "Campbell", "Hughes", "Edwards", "Lewis", "Okafor",
		"Kowalski", "Nowak", "Murphy", "Kelly", "Stewart", "Fraser", "Price", "Morgan", "Bennett"}
	usFirst = []string{"Mary", "James", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "Richard", "Jessica",
		"Joseph", "Sarah", "Thomas", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Maria", "Jose",
		"Luis", "Carmen", "Tyrone", "Keisha", "DeShawn", "Emily", "Brandon", "Ashley", "Kevin", "Megan"}
	usLast = []string{"Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
		"Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "Harris", "Sanchez", "Clark",
		"Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Nguyen", "Hill", "Flores"}
	ukHospitals = []string{"Royal Northern Infirmary", "St Mary's Hospital", "Riverside General Hospital", "Queen Elizabeth University Hospital",
		"Westfield Community Hospital", "North Tyneside General", "Royal Victoria Infirmary", "Southmead Hospital",
		"Ninewells Hospital", "Altnagelvin Area Hospital", "Princess Royal Hospital", "Kings Mill Hospital"}
	usHospitals = []string{"Mercy General Hospital", "St. Luke's Medical Center", "Lakeside Regional Medical Center",
		"University Hospital", "Valley Presbyterian Hospital", "Memorial Hermann", "Providence St. Joseph"}
	ukPractices = []string{"Riverside Surgery", "The Limes Medical Practice", "Parkview Health Centre", "Oakwood Surgery",
		"Castle Street Medical Centre", "Meadowbank Practice", "Station Road Surgery", "Highfield Medical Group"}
	ukTowns  = []string{"Leeds", "Bristol", "Norwich", "Newcastle upon Tyne", "Dundee", "Cardiff", "Derry", "Exeter", "York", "Stockport"}
	ukStreet = []string{"Church Lane", "Station Road", "Victoria Street", "Mill Road", "Park Avenue", "High Street", "Oak Close", "Queens Drive"}
	usCities = []string{"Columbus, OH", "Phoenix, AZ", "Tampa, FL", "Denver, CO", "Portland, OR", "Austin, TX", "Raleigh, NC"}
)

func (g *gen) first() string {
	if g.us {
		return g.pick(usFirst...)
	}
	return g.pick(ukFirst...)
}

func (g *gen) last() string {
	if g.us {
		return g.pick(usLast...)
	}
	return g.pick(ukLast...)
}

// person is a synthetic patient.
type person struct {
	first, last, title, he, his, him, man string
	age                                   int
	dob                                   time.Time
}

func (g *gen) patient() person {
	p := person{first: g.first(), last: g.last(), age: g.n(19, 94)}
	if g.chance(0.5) {
		p.title, p.he, p.his, p.him, p.man = "Mr", "he", "his", "him", g.pick("man", "gentleman", "male")
	} else {
		p.title, p.he, p.his, p.him, p.man = g.pick("Mrs", "Ms", "Miss"), "she", "her", "her", g.pick("woman", "lady", "female")
	}
	p.dob = time.Date(2025-p.age, time.Month(g.n(1, 12)), g.n(1, 28), 0, 0, 0, 0, time.UTC)
	return p
}

func (p person) full() string   { return p.first + " " + p.last }
func (p person) formal() string { return p.title + " " + p.last }
func (p person) He() string     { return strings.ToUpper(p.he[:1]) + p.he[1:] }
func (p person) His() string    { return strings.ToUpper(p.his[:1]) + p.his[1:] }

func (g *gen) dobString(p person) string {
	if g.us {
		return p.dob.Format("01/02/2006")
	}
	return g.pick(p.dob.Format("02/01/2006"), p.dob.Format("2 January 2006"), p.dob.Format("02.01.2006"))
}

func (g *gen) date() time.Time {
	return time.Date(2025, time.Month(g.n(1, 11)), g.n(1, 28), g.n(8, 17), g.n(0, 59), 0, 0, time.UTC)
}

func (g *gen) dateString() string {
	d := g.date()
	if g.us {
		return d.Format("01/02/2006")
	}
	return g.pick(d.Format("02/01/2006"), d.Format("2 January 2006"), d.Format("02/01/06"))
}

// nhsNumber returns a random valid NHS number (mod 11), spaced or not.
func (g *gen) nhsNumber() string {
	for {
		// England and Wales issue 400 000 000-499 999 999 and
		// 600 000 000-799 999 999.
		d := make([]int, 9)
		d[0] = []int{4, 6, 7}[g.r.IntN(3)]
		sum := d[0] * 10
		for i := 1; i < len(d); i++ {
			d[i] = g.n(0, 9)
			sum += d[i] * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue
		}
		var b strings.Builder
		for i, v := range d {
			if i == 3 || i == 6 {
				b.WriteString(g.sepFor())
			}
			fmt.Fprintf(&b, "%d", v)
		}
		fmt.Fprintf(&b, "%d", check)
		s := b.String()
		return s
	}
}

func (g *gen) sepFor() string { return " " }

func (g *gen) ssn() string {
	return fmt.Sprintf("%03d-%02d-%04d", g.n(100, 665), g.n(10, 99), g.n(1000, 9999))
}

func (g *gen) mrn() string {
	if g.us {
		return fmt.Sprintf("%08d", g.n(1000000, 99999999))
	}
	return fmt.Sprintf("%s%07d", g.pick("RX", "K", "M", "H"), g.n(100000, 9999999))
}

func (g *gen) doctor() string {
	return "Dr " + g.pick("A", "B", "C", "J", "K", "M", "R", "S") + " " + g.pick(append(append([]string{}, ukLast...), usLast...)...)
}

func (g *gen) address() string {
	if g.us {
		return fmt.Sprintf("%d %s St, %s", g.n(10, 9999), g.pick("Maple", "Oak", "Pine", "Cedar", "Elm", "Washington"), g.pick(usCities...))
	}
	return fmt.Sprintf("%d %s, %s", g.n(1, 180), g.pick(ukStreet...), g.pick(ukTowns...))
}

// drugs: name, dose, frequency.
type drug struct{ name, dose string }

var chronicDrugs = []drug{
	{"Metformin", "500mg"}, {"Metformin", "1g"}, {"Ramipril", "5mg"}, {"Ramipril", "2.5 mg"}, {"Amlodipine", "5mg"},
	{"Amlodipine", "10 mg"}, {"Atorvastatin", "20mg"}, {"Atorvastatin", "40 mg"}, {"Bisoprolol", "2.5mg"},
	{"Levothyroxine", "100 micrograms"}, {"Omeprazole", "20mg"}, {"Lansoprazole", "30mg"}, {"Sertraline", "50mg"},
	{"Citalopram", "20 mg"}, {"Mirtazapine", "15mg"}, {"Apixaban", "5mg"}, {"Edoxaban", "60mg"}, {"Furosemide", "40mg"},
	{"Gliclazide", "80mg"}, {"Simvastatin", "40mg"}, {"Lisinopril", "10mg"}, {"Losartan", "50mg"},
	{"Salbutamol", "100 micrograms"}, {"Fostair", "100/6"}, {"Paracetamol", "1g"}, {"Co-codamol", "30/500"},
	{"Allopurinol", "100mg"}, {"Tamsulosin", "400 micrograms"}, {"Alendronic acid", "70mg"}, {"Adcal-D3", "1 tablet"},
	{"Quetiapine", "100mg"}, {"Olanzapine", "10mg"}, {"Lithium carbonate", "400mg"}, {"Pregabalin", "75mg"},
	{"Warfarin", "3mg"}, {"Clopidogrel", "75mg"}, {"Aspirin", "75mg"}, {"Empagliflozin", "10mg"},
	{"Insulin glargine", "18 units"}, {"Prednisolone", "5mg"}, {"Methotrexate", "15mg"}, {"Folic acid", "5mg"},
}

var usDrugs = []drug{
	{"Lisinopril", "10 mg"}, {"Metformin", "1000 mg"}, {"Atorvastatin", "40 mg"}, {"Amlodipine", "5 mg"},
	{"Metoprolol", "25 mg"}, {"Albuterol", "90 mcg"}, {"Levothyroxine", "75 mcg"}, {"Sertraline", "100 mg"},
	{"Gabapentin", "300 mg"}, {"Omeprazole", "40 mg"}, {"Losartan", "50 mg"}, {"Hydrochlorothiazide", "25 mg"},
	{"Apixaban", "5 mg"}, {"Insulin glargine", "20 units"}, {"Acetaminophen", "650 mg"}, {"Escitalopram", "10 mg"},
}

var ukFreq = []string{"od", "OD", "bd", "BD", "tds", "nocte", "mane", "once daily", "twice daily", "prn", "once weekly"}
var usFreq = []string{"daily", "BID", "twice daily", "at bedtime", "q6h PRN", "once daily", "TID"}

func (g *gen) med() string {
	if g.us {
		d := usDrugs[g.r.IntN(len(usDrugs))]
		return d.name + " " + d.dose + " " + g.pick(usFreq...)
	}
	d := chronicDrugs[g.r.IntN(len(chronicDrugs))]
	return d.name + " " + d.dose + " " + g.pick(ukFreq...)
}

func (g *gen) meds(k int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < k {
		m := g.med()
		name := strings.Fields(m)[0]
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, m)
	}
	return out
}

var conditions = []string{"type 2 diabetes", "hypertension", "atrial fibrillation", "COPD", "asthma", "chronic kidney disease stage 3",
	"ischaemic heart disease", "hypothyroidism", "osteoarthritis", "depression", "generalised anxiety disorder", "heart failure",
	"gout", "previous TIA", "hypercholesterolaemia", "rheumatoid arthritis", "epilepsy", "bipolar affective disorder",
	"osteoporosis", "GORD", "obesity", "previous DVT", "benign prostatic hyperplasia", "migraine"}

var usConditions = []string{"type 2 diabetes mellitus", "essential hypertension", "hyperlipidemia", "CAD s/p PCI", "COPD",
	"major depressive disorder", "GERD", "obstructive sleep apnea", "chronic low back pain", "atrial fibrillation",
	"CKD stage 3a", "hypothyroidism", "osteoarthritis of the knee", "anxiety"}

func (g *gen) conds(k int) []string {
	list := conditions
	if g.us {
		list = usConditions
	}
	seen := map[string]bool{}
	var out []string
	for len(out) < k {
		c := list[g.r.IntN(len(list))]
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// labs returns a line of results with values and units.
func (g *gen) labs(k int) []string {
	all := []func() string{
		func() string { return "Hb " + fmt.Sprint(g.n(85, 155)) + " g/L" },
		func() string { return "WCC " + g.f(3.5, 16, 1) + " x10^9/L" },
		func() string { return "Plt " + fmt.Sprint(g.n(120, 450)) },
		func() string { return "Na " + fmt.Sprint(g.n(128, 145)) + " mmol/L" },
		func() string { return "K+ " + g.f(3.2, 6.1, 1) + " mmol/L" },
		func() string { return "Creatinine " + fmt.Sprint(g.n(60, 240)) + " umol/L" },
		func() string { return "eGFR " + fmt.Sprint(g.n(22, 89)) },
		func() string { return "CRP " + fmt.Sprint(g.n(1, 180)) },
		func() string { return "HbA1c " + fmt.Sprint(g.n(38, 98)) + " mmol/mol" },
		func() string { return "TSH " + g.f(0.2, 9, 1) + " mU/L" },
		func() string { return "ALT " + fmt.Sprint(g.n(12, 140)) + " U/L" },
		func() string { return "INR " + g.f(0.9, 4.5, 1) },
		func() string { return "Total cholesterol " + g.f(3.1, 7.9, 1) + " mmol/L" },
		func() string { return "Ferritin " + fmt.Sprint(g.n(8, 400)) + " ug/L" },
		func() string { return "Troponin " + fmt.Sprint(g.n(3, 900)) + " ng/L" },
		func() string { return "D-dimer " + fmt.Sprint(g.n(200, 3000)) + " ng/mL" },
		func() string { return "Vitamin D " + fmt.Sprint(g.n(12, 90)) + " nmol/L" },
	}
	if g.us {
		all = []func() string{
			func() string { return "Hemoglobin " + g.f(9.5, 15.5, 1) + " g/dL" },
			func() string { return "WBC " + g.f(3.5, 14, 1) + " K/uL" },
			func() string { return "Sodium " + fmt.Sprint(g.n(130, 145)) + " mmol/L" },
			func() string { return "Potassium " + g.f(3.3, 5.6, 1) + " mmol/L" },
			func() string { return "Creatinine " + g.f(0.7, 2.4, 2) + " mg/dL" },
			func() string { return "Glucose " + fmt.Sprint(g.n(80, 260)) + " mg/dL" },
			func() string { return "HbA1c " + g.f(5.4, 10.5, 1) + "%" },
			func() string { return "LDL " + fmt.Sprint(g.n(60, 190)) + " mg/dL" },
			func() string { return "TSH " + g.f(0.4, 7, 2) + " mIU/L" },
			func() string { return "eGFR " + fmt.Sprint(g.n(30, 90)) + " mL/min/1.73m2" },
		}
	}
	g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var out []string
	for i := 0; i < k && i < len(all); i++ {
		out = append(out, all[i]())
	}
	return out
}

func (g *gen) vitals() string {
	return fmt.Sprintf("BP %d/%d, HR %d, RR %d, SpO2 %d%% on air, Temp %s", g.n(100, 175), g.n(60, 100), g.n(55, 118), g.n(12, 26), g.n(88, 99), g.f(36.1, 39.2, 1))
}

func bullets(items []string, prefix string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(prefix)
		b.WriteString(it)
		b.WriteString("\n")
	}
	return b.String()
}

func (g *gen) signoff() string {
	doc := g.doctor()
	if g.us {
		return g.pick("Sincerely,\n\n", "Best regards,\n\n", "Thank you,\n\n") + doc + ", MD\n" + g.pick("Internal Medicine", "Cardiology", "Endocrinology", "Family Medicine") + "\n" + g.pick(usHospitals...) + "\n"
	}
	return g.pick("Yours sincerely,\n\n", "Kind regards,\n\n", "With best wishes,\n\n", "Yours faithfully,\n\n") + doc + "\n" + g.pick("Consultant Physician", "Consultant Cardiologist", "Specialty Registrar", "Consultant in Diabetes and Endocrinology", "Consultant Respiratory Physician", "Consultant Psychiatrist", "GP Partner", "Advanced Nurse Practitioner") + "\n" + g.pick(ukHospitals...) + "\n"
}
