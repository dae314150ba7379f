package main

import (
	"fmt"
	"strings"
)

func init() {
	clinicalFamilies = append(clinicalFamilies, moreClinical...)
	healthFamilies = append(healthFamilies, moreHealth...)
	businessFamilies = append(businessFamilies, moreBusiness...)
}

var moreClinical = []family{
	{name: "uk-fit-note", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Fit note", "Statement of fitness for work", "sick note request"),
			text: fmt.Sprintf(`Statement of Fitness for Work
Patient: %s %s
I assessed your case on %s and, because of the following condition(s): %s
I advise you that you are not fit for work for %s.
Comments: %s
Doctor: %s, %s`, p.title, p.full(), g.dateString(), g.pick("lumbar back pain with sciatica", "stress at work and low mood", "post-operative recovery after hernia repair", "exacerbation of COPD", "fractured wrist"),
				g.pick("2 weeks", "4 weeks", "1 month"), g.pick("May benefit from a phased return.", "Amended duties: no lifting.", "Review if not improving."), g.doctor(), g.pick(ukPractices...))}
	}},
	{name: "uk-pharmacy-to-gp", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Prescription query", "Urgent supply request", "Pharmacy query re patient"),
			text: fmt.Sprintf(`Dear Doctor,

Re: %s, %s

We have received a prescription for %s. %s Could you please %s?

Many thanks,
%s, Pharmacist
%s Pharmacy`, p.full(), g.address(), g.med(), g.pick("This interacts with the clarithromycin issued yesterday.", "The patient reports this has been out of stock for two weeks.", "The dose is higher than previously issued.", "The patient tells us they stopped this in hospital."),
				g.pick("confirm the dose", "issue an alternative", "advise whether to supply", "update the repeat template"), g.first()+" "+g.last(), g.pick("Boots", "Well", "Rowlands", "High Street"))}
	}},
	{name: "uk-district-nurse-visit", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("DN visit", "District nursing update", "Visit today"),
			text: fmt.Sprintf(`Visited %s at home today. %s
%s
Obs: %s
Plan: %s. Next visit %s.
%s, Community Nurse`, p.formal(), g.pick("Dressing to left lower leg venous ulcer changed; wound measures 3x4cm, sloughy, moderate exudate.", "Catheter changed, draining clear urine.", "Insulin administered (Novorapid 8 units), CBG 14.2 pre dose.", "Pressure area to sacrum category 2, repositioning chart in place."),
				g.pick("Family report reduced appetite.", "Pain controlled with paracetamol 1g qds.", "Lives alone, carers QDS."), g.vitals(), g.pick("swab sent, GP to review antibiotics", "continue 2-layer compression", "refer to tissue viability"), g.pick("Thursday", "in 2 days", "Monday"), g.first())}
	}},
	{name: "uk-optometrist-referral", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Optometrist referral", "GOS18 referral", "Eye referral"),
			text: fmt.Sprintf(`Referral to ophthalmology
%s
Findings: IOP R %d mmHg, L %d mmHg. %s
VA R 6/%s, L 6/%s.
Suspected: %s
Urgency: %s
%s, Optometrist`, ukHeaderBlock(g, p, g.chance(0.5)), g.n(22, 34), g.n(14, 30), g.pick("Cup-disc ratio 0.7 R with inferior notch.", "Drusen and pigment changes at the macula.", "Dense nuclear cataract both eyes."), g.pick("6", "9", "12"), g.pick("6", "9", "12", "18"),
				g.pick("glaucoma", "wet age-related macular degeneration", "cataract"), g.pick("routine", "urgent - within 1 week"), g.first()+" "+g.last())}
	}},
	{name: "uk-occupational-health-report", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Occupational health report", "OH management referral outcome", "Return to work advice"),
			text: fmt.Sprintf(`Dear Manager,

Re: %s, %s

I saw %s on %s following your management referral. %s has been off work since %s with %s. %s is currently taking %s and is under the care of %s GP.

Opinion: %s is %s. I recommend %s.

%s, Occupational Health Physician`, p.full(), g.pick("Staff Nurse", "Porter", "Administrator", "Healthcare Assistant"), p.formal(), g.dateString(), p.He(), g.dateString(), g.pick("anxiety and depression", "a back injury", "migraine", "long COVID symptoms", "alcohol-related problems"),
				p.He(), g.med(), p.his, p.He(), g.pick("fit for work with adjustments", "currently unfit for work", "likely to be covered by the Equality Act"), g.pick("a phased return over 4 weeks", "no night shifts for 3 months", "review in 6 weeks"), g.doctor())}
	}},
	{name: "uk-sexual-health-result", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Your test result", "Message from the clinic", "Results"),
			text: fmt.Sprintf(`Hi %s,

%s

%s

Sexual Health Service`, p.first, g.pick("Your recent chlamydia test was positive. This is easily treated with a course of doxycycline 100mg twice a day for 7 days.", "Your HIV and syphilis tests were negative. Your gonorrhoea test was positive and we need to see you for treatment.", "Your cervical screening (smear) test found HPV. You have been referred for colposcopy."),
				g.pick("Please call us on 0300 123 4567 to arrange treatment. Partners should also be tested.", "We will send you an appointment within 2 weeks.", "Please avoid sex until you and your partner have finished treatment."))}
	}},
	{name: "uk-gp-insurance-report", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("GP report for insurer", "Medical report - your ref", "Private medical attendant report"),
			text: fmt.Sprintf(`GPR report
Applicant: %s, DOB %s
Consent: signed consent received.
Medical history:
%s
Current medication: %s
Smoking: %s. Alcohol: %d units/week.
Last BP %d/%d, BMI %s.
Any consultations for mental health in the last 5 years: %s
Signed %s`, p.full(), g.dobString(p), bullets(g.conds(g.n(2, 4)), "- "), strings.Join(g.meds(g.n(1, 3)), ", "), g.pick("never", "ex-smoker", "10/day"), g.n(0, 30), g.n(110, 160), g.n(65, 95), g.f(20, 38, 1), g.pick("yes - depression 2021, treated with sertraline", "no"), g.doctor())}
	}},
	{name: "uk-care-home-email", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("resident update", "concern about "+p.first, "re: medication change"),
			text: fmt.Sprintf(`Hi,

Just to let you know %s in room %d %s. %s
%s

Thanks, %s (senior carer)`, p.formal(), g.n(1, 40), g.pick("had a fall last night and has a bruise on her hip", "has been off her food and is more confused", "has a new cough and temperature of 38.4", "refused his evening tablets again"),
				g.pick("Obs: BP 98/60, pulse 104.", "She is on apixaban so we called 111.", "Urine dip: leucocytes ++, nitrites +.", "He says the donepezil makes him sick."), g.pick("Could the GP visit today?", "Please can you review the MAR chart.", "Family have been informed."), g.first())}
	}},
	{name: "us-patient-portal-message", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("question for Dr "+g.last(), "side effects", "blood sugar readings"),
			text: fmt.Sprintf(`Hi Dr %s,

%s

Thanks,
%s`, g.last(), g.pick(
				"Since you increased my lisinopril to 20 mg I have had a dry cough that keeps me up at night. Should I switch?",
				"My fasting sugars this week were 182, 176, 201 and 168. I'm taking the metformin 1000 mg twice a day. Should I call?",
				"I had my colonoscopy last week and the nurse said they removed two polyps. When will I get the pathology?",
				"I've been feeling more anxious since stopping the escitalopram. Can I restart at 10 mg?"), p.full())}
	}},
	{name: "us-referral-order", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Referral", "Specialty referral order", "Referral - "+g.pick("GI", "Cardiology", "Ortho")),
			text: fmt.Sprintf(`Referral order
Patient: %s   DOB: %s   MRN: %s
Insurance: %s
Referred to: %s
Reason: %s
Pertinent history: %s
Meds: %s
Ordering provider: %s, MD`, p.full(), g.dobString(p), g.mrn(), g.pick("Aetna PPO", "Medicare", "BCBS"), g.pick("Gastroenterology", "Cardiology", "Orthopedics", "Sleep medicine"),
				g.pick("iron deficiency anemia, r/o GI bleed", "abnormal stress test", "right knee OA, failed conservative tx", "suspected OSA, STOP-BANG 6"), strings.Join(g.conds(2), ", "), strings.Join(g.meds(2), ", "), g.doctor())}
	}},
	{name: "uk-death-notification", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Death notification", "Notification of patient death", "RIP - "+p.last),
			text: fmt.Sprintf(`We are sorry to inform you that %s (DOB %s, NHS %s) died on %s at %s.
Cause of death:
1a %s
1b %s
2 %s
The family have been informed. Please update your records and cancel outstanding appointments.`, p.full(), g.dobString(p), g.nhsNumber(), g.dateString(), g.pick(ukHospitals...), g.pick("Bronchopneumonia", "Myocardial infarction", "Metastatic carcinoma of the lung", "Sepsis"), g.pick("Frailty of old age", "Ischaemic heart disease", "Carcinoma of the lung", "Urinary tract infection"), g.pick("Type 2 diabetes", "COPD", "Dementia"))}
	}},
}

