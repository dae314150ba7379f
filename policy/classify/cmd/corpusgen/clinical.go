package main

import (
	"fmt"
	"strings"
)

// Clinical families: letters, notes and results about one patient.

func ukHeaderBlock(g *gen, p person, withID bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Patient: %s %s\n", p.title, p.full())
	if withID || g.chance(0.6) {
		fmt.Fprintf(&b, "DOB: %s\n", g.dobString(p))
	}
	if withID {
		fmt.Fprintf(&b, "%s: %s\n", g.pick("NHS No", "NHS Number", "NHS no."), g.nhsNumber())
	}
	if g.chance(0.4) {
		fmt.Fprintf(&b, "Hospital No: %s\n", g.mrn())
	}
	if g.chance(0.5) {
		fmt.Fprintf(&b, "Address: %s\n", g.address())
	}
	return b.String()
}

var clinicalFamilies = []family{
	{name: "uk-discharge-summary", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		dx := g.pick("Community acquired pneumonia", "Infective exacerbation of COPD", "Fast AF with decompensated heart failure", "NSTEMI", "Urosepsis", "Acute kidney injury stage 2", "Cellulitis left leg", "Diabetic ketoacidosis", "Fractured neck of femur (right)", "Lower GI bleed")
		meds := g.meds(g.n(3, 7))
		return letter{subject: g.pick("Discharge summary", "Discharge Summary - "+p.last, "eDischarge notification", "TTO / discharge letter"),
			text: fmt.Sprintf(`DISCHARGE SUMMARY
%s
%s
Date of admission: %s
Date of discharge: %s
Ward: %s

Diagnosis: %s
Co-morbidities: %s

Presenting complaint:
%d year old %s admitted via ED with %s. %s

Investigations:
%s
CXR: %s

Medications on discharge (TTO):
%s
Changes: %s started. %s stopped.

Follow-up / actions for GP:
- Please repeat U&Es in 1 week.
- %s
- Review in %s clinic in 6 weeks.

%s`, ukHeaderBlock(g, p, g.chance(0.7)), g.pick(ukHospitals...), g.dateString(), g.dateString(), g.pick("Ward 7", "AMU", "Cardiology Ward 3", "Elderly Care, Ward 12", "Respiratory Ward 22"),
				dx, strings.Join(g.conds(g.n(2, 4)), ", "), p.age, p.man, g.pick("3 days of productive cough, fever and SOB", "palpitations and breathlessness", "central chest pain radiating to the left arm", "a fall at home and reduced mobility", "confusion and dysuria", "vomiting and abdominal pain"),
				g.pick("Treated with IV antibiotics and fluids.", "Rate controlled and diuresed.", "Managed on the ACS pathway.", "Reviewed by the orthogeriatric team."),
				strings.Join(g.labs(g.n(3, 6)), ", "), g.pick("right lower lobe consolidation", "no acute changes", "bilateral effusions", "clear"),
				bullets(meds, "  "), strings.Fields(meds[0])[0], g.pick("Naproxen", "Amlodipine", "Gliclazide", "Ibuprofen"),
				g.pick("Please titrate bisoprolol as tolerated.", "Check INR on Monday.", "Consider referral to pulmonary rehab.", "Please review mood in 4 weeks."),
				g.pick("cardiology", "respiratory", "diabetes", "fracture"), g.signoff())}
	}},
	{name: "uk-clinic-letter-to-gp", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		spec := g.pick("cardiology", "diabetes", "respiratory", "rheumatology", "gastroenterology", "neurology")
		return letter{subject: g.pick("Clinic letter", "Outpatient letter - "+spec, "Re: "+p.formal(), "Letter from "+spec+" clinic"),
			text: fmt.Sprintf(`%s

Dear %s,

Re: %s
%s
Diagnoses:
%s
I reviewed %s in the %s clinic today. %s reports %s. %s is taking %s.

On examination: %s. %s

Results: %s.

Impression: %s.
Plan:
1. %s
2. Repeat bloods in 3 months.
3. I will see %s again in %s.

%s
cc: patient`, g.pick(ukHospitals...), g.doctor(), p.formal(), ukHeaderBlock(g, p, g.chance(0.6)), bullets(g.conds(g.n(2, 4)), "- "),
				p.formal(), spec, p.He(), g.pick("ongoing exertional breathlessness", "good control of "+p.his+" symptoms", "two further episodes of chest tightness", "worsening joint pain in the mornings", "intermittent rectal bleeding", "three seizures since last review"),
				p.He(), strings.Join(g.meds(g.n(2, 4)), ", "), g.vitals(), g.pick("Heart sounds normal.", "Chest clear.", "Mild pedal oedema.", "Synovitis of both wrists."),
				strings.Join(g.labs(g.n(2, 4)), ", "), g.pick("stable disease", "suboptimal control", "likely medication side effect", "progression"),
				g.pick("Increase "+g.med(), "Start "+g.med(), "Refer for echocardiogram.", "Book colonoscopy."), p.him, g.pick("3 months", "six months", "6 weeks"), g.signoff())}
	}},
	{name: "uk-gp-referral", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Referral", "Referral - "+g.pick("cardiology", "ENT", "dermatology", "gynaecology", "orthopaedics"), "Routine referral", "New referral: "+p.last),
			text: fmt.Sprintf(`%s

Dear Colleague,

Thank you for seeing this %d year old %s who presents with %s. %s

Past medical history: %s
Current medication: %s
Allergies: %s

%s
I would be grateful for your assessment and advice on further management.

%s`, g.pick(ukPractices...), p.age, p.man, g.pick("a 4 month history of intermittent palpitations", "recurrent tonsillitis, 7 episodes this year", "a changing pigmented lesion on the back", "post-menopausal bleeding", "right knee pain limiting mobility"),
				p.He()+" "+g.pick("denies chest pain or syncope.", "has had three courses of antibiotics.", "is otherwise well.", "has tried physiotherapy without benefit."),
				strings.Join(g.conds(g.n(1, 3)), ", "), strings.Join(g.meds(g.n(1, 4)), "; "), g.pick("NKDA", "Penicillin (rash)", "none known"),
				ukHeaderBlock(g, p, g.chance(0.8)), g.signoff())}
	}},
	{name: "uk-2ww-referral", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("2WW referral", "Urgent suspected cancer referral", "Two week wait - lower GI"),
			text: fmt.Sprintf(`URGENT SUSPECTED CANCER REFERRAL (2WW)
Pathway: %s
%s
Reason for referral: %s
Relevant history: %s. Ex-smoker 20 pack years.
FIT: %s
Bloods: %s
Patient informed of the urgent referral and is available in the next 2 weeks: Yes

Referring GP: %s, %s`, g.pick("Lower GI", "Lung", "Breast", "Upper GI", "Urology"), ukHeaderBlock(g, p, true),
				g.pick("change in bowel habit and weight loss", "haemoptysis", "breast lump 2cm", "dysphagia", "visible haematuria"),
				strings.Join(g.conds(2), ", "), g.pick("140 ug/g", "positive", "not done"), strings.Join(g.labs(3), ", "), g.doctor(), g.pick(ukPractices...))}
	}},
	{name: "uk-gp-note-abbrev", class: "clinical", make: func(g *gen) letter {
		// A GP note full of abbreviations and no identifier.
		age := g.n(20, 90)
		return letter{subject: g.pick("note", "consult notes", "for the record", "today's consult", "Fwd: notes"),
			text: fmt.Sprintf(`%dyo %s. c/o %s x %s. %s
PMHx: %s
DHx: %s
NKDA
O/E: %s. %s
Imp: %s
Plan: %s. Safety-netted. R/V %s if not improving.`, age, g.pick("M", "F", "male", "female"), g.pick("SOB and productive cough", "dysuria and frequency", "L knee pain", "low mood, poor sleep", "headaches", "chest tightness on exertion"),
				g.pick("3/7", "1/52", "2 wks", "5 days"), g.pick("No fevers.", "Nil red flags.", "No PR bleeding.", "Denies SI."),
				strings.Join(g.conds(g.n(1, 3)), ", "), strings.Join(g.meds(g.n(1, 3)), ", "), g.pick("chest clear, HS I+II+0", "abdo soft, SNT", "T 38.1, sats 95% RA, coarse creps R base", "alert, good eye contact, no psychomotor change"),
				g.vitals(), g.pick("LRTI", "UTI", "OA knee", "mod depression (PHQ-9 16)", "tension headache", "?angina"),
				g.pick("Doxycycline 200mg stat then 100mg od 5/7", "Nitrofurantoin 100mg MR bd 3/7, MSU sent", "Naproxen 500mg bd + PPI, physio referral", "Sertraline 50mg od, IAPT self-referral", "ECG today, refer RACPC"), g.pick("1/52", "2/52", "48h"))}
	}},
	{name: "uk-gp-telephone-triage", class: "clinical", make: func(g *gen) letter {
		return letter{subject: g.pick("Tel triage", "Telephone consultation", "t/c notes"),
			text: fmt.Sprintf(`T/C with pt. %s
Hx: %s since %s. %s
Meds: %s
Adv: %s
F/U: %s`, g.pick("Identity confirmed x2.", "Spoke to daughter with consent.", "Called back as requested."),
				g.pick("vomiting and diarrhoea", "worsening SOB", "rash on both legs", "fall, head injury, no LOC", "panic attacks"), g.pick("yesterday", "Sunday", "3/7"),
				g.pick("Tolerating fluids.", "Unable to complete sentences.", "Non-blanching? Pt unsure.", "On warfarin."), strings.Join(g.meds(g.n(1, 2)), ", "),
				g.pick("push fluids, dioralyte", "999 / ED now", "F2F today 11:20", "attend ED for CT head as on anticoagulant", "breathing techniques, IAPT info"), g.pick("GP to call back tomorrow", "booked with nurse Thurs", "no further action unless worse"))}
	}},
	{name: "uk-patient-results-letter", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Your blood test results", "Your recent results", "Results from your GP surgery"),
			text: fmt.Sprintf(`Dear %s,

Your recent blood test results have been reviewed by %s.

%s

%s Please book a routine appointment with the practice nurse to discuss this, and continue to take your %s as prescribed.

If you have any questions please call the surgery.

%s
%s`, p.formal(), g.doctor(), bullets(g.labs(g.n(2, 4)), "  "),
				g.pick("Your HbA1c shows that your diabetes control has worsened since last year.", "Your kidney function is slightly reduced.", "Your thyroid level is low and your dose needs to change.", "Your cholesterol is raised."),
				strings.ToLower(strings.Fields(g.med())[0]), g.pick(ukPractices...), g.pick(ukTowns...))}
	}},
	{name: "uk-letter-to-patient-after-clinic", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Letter following your appointment", "Your clinic appointment", "Copy of your clinic letter"),
			text: fmt.Sprintf(`Dear %s,

Thank you for coming to see me in the %s clinic on %s. I am writing to you directly, with a copy to your GP, to summarise what we discussed.

You were seen because of %s. We reviewed your %s, which showed %s.

We agreed that you will %s. We have arranged %s, and you will receive an appointment letter.

Your medication:
%s
If you become unwell, %s.

%s`, p.formal(), g.pick("heart failure", "diabetes", "memory", "epilepsy", "COPD", "inflammatory bowel disease"), g.dateString(),
				g.pick("your breathlessness", "your blood sugar readings", "your memory difficulties", "the seizure you had in March", "your flare of colitis"),
				g.pick("echocardiogram", "blood tests", "MRI scan", "ECG", "spirometry"), g.pick("some weakness of the heart muscle", "an HbA1c of 71 mmol/mol", "mild small vessel changes", "no new problems"),
				g.pick("start "+g.med(), "increase "+g.med(), "stop driving until reviewed", "keep a symptom diary"), g.pick("a repeat scan in 3 months", "a review with the specialist nurse", "a memory assessment", "an appointment with the dietitian"),
				bullets(g.meds(g.n(2, 5)), "  - "), g.pick("please contact the heart failure nurses", "call 111", "seek urgent medical advice"), g.signoff())}
	}},
	{name: "uk-appointment-letter", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Appointment confirmation", "Your hospital appointment", "Appointment letter"),
			text: fmt.Sprintf(`Dear %s,

An appointment has been made for you to attend the %s.

Date: %s
Time: %d:%02d
Location: %s, Outpatients Department
NHS Number: %s

Please bring a list of your current medicines. %s

Booking Office, %s`, p.formal(), g.pick("Diabetes Clinic", "Sexual Health Clinic", "Memory Assessment Service", "Oncology Clinic", "Antenatal Clinic", "Fracture Clinic", "Community Mental Health Team"),
				g.dateString(), g.n(8, 16), 15*g.n(0, 3), g.pick(ukHospitals...), g.nhsNumber(),
				g.pick("Please do not eat for 6 hours before your endoscopy.", "Bring your glucose meter.", "You may bring a relative or carer.", ""), g.pick(ukHospitals...))}
	}},
	{name: "uk-mental-health-care-plan", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("CPA review", "Care plan", "MH review outcome", "Crisis plan update"),
			text: fmt.Sprintf(`Community Mental Health Team - CPA Review
Name: %s   DOB: %s
Diagnosis: %s
Mental state examination: %s
Risk assessment: %s
Medication: %s
Care coordinator: %s
Plan: %s
Crisis plan: contact the crisis team out of hours.`, p.full(), g.dobString(p), g.pick("Paranoid schizophrenia", "Bipolar affective disorder, currently euthymic", "Recurrent depressive disorder", "EUPD", "PTSD"),
				g.pick("Calm, good rapport, no psychotic symptoms elicited.", "Low mood, tearful, passive suicidal ideation, no plan.", "Pressured speech, grandiose ideas."),
				g.pick("Low risk to self and others.", "Moderate risk of self-harm, protective factors: daughter.", "History of overdose 2021."),
				strings.Join(g.meds(g.n(1, 3)), ", "), g.first()+" "+g.last()+" (CPN)", g.pick("Lithium levels in 3 months.", "Depot due 14/5.", "Psychology referral."))}
	}},
	{name: "uk-ed-discharge", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("ED attendance", "Emergency Department discharge letter", "A&E attendance summary"),
			text: fmt.Sprintf(`Emergency Department Attendance
%s
Arrival: %s  (BIBA)
Presenting complaint: %s
Triage obs: %s
Diagnosis: %s
Treatment: %s
Outcome: Discharged home. GP follow up %s.`, ukHeaderBlock(g, p, true), g.dateString(), g.pick("fall, head injury", "chest pain", "laceration L hand", "overdose of paracetamol", "asthma attack", "renal colic"),
				g.vitals(), g.pick("minor head injury, CT head normal", "non-cardiac chest pain, troponin negative x2", "wound closed with 4 sutures", "paracetamol OD below treatment line, psych liaison seen", "acute asthma, moderate", "5mm R VUJ stone"),
				g.pick("Prednisolone 40mg od 5 days", "Tetanus booster given", "Diclofenac 75mg IM", "Analgesia"), g.pick("not required", "in 1 week", "for suture removal in 10 days"))}
	}},
	{name: "uk-radiology-report", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Radiology report", "Imaging report available", "CT report"),
			text: fmt.Sprintf(`%s
Examination: %s
Clinical details: %s
Report: %s
Conclusion: %s
Reported by %s, Consultant Radiologist`, ukHeaderBlock(g, p, g.chance(0.5)), g.pick("CT thorax abdomen pelvis with contrast", "MRI lumbar spine", "CT head non-contrast", "CTPA", "Ultrasound abdomen"),
				g.pick("weight loss, ?malignancy", "L5 radiculopathy", "fall on anticoagulant", "pleuritic chest pain, raised D-dimer", "deranged LFTs"),
				g.pick("There is a 2.3 cm spiculated mass in the right upper lobe with ipsilateral hilar lymphadenopathy.", "Broad based disc protrusion at L4/5 contacting the traversing L5 nerve root.", "No intracranial haemorrhage. Small vessel ischaemic change.", "Filling defects in the right lower lobe segmental arteries.", "Multiple gallstones, CBD 9mm."),
				g.pick("Appearances suspicious for primary lung malignancy. MDT referral advised.", "L4/5 disc protrusion.", "No acute intracranial abnormality.", "Right sided pulmonary emboli.", "Cholelithiasis with dilated CBD."), g.doctor())}
	}},
	{name: "uk-histology-mdt", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("MDT outcome", "Lung MDT outcome", "Histology result and MDT"),
			text: fmt.Sprintf(`MDT OUTCOME - %s
%s
Histology: %s
Staging: %s
Performance status: %d
MDT decision: %s
Key worker: %s, CNS`, g.pick("Lung", "Colorectal", "Breast", "Urology", "Upper GI"), ukHeaderBlock(g, p, true),
				g.pick("Adenocarcinoma, TTF-1 positive", "Moderately differentiated adenocarcinoma", "Invasive ductal carcinoma grade 2, ER positive", "Gleason 3+4=7 prostate adenocarcinoma"),
				g.pick("T2a N1 M0", "T3 N0 M0", "T1c N0", "cT2 N0 M0"), g.n(0, 3), g.pick("Surgical resection", "Radical radiotherapy", "Discuss options in clinic", "Neoadjuvant chemotherapy"), g.first()+" "+g.last())}
	}},
	{name: "uk-clinician-email", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("quick one", "Re: bay 4", "patient for tomorrow", "can you see", "handover"),
			text: fmt.Sprintf(`Hi %s,

%s

Thanks
%s`, g.pick(ukFirst...), g.pick(
				fmt.Sprintf("Could you see %s in bay %d when you get a chance? %d yo, ?PE, D-dimer %d, CTPA booked for 4pm. Started on treatment dose enoxaparin.", p.formal(), g.n(1, 8), p.age, g.n(600, 2500)),
				fmt.Sprintf("%s's INR came back at %s this morning. %s is on warfarin for AF, I've held tonight's dose - can you recheck Thursday?", p.formal(), g.f(4.2, 7.5, 1), p.He()),
				fmt.Sprintf("Handover: %s (bed %d) - %s, %s. Needs a repeat K+ at 22:00, last was %s.", p.full(), g.n(1, 30), g.pick("NSTEMI", "AKI", "sepsis ?source", "DKA"), g.pick("stable", "on fixed rate insulin", "on IV fluids"), g.f(5.6, 6.4, 1)),
				fmt.Sprintf("Just spoke to %s's daughter. %s was found to have a UTI and is confused; started nitrofurantoin 100mg MR bd. Could you review at the care home tomorrow?", p.formal(), p.He()),
			), g.pick(ukFirst...))}
	}},
	{name: "uk-nursing-handover", class: "clinical", make: func(g *gen) letter {
		var b strings.Builder
		for i := 0; i < g.n(3, 6); i++ {
			p := g.patient()
			fmt.Fprintf(&b, "Bed %d  %s %s (%d)  %s. %s. %s\n", i+1, p.title, p.last, p.age, g.pick("#NOF day 2 post op", "CAP on IV abx", "AKI, IVI 8hrly", "post fall, awaiting OT", "DKA resolving"), g.pick("NEWS2 1", "NEWS2 3 - escalated", "obs stable"), g.pick("DNACPR in place.", "For discharge tomorrow.", "Bloods due 06:00.", "Family visiting pm."))
		}
		return letter{subject: g.pick("Night handover", "Ward handover", "Handover sheet"), text: "Ward " + fmt.Sprint(g.n(1, 30)) + " handover " + g.dateString() + "\n\n" + b.String()}
	}},
	{name: "uk-physio-note", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Physio assessment", "MSK physiotherapy discharge", "Physiotherapy letter"),
			text: fmt.Sprintf(`Dear %s,

Re: %s (DOB %s)

I assessed %s on %s for %s. Subjective: pain %d/10, worse on %s. Objective: %s.

Treatment: %s. %s has been discharged with a home exercise programme.

%s, MSK Physiotherapist`, g.doctor(), p.full(), g.dobString(p), p.formal(), g.dateString(), g.pick("right shoulder pain", "low back pain with sciatica", "left knee OA", "post TKR rehab"),
				g.n(3, 9), g.pick("overhead activity", "sitting", "stairs"), g.pick("reduced ROM, painful arc 70-120", "SLR 40 degrees L", "quads lag, effusion ++"), g.pick("education, graded loading", "manual therapy, core stability", "strengthening"), p.He(), g.first()+" "+g.last())}
	}},
	{name: "uk-medication-review", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		meds := g.meds(g.n(4, 8))
		return letter{subject: g.pick("Structured medication review", "Med review", "Pharmacist review"),
			text: fmt.Sprintf(`Structured medication review - %s %s, %d
Current medicines:
%s
Issues: %s
Actions: %s
Next review: 12 months
Clinical pharmacist, %s`, p.title, p.last, p.age, bullets(meds, "  "), g.pick("Falls risk on three sedating drugs.", "eGFR 38, metformin dose to be reduced.", "Taking PPI long term without indication.", "Poor adherence to inhalers."),
				g.pick("Stopped "+strings.Fields(meds[1])[0]+".", "Reduced "+strings.Fields(meds[0])[0]+".", "Inhaler technique taught.", "Referred back to GP."), g.pick(ukPractices...))}
	}},
	{name: "uk-maternity-booking", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Booking appointment summary", "Antenatal booking", "Maternity notes"),
			text: fmt.Sprintf(`Antenatal booking summary
Name: %s %s  DOB: %s
G%dP%d, LMP %s, EDD %s
BMI %d. BP %d/%d. Urinalysis NAD.
History: %s
Screening offered: combined test, sickle cell and thalassaemia, infectious diseases.
Plan: %s
Midwife: %s`, p.first, p.last, g.dobString(p), g.n(1, 5), g.n(0, 3), g.dateString(), g.dateString(), g.n(19, 38), g.n(100, 140), g.n(60, 90),
				g.pick("previous caesarean section", "gestational diabetes in last pregnancy", "anxiety, on sertraline 50mg od", "nil significant"), g.pick("consultant led care", "aspirin 150mg nocte from 12 weeks", "GTT at 24-28 weeks"), g.first()+" "+g.last())}
	}},
	{name: "uk-paeds-letter", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		age := g.n(1, 15)
		return letter{subject: g.pick("Paediatric clinic letter", "Children's outpatients", "Re: "+p.first),
			text: fmt.Sprintf(`Dear %s,

Re: %s %s, DOB %s

I saw %s, aged %d, with %s mother today. %s has %s. Weight %s kg (50th centile). %s

Plan: %s

%s`, g.doctor(), p.first, p.last, g.dobString(p), p.first, age, p.his, p.He(), g.pick("recurrent wheeze with viral infections", "constipation for 6 months", "eczema that is poorly controlled", "suspected ADHD"),
				g.f(9, 55, 1), g.pick("Chest clear today.", "Abdomen soft, faecal loading.", "Widespread excoriated eczema.", "Conners questionnaire returned."),
				g.pick("Clenil 100 micrograms 1 puff bd via spacer.", "Movicol paediatric 2 sachets daily.", "Hydrocortisone 1% to face, emollients.", "Referral to community paediatrics for assessment."), g.signoff())}
	}},
	{name: "uk-patient-email-to-practice", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("question about my tablets", "repeat prescription", "medication query", "side effects"),
			text: fmt.Sprintf(`Hello,

%s

Many thanks,
%s
%s`, g.pick(
				"I've been on sertraline 50mg for about six weeks now and I'm still feeling very low and not sleeping. Dr "+g.last()+" said I could increase it - can someone call me back?",
				"Could I please order my repeat prescription: Ramipril 5mg, Atorvastatin 20mg and my Salbutamol inhaler. I'm running out on Friday.",
				"Since starting metformin 500mg twice a day I've had terrible diarrhoea. Is this normal? My blood sugar this morning was 9.4.",
				"My mum has been more confused since she started the new tablets (amitriptyline 10mg at night). She's had two falls this week.",
			), p.full(), g.pick("DOB "+g.dobString(p), "", "tel 07"+fmt.Sprint(g.n(100000000, 999999999))))}
	}},
	{name: "uk-safeguarding", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Safeguarding concern", "Confidential - safeguarding referral", "Adult safeguarding"),
			text: fmt.Sprintf(`Safeguarding referral
Adult at risk: %s, %d, %s
Concern: %s
Capacity: %s
Medical: %s; on %s.
Referrer: %s`, p.full(), p.age, g.address(), g.pick("unexplained bruising to both upper arms noted on admission", "disclosure of financial abuse by carer", "self-neglect, living in squalor", "domestic abuse disclosed to midwife"),
				g.pick("lacks capacity regarding care arrangements", "has capacity", "MCA assessment pending"), strings.Join(g.conds(2), ", "), g.med(), g.doctor())}
	}},
	{name: "uk-vaccination-record", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Immunisation record", "Vaccination history request"),
			text: fmt.Sprintf(`Vaccination record for %s (DOB %s, NHS No %s)
%s - Influenza (QIVe), left deltoid, batch %s
%s - COVID-19 booster
%s - Pneumococcal (PPV23)
Notes: %s`, p.full(), g.dobString(p), g.nhsNumber(), g.dateString(), fmt.Sprint(g.n(100000, 999999)), g.dateString(), g.dateString(), g.pick("Immunosuppressed (methotrexate 15mg weekly) - live vaccines contraindicated.", "Egg allergy noted.", "No adverse reactions."))}
	}},
	{name: "uk-palliative-plan", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Anticipatory prescribing", "EOL care plan", "Palliative care update"),
			text: fmt.Sprintf(`%s, %d, %s
Diagnosis: %s
ReSPECT form completed; DNACPR in place. Preferred place of death: %s.
Anticipatory medicines prescribed:
- Morphine sulfate 2.5-5mg SC 2-hourly prn for pain/breathlessness
- Midazolam 2.5-5mg SC 1-hourly prn for agitation
- Hyoscine butylbromide 20mg SC 4-hourly prn for secretions
- Levomepromazine 6.25mg SC prn for nausea
Family aware. District nurses visiting daily.`, p.formal(), p.age, g.address(), g.pick("metastatic pancreatic cancer", "end stage COPD", "advanced dementia", "motor neurone disease"), g.pick("home", "hospice", "care home"))}
	}},
	{name: "us-progress-note-soap", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Progress note", "Visit note", "Encounter summary", "SOAP note"),
			text: fmt.Sprintf(`Patient: %s   DOB: %s   MRN: %s
Date of service: %s

S: %d y/o %s with PMH of %s presents for %s. Reports %s.
O: %s. %s
A/P:
1. %s - %s
2. %s - continue %s
RTC %s.`, p.full(), g.dobString(p), g.mrn(), g.dateString(), p.age, g.pick("M", "F"), strings.Join(g.conds(g.n(2, 3)), ", "), g.pick("follow-up", "annual physical", "med refill", "ER follow-up"),
				g.pick("good adherence, no hypoglycemia", "intermittent chest pressure with exertion", "worsening depression, PHQ-9 of 18", "low back pain radiating to the left leg"),
				g.vitals(), strings.Join(g.labs(g.n(2, 4)), ", "), g.pick("T2DM, uncontrolled", "HTN", "MDD, recurrent, moderate", "Lumbar radiculopathy"), g.pick("increase "+g.med(), "start "+g.med(), "order MRI L-spine", "refer to cardiology"),
				g.pick("Hyperlipidemia", "GERD", "Hypothyroidism"), g.med(), g.pick("3 months", "2 weeks", "6 months"))}
	}},
	{name: "us-discharge-summary", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Discharge summary", "Hospital discharge summary", "Discharge paperwork"),
			text: fmt.Sprintf(`%s
DISCHARGE SUMMARY
Patient name: %s
MRN: %s    DOB: %s
Admission date: %s    Discharge date: %s
Admitting diagnosis: %s
Hospital course: %s
Discharge medications:
%s
Follow-up: PCP within 7 days; %s.
Condition at discharge: stable.
%s`, g.pick(usHospitals...), p.full(), g.mrn(), g.dobString(p), g.dateString(), g.dateString(), g.pick("Acute on chronic systolic heart failure", "Sepsis secondary to pneumonia", "NSTEMI", "DKA", "COPD exacerbation"),
				g.pick("Patient was diuresed with IV furosemide with 4 kg weight loss.", "Treated with ceftriaxone and azithromycin, blood cultures negative.", "Underwent cardiac catheterization with DES to LAD.", "Insulin drip per protocol, transitioned to basal-bolus."),
				bullets(g.meds(g.n(3, 6)), "- "), g.pick("cardiology in 2 weeks", "endocrinology", "pulmonology"), g.signoff())}
	}},
	{name: "us-consult-letter", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Consultation", "Consult note", "Re: your patient "+p.last),
			text: fmt.Sprintf(`Dear %s,

Thank you for referring %s %s (DOB %s) for evaluation of %s. I saw %s in clinic today.

History: %s
Current medications: %s
Assessment: %s
Recommendations: %s

%s`, g.doctor(), p.title, p.full(), g.dobString(p), g.pick("atrial fibrillation", "thyroid nodule", "chronic kidney disease", "elevated liver enzymes"), p.him,
				strings.Join(g.conds(2), "; "), strings.Join(g.meds(3), ", "), g.pick("paroxysmal AF, CHA2DS2-VASc 3", "TI-RADS 4 nodule 1.8 cm", "CKD stage 3b, likely diabetic nephropathy", "NAFLD with elevated ALT"),
				g.pick("start apixaban 5 mg BID", "FNA biopsy", "add empagliflozin 10 mg daily", "weight loss, repeat LFTs in 3 months"), g.signoff())}
	}},
	{name: "us-lab-results-portal", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Your lab results", "New test results", "Message from your care team"),
			text: fmt.Sprintf(`Hi %s,

Your recent lab results are back:
%s
%s Please continue your %s and schedule a follow-up visit.

%s`, p.first, bullets(g.labs(g.n(3, 5)), "  "), g.pick("Your A1c is higher than last time, so we'd like to adjust your diabetes medication.", "Your kidney function is stable.", "Your cholesterol has improved on the statin.", "Your potassium is a little high."),
				strings.ToLower(strings.Fields(g.med())[0]), g.signoff())}
	}},
	{name: "us-prior-auth", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Prior authorization request", "PA request - urgent", "Letter of medical necessity"),
			text: fmt.Sprintf(`To: Utilization Review
Member: %s   DOB: %s   Member ID: %s
SSN: %s
Request: %s
Diagnosis: %s (ICD-10 %s)
Clinical rationale: %s
Prescriber NPI: %s
%s`, p.full(), g.dobString(p), fmt.Sprintf("W%09d", g.n(100000000, 999999999)), g.ssn(), g.pick("Ozempic 0.5 mg weekly", "Humira 40 mg every other week", "MRI lumbar spine", "Entresto 49/51 mg BID"),
				g.pick("Type 2 diabetes mellitus with hyperglycemia", "Rheumatoid arthritis", "Lumbar radiculopathy", "Heart failure with reduced EF"), g.pick("E11.65", "M06.9", "M54.16", "I50.22"),
				g.pick("A1c 9.1% despite metformin 1000 mg BID for 12 months.", "Failed methotrexate 20 mg weekly.", "6 weeks of PT without improvement.", "EF 30% on echo."), g.pick("1245319599", "1679576722", "1003000126"), g.signoff())}
	}},
	{name: "us-therapy-note", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("session note", "Therapy progress note", "Intake summary"),
			text: fmt.Sprintf(`Client: %s   Session %d
Presenting problem: %s
Session: %s
Mental status: %s
Risk: %s
Plan: %s`, p.full(), g.n(1, 20), g.pick("panic attacks and agoraphobia", "grief after the death of her husband", "alcohol use disorder, in early remission", "PTSD following MVA"),
				g.pick("Practiced interoceptive exposure.", "Explored guilt and anger.", "Reviewed relapse prevention plan.", "Began trauma narrative."), g.pick("Anxious affect, linear thought process.", "Tearful, congruent affect.", "Euthymic."),
				g.pick("Denies SI/HI.", "Passive SI, safety plan reviewed.", "No acute risk."), g.pick("Continue weekly CBT.", "Coordinate with psychiatrist re sertraline 100 mg.", "Refer to IOP."))}
	}},
	{name: "hl7-oru-attachment", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("Lab interface message", "ORU feed sample", "results message"), cover: "See attached message.",
			attach: []attachment{{name: "result.hl7", ctype: "application/hl7-v2", data: []byte(fmt.Sprintf("MSH|^~\\&|LAB|%s|EPR|GP|%s||ORU^R01|%d|P|2.4\rPID|1||%s^^^NHS^NH||%s^%s||%s|%s\rOBR|1||%d|HBA1C^HbA1c\rOBX|1|NM|HBA1C||%d|mmol/mol|20-42|H\r",
				"RNI", "20250301120000", g.n(1000, 9999), strings.ReplaceAll(g.nhsNumber(), " ", ""), strings.ToUpper(p.last), strings.ToUpper(p.first), p.dob.Format("20060102"), g.pick("M", "F"), g.n(10000, 99999), g.n(40, 90)))}}}
	}},
	{name: "fhir-bundle-attachment", class: "clinical", make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("FHIR export", "Patient record export", "Summary care record"), cover: "Attached as requested.",
			attach: []attachment{{name: "export.json", ctype: "application/fhir+json", data: []byte(fmt.Sprintf(`{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "name": [{"family": %q, "given": [%q]}], "birthDate": %q}}, {"resource": {"resourceType": "Condition", "code": {"text": %q}}}]}`,
				p.last, p.first, p.dob.Format("2006-01-02"), g.conds(1)[0]))}}}
	}},
	{name: "cda-attachment", class: "clinical", us: true, make: func(g *gen) letter {
		p := g.patient()
		return letter{subject: g.pick("CCD", "Continuity of care document", "Transition of care"), cover: "Transition of care document attached.",
			attach: []attachment{{name: "ccd.xml", ctype: "application/xml", data: []byte(fmt.Sprintf(`<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Continuity of Care Document</title><recordTarget><patientRole><patient><name><given>%s</given><family>%s</family></name></patient></patientRole></recordTarget></ClinicalDocument>`, p.first, p.last))}}}
	}},
	{name: "dicom-attachment", class: "clinical", make: func(g *gen) letter {
		d := make([]byte, 400)
		copy(d[128:], "DICM")
		d[132], d[133] = 0x02, 0x00
		return letter{subject: g.pick("scan images", "CT images for review", "image for second opinion"), cover: g.pick("Images attached for your opinion.", "Please see the attached study.", "Sending the DICOM as discussed."),
			attach: []attachment{{name: "IM0001.dcm", ctype: "application/dicom", data: d}}}
	}},
}