var moreHealth = []family{
	{name: "health-medicine-shortage", class: "health", make: func(g *gen) letter {
		d := g.pick("Estradiol 50 micrograms patches", "Creon 25000 capsules", "Salbutamol 100 micrograms inhaler", "Methylphenidate 18mg MR tablets")
		return letter{subject: "Medicine supply notification: " + strings.Fields(d)[0], text: fmt.Sprintf(`Medicine Supply Notification

%s are out of stock until %s.

Actions for prescribers: review patients and consider prescribing alternatives such as %s. Patients should be advised not to stop treatment abruptly.

Please share with clinical colleagues and community pharmacies.`, d, g.dateString(), g.pick("estradiol gel 0.06%", "Nutrizym 22 capsules", "Easyhaler salbutamol 100 micrograms", "Concerta XL 18mg"))}
	}},
	{name: "health-prescribing-newsletter", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Prescribing newsletter", "Medicines optimisation bulletin", "Practice prescribing report"), text: fmt.Sprintf(`Medicines optimisation bulletin - %s

1. Switch %s to %s where clinically appropriate: potential annual saving £%d,000 across the ICB.
2. Reminder: patients on methotrexate 2.5mg tablets should have FBC and LFTs monitored every 3 months.
3. Antimicrobial stewardship: the practice prescribed %s items of co-amoxiclav per 1000 patients, above the national average.
4. Patients with an eGFR below 30 should not be started on metformin.

Your practice prescribing data for the quarter is attached.`, g.dateString(), g.pick("atorvastatin 80mg", "omeprazole 40mg", "fostair 200/6"), g.pick("atorvastatin 40mg", "lansoprazole 30mg", "luforbec 200/6"), g.n(10, 300), g.f(10, 40, 1))}
	}},
	{name: "health-cqc-report", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("CQC inspection outcome", "Inspection report published"), text: fmt.Sprintf(`The Care Quality Commission has published its report following the inspection of %s in %s.

Overall rating: %s
Safe: %s. Effective: Good. Caring: Outstanding. Responsive: Good. Well-led: %s.

Inspectors found that staff treated patients with kindness, but that waiting times in the emergency department were too long and medicines were not always stored safely. The trust has produced an action plan.`, g.pick(ukHospitals...), g.pick("March", "June", "October"), g.pick("Good", "Requires improvement"), g.pick("Requires improvement", "Good"), g.pick("Good", "Requires improvement"))}
	}},
	{name: "health-university-press-release", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Press release: embargoed", "New research from the university", "Study finds"), text: fmt.Sprintf(`EMBARGOED UNTIL 00:01 %s

A daily %s could cut the risk of %s by %d%%, study finds

Researchers at the University of %s followed %d,000 adults for %d years. Those who %s were significantly less likely to develop %s, even after adjusting for age, smoking and body mass index.

Lead author Professor %s said: "These findings suggest a simple way to reduce risk, but more trials are needed."

The study is published today in %s. Notes to editors follow.`, g.dateString(), g.pick("30-minute walk", "handful of nuts", "cup of coffee"), g.pick("dementia", "type 2 diabetes", "heart disease", "depression"), g.n(10, 40), g.pick(ukTowns...), g.n(10, 500), g.n(5, 20), g.pick("walked daily", "ate nuts most days", "drank coffee"), g.pick("dementia", "type 2 diabetes", "heart disease"), g.last(), g.pick("The Lancet", "BMJ", "Nature Medicine"))}
	}},
	{name: "health-patient-survey", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Friends and Family Test results", "Patient survey results", "Patient experience report"), text: fmt.Sprintf(`Patient experience report - %s

%d%% of patients would recommend our services (%d responses).
Top themes: friendly staff, cleanliness, waiting times.
Comments included: "The nurses on ward %d were wonderful" and "I waited four hours for my discharge medication".

Complaints received: %d (%d about communication). Actions are agreed with each ward manager.`, g.pick("Q1", "Q2", "Q3"), g.n(80, 97), g.n(300, 3000), g.n(1, 30), g.n(10, 60), g.n(3, 20))}
	}},
	{name: "health-webinar-recap", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Webinar recording now available", "Thanks for attending", "Slides from today's session"), text: fmt.Sprintf(`Thank you for joining our webinar "%s".

The recording and slides are now available. Key take-aways:
- Most patients with %s are managed in primary care.
- Consider %s for patients not at target after 3 months.
- Use shared decision making tools.

Claim your CPD certificate by completing the feedback form. Our next webinar is on %s.

Unsubscribe`, g.pick("Managing type 2 diabetes in 2025", "Heart failure: what GPs need to know", "Menopause in primary care"), g.pick("type 2 diabetes", "heart failure", "menopausal symptoms"), g.pick("an SGLT2 inhibitor", "sacubitril/valsartan", "HRT"), g.dateString())}
	}},
}

var moreBusiness = []family{
	{name: "biz-contract-renewal", class: "business", make: func(g *gen) letter {
		return letter{subject: "Contract renewal " + fmt.Sprint(g.n(1000, 9999)), text: fmt.Sprintf(`Dear %s,

Your contract (ref %s) for %s expires on %s. The renewal price is £%d per annum. Please sign and return the attached renewal form, quoting customer number %s.

Regards,
%s
Contracts Team`, g.first(), g.orderNumber(), g.pick("photocopier leasing", "waste collection", "managed print", "telephony"), g.dateString(), g.n(1000, 50000), g.orderNumber(), g.first())}
	}},
	{name: "biz-timesheet", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Timesheet reminder", "Rota for next month", "Shift swap"), text: fmt.Sprintf(`Hi %s,

%s

Thanks,
%s`, g.first(), g.pick("Please submit your timesheet for week ending "+g.dateString()+" by Monday noon.", "The rota for next month is on the shared drive. Please check your night shifts and let me know about any swaps by Friday.", "Can you swap your Saturday late for my Tuesday early? I've got a wedding."), g.first())}
	}},
	{name: "biz-company-newsletter", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Company news", "The monthly update", "Inside this month"), text: fmt.Sprintf(`Welcome to this month's newsletter!

- We welcomed %d new starters.
- Our charity bake sale raised £%d.
- The new canteen menu launches on %s.
- Congratulations to %s %s on 25 years of service.

Don't forget the summer social on %s. Tickets from reception.`, g.n(3, 30), g.n(100, 2000), g.dateString(), g.first(), g.last(), g.dateString())}
	}},
}
