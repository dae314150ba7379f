package main

import (
	"fmt"
	"strings"
)

// orderNumber is a 10-digit number; about one in eleven passes the NHS
// number check by chance, which is the point.
func (g *gen) orderNumber() string {
	return fmt.Sprintf("%010d", g.r.Int64N(9_000_000_000)+1_000_000_000)
}

var businessFamilies = []family{
	{name: "biz-invoice", class: "business", make: func(g *gen) letter {
		var b strings.Builder
		total := 0
		for i := 0; i < g.n(2, 6); i++ {
			q, p := g.n(1, 20), g.n(3, 400)
			total += q * p
			fmt.Fprintf(&b, "%s  %s  x%d  £%d.00\n", g.orderNumber(), g.pick("A4 paper (box)", "Toner cartridge", "Nitrile gloves (M)", "Office chairs", "Laptop docking station", "Hand sanitiser 5L"), q, p)
		}
		return letter{subject: "Invoice " + g.orderNumber(), text: fmt.Sprintf(`Dear Customer,

Please find below invoice %s for order %s.

%s
Total due: £%d.00
Payment terms: 30 days. Account number %s, sort code %02d-%02d-%02d.

Accounts Receivable
%s Supplies Ltd`, g.orderNumber(), g.orderNumber(), b.String(), total, fmt.Sprintf("%08d", g.n(10000000, 99999999)), g.n(10, 99), g.n(10, 99), g.n(10, 99), g.pick("Northern", "Apex", "Medline", "Greenfield"))}
	}},
	{name: "biz-order-shipped", class: "business", make: func(g *gen) letter {
		return letter{subject: "Your order " + g.orderNumber() + " has shipped", text: fmt.Sprintf(`Hi %s,

Good news - your order %s has been dispatched.
Tracking number: %s
Estimated delivery: %s

Items: %s
Questions? Reply to this email or call 0345 %07d.
Thanks for shopping with us.`, g.first(), g.orderNumber(), g.orderNumber(), g.dateString(), g.pick("Standing desk frame", "2 x USB-C cables", "Printer paper", "Coffee beans 1kg"), g.n(1000000, 9999999))}
	}},
	{name: "biz-meeting-notes", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Notes from today's meeting", "Minutes - project board", "Action log"), text: fmt.Sprintf(`Attendees: %s, %s, %s, %s

1. Budget: Q%d spend is %d%% of forecast. %s to circulate the revised figures.
2. Estates: the %s refurbishment starts on %s. Staff parking will move to the overflow car park.
3. IT: the migration to the new email platform is scheduled for %s. Phishing training completion is at %d%%.
4. AOB: %s

Actions:
- %s: update the risk register
- %s: book the room for next month
Next meeting %s.`, g.first(), g.first(), g.first(), g.first(), g.n(1, 4), g.n(80, 120), g.first(), g.pick("east wing", "reception", "staff canteen"), g.dateString(), g.dateString(), g.n(60, 99),
			g.pick("Christmas party venue to be confirmed.", "Fire drill next Tuesday.", "New starters induction."), g.first(), g.first(), g.dateString())}
	}},
	{name: "biz-it-notice", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Planned maintenance", "IT service notice", "Password expiry reminder"), text: fmt.Sprintf(`Dear colleague,

%s

Reference: CHG%07d
If you have any problems please contact the IT Service Desk on extension %d or log a ticket.

IT Service Desk`, g.pick("The VPN will be unavailable between 22:00 and 02:00 on Saturday for planned maintenance.", "Your network password will expire in 5 days. Please change it from any networked PC.", "We are upgrading the printers on floors 2 and 3 next week.", "Windows updates will be applied tonight; please leave your PC switched on."), g.n(1000000, 9999999), g.n(2000, 6999))}
	}},
	{name: "biz-hr-policy", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Updated annual leave policy", "Payroll deadline", "Staff survey", "Expenses reminder"), text: fmt.Sprintf(`Hi all,

%s

Please read the attached summary and speak to your line manager if you have questions.

Kind regards,
%s %s
People Team`, g.pick("The annual leave policy has been updated: carry-over is now limited to 5 days.", "The payroll cut-off for this month is the 15th. Overtime claims after that date will be paid next month.", "The staff survey closes on Friday - we are at 48% response so far.", "Expense claims must now include a scanned receipt."), g.first(), g.last())}
	}},
	{name: "biz-recruitment", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Interview invitation", "Your application", "Job offer"), text: fmt.Sprintf(`Dear %s,

Thank you for your application for the post of %s (ref %d-%s). %s

Yours sincerely,
Recruitment Team`, g.first(), g.pick("Finance Officer", "Band 5 Staff Nurse", "Receptionist", "Data Analyst", "Healthcare Assistant"), g.n(100, 999), g.pick("FIN", "NUR", "ADM"),
			g.pick("We are pleased to invite you to interview on "+g.dateString()+" at 10:00.", "Unfortunately on this occasion you have not been shortlisted.", "We are delighted to offer you the post subject to references and DBS check."))}
	}},
	{name: "biz-supplier-quote", class: "business", make: func(g *gen) letter {
		return letter{subject: "Quotation " + fmt.Sprint(g.n(10000, 99999)), text: fmt.Sprintf(`Hello %s,

As discussed, our quotation for %s is £%d + VAT, valid for 30 days. Lead time is %d weeks from purchase order.
PO numbers should be quoted on all correspondence (e.g. PO %s).

Best,
%s
Account Manager`, g.first(), g.pick("200 ergonomic chairs", "annual software licences", "cleaning services", "vending machines"), g.n(1000, 90000), g.n(2, 8), g.orderNumber(), g.first())}
	}},
	{name: "biz-personal-chat", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("lunch?", "Re: weekend", "football tonight", "birthday card for Sam"), text: g.pick(
			"Fancy lunch at the Italian place on Thursday? I can book for 12:30.\n\nx",
			"Are you still up for the 5-a-side tonight? We're short one. Kick off 7pm.",
			"Hi, we're collecting for Sam's birthday card - it's in my drawer, please sign before Friday!",
			"Thanks for a lovely weekend, the kids haven't stopped talking about the beach. Let's do it again soon.")}
	}},
	{name: "biz-bank-statement", class: "business", make: func(g *gen) letter {
		return letter{subject: "Your statement is ready", text: fmt.Sprintf(`Dear %s,

Your statement for account ending %04d is now available in online banking.
Balance: £%d.%02d
Reference: %s

We will never ask you for your PIN or password.`, g.first(), g.n(1000, 9999), g.n(100, 20000), g.n(0, 99), g.orderNumber())}
	}},
	{name: "biz-conference-logistics", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Travel booking confirmation", "Hotel reservation", "Train tickets"), text: fmt.Sprintf(`Booking reference: %s
Traveller: %s %s
Outbound: %s 07:15 London Kings Cross - %s
Return: %s 18:30
Hotel: Premier Inn, %d nights
Cost centre: %d`, g.orderNumber(), g.first(), g.last(), g.dateString(), g.pick(ukTowns...), g.dateString(), g.n(1, 3), g.n(10000, 99999))}
	}},
	{name: "biz-facilities", class: "business", make: func(g *gen) letter {
		return letter{subject: g.pick("Car park closure", "Lift out of service", "Fire alarm test"), text: fmt.Sprintf(`All staff,

%s

Thank you for your patience.
Estates and Facilities`, g.pick("The staff car park (level 2) is closed on "+g.dateString()+" for resurfacing.", "Lift B in the outpatients block is out of service until further notice.", "The weekly fire alarm test will take place at 10:00 on Wednesday."))}
	}},
	{name: "biz-software-release", class: "business", make: func(g *gen) letter {
		return letter{subject: "Release notes v" + fmt.Sprintf("%d.%d.%d", g.n(1, 5), g.n(0, 20), g.n(0, 9)), text: fmt.Sprintf(`Changes in this release:
- Fixed a crash when exporting reports with more than %d rows
- The scheduler now retries failed jobs %d times
- Updated dependencies (CVE-2024-%d)
Build %s`, g.n(1000, 100000), g.n(2, 5), g.n(10000, 50000), g.orderNumber())}
	}},
}

var healthFamilies = []family{
	{name: "health-news-waiting-lists", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Health news roundup", "NHS waiting lists hit new record", "This week in health"), text: fmt.Sprintf(`NHS waiting list reaches %s million

The number of patients waiting for routine hospital treatment in England has risen to %s million, according to figures published on Thursday. The data show %d,%03d people have waited more than 52 weeks.

A spokesperson for the Department of Health said the government was "investing record amounts". The health secretary announced %d new diagnostic centres.

Cancer performance also fell: %d%% of patients with suspected cancer were seen within two weeks, against a target of 93%%.

Read more on our website.`, g.f(7, 8, 2), g.f(7, 8, 2), g.n(200, 400), g.n(0, 999), g.n(10, 40), g.n(70, 89))}
	}},
	{name: "health-news-drug-approval", class: "health", make: func(g *gen) letter {
		d := g.pick("tirzepatide", "semaglutide", "lecanemab", "donanemab", "finerenone")
		return letter{subject: "NICE approves " + d, text: fmt.Sprintf(`NICE recommends %s for thousands of patients

The National Institute for Health and Care Excellence has published final draft guidance recommending %s for adults with %s. Around %d,000 people in England could be eligible.

In the pivotal trial, participants taking %s lost an average of %d%% of their body weight, compared with %d%% on placebo. Common side effects included nausea, vomiting and diarrhoea.

"This is a significant step," said the chief executive of a patient charity, according to reporters.`, d, d, g.pick("type 2 diabetes", "obesity", "early Alzheimer's disease", "chronic kidney disease"), g.n(10, 900), d, g.n(10, 22), g.n(1, 4))}
	}},
	{name: "health-research-abstract", class: "health", make: func(g *gen) letter {
		cond := g.pick("type 2 diabetes", "heart failure with reduced ejection fraction", "major depressive disorder", "COPD", "atrial fibrillation", "hypertension")
		drug := g.pick("empagliflozin", "sertraline", "apixaban", "ramipril", "metformin", "tiotropium")
		return letter{subject: g.pick("New issue alert", "Journal table of contents", "Your saved search: "+cond), text: fmt.Sprintf(`%s versus placebo in adults with %s: a randomised controlled trial

Background: The effect of %s on outcomes in %s is uncertain.
Methods: We randomly assigned %d participants to %s 10 mg once daily or placebo. The primary outcome was a composite of cardiovascular death or hospitalisation.
Results: Over a median follow-up of %s years, the primary outcome occurred in %s%% of patients in the %s group and %s%% in the placebo group (hazard ratio %s; 95%% CI %s to %s; p<0.001). HbA1c fell by %s mmol/mol.
Conclusions: Among patients with %s, %s reduced the risk of the primary outcome.

Smith J, et al. N Engl J Med. doi:10.1056/NEJMoa%d`, strings.ToUpper(drug[:1])+drug[1:], cond, drug, cond, g.n(800, 9000), drug, g.f(1, 4, 1), g.f(8, 20, 1), drug, g.f(10, 25, 1), g.f(0.6, 0.95, 2), g.f(0.5, 0.7, 2), g.f(0.8, 0.98, 2), g.f(2, 9, 1), cond, drug, g.n(2000000, 2999999))}
	}},
	{name: "health-case-report", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Case reports digest", "BMJ Case Reports: new articles", "Interesting case of the month"), text: fmt.Sprintf(`Case report: %s

We report the case of a %d-year-old %s who presented to the emergency department with %s. Past medical history included %s. Examination revealed %s. Laboratory investigations showed %s. %s
The patient was treated with %s and made a full recovery.

Learning points
- %s
- Clinicians should consider this diagnosis in patients presenting with similar symptoms.

Informed consent was obtained for publication. Read the full case report in the journal.`, g.pick("an unusual presentation of pulmonary embolism", "lithium toxicity after starting an ACE inhibitor", "metformin-associated lactic acidosis", "spontaneous coronary artery dissection"),
			g.n(25, 80), g.pick("man", "woman"), g.pick("syncope", "confusion and tremor", "abdominal pain and vomiting", "chest pain"), strings.Join(g.conds(2), " and "), g.pick("tachycardia", "coarse tremor", "Kussmaul breathing", "no abnormality"),
			g.pick("lactate 12 mmol/L", "lithium level 2.8 mmol/L", "troponin 1450 ng/L", "D-dimer 4000 ng/mL"), g.pick("CT pulmonary angiogram confirmed the diagnosis.", "ECG showed sinus bradycardia.", "Coronary angiography showed dissection of the LAD."),
			g.pick("haemodialysis", "thrombolysis", "supportive care", "conservative management"), g.pick("Drug interactions can precipitate toxicity.", "Syncope may be the only presenting feature of PE.", "SCAD affects younger women."))}
	}},
	{name: "health-pharma-marketing", class: "health", make: func(g *gen) letter {
		d := g.pick("Jardiance", "Entresto", "Eliquis", "Ozempic", "Trelegy", "Rybelsus")
		return letter{subject: g.pick("New data for "+d, d+": now available in a new strength", "Webinar invitation: managing "+g.pick("heart failure", "type 2 diabetes", "COPD")), text: fmt.Sprintf(`This promotional email is intended for UK healthcare professionals only.

%s (%s) is indicated for the treatment of adults with %s. The recommended dose is %s once daily.

In clinical trials, %s reduced the relative risk of hospitalisation by %d%% versus placebo.

Register now for our webinar with leading experts on %s.

Prescribing information is available via the link below. Adverse events should be reported. Reporting forms and information can be found at yellowcard.mhra.gov.uk.

Unsubscribe | Privacy policy
© 2025 %s. All rights reserved. Job code: %s%d`, d, g.pick("empagliflozin", "sacubitril/valsartan", "apixaban", "semaglutide"), g.pick("type 2 diabetes", "chronic heart failure", "non-valvular atrial fibrillation", "COPD"), g.pick("10 mg", "49/51 mg twice daily", "5 mg", "0.5 mg"),
			d, g.n(15, 40), g.dateString(), g.pick("Boehringer Ingelheim", "Novartis", "Pfizer", "Novo Nordisk"), g.pick("UK-", "GB-"), g.n(10000, 99999))}
	}},
	{name: "health-newsletter-tips", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("5 ways to lower your blood pressure", "Your monthly wellbeing newsletter", "Healthy heart tips"), text: fmt.Sprintf(`Hello,

%s

1. Cut down on salt - aim for less than 6g a day.
2. Get active: 150 minutes of moderate exercise a week.
3. %s
4. Talk to your pharmacist about your medicines.
5. Know your numbers: a healthy blood pressure is below 140/90.

People with diabetes have a higher risk of heart disease, so ask your GP about a free NHS Health Check if you are aged 40 to 74.

You are receiving this newsletter because you signed up on our website. Unsubscribe | Manage your preferences`, g.pick("High blood pressure affects around 1 in 3 adults in the UK, and many people don't know they have it.", "February is heart month!", "Small changes can make a big difference."), g.pick("Drink less alcohol.", "Stop smoking.", "Eat five portions of fruit and veg."))}
	}},
	{name: "health-patient-leaflet", class: "health", make: func(g *gen) letter {
		d := g.pick("metformin", "ramipril", "sertraline", "warfarin", "atorvastatin")
		return letter{subject: "Patient information: " + d, text: fmt.Sprintf(`About %s

%s is a medicine used to treat %s. It is usually taken %s.

How to take it: swallow the tablets whole with a glass of water. The usual dose is %s, but your doctor may change this.

Side effects: like all medicines, it can cause side effects, although not everybody gets them. Common side effects include %s.

Talk to your doctor or pharmacist if you are pregnant or breastfeeding. Keep out of the reach of children.

This leaflet was last reviewed in 2024. For more information visit the NHS website.`, d, strings.ToUpper(d[:1])+d[1:], g.pick("type 2 diabetes", "high blood pressure", "depression and anxiety", "blood clots", "high cholesterol"), g.pick("once a day", "twice a day with meals", "in the evening"),
			g.pick("500mg twice daily", "5mg once daily", "50mg once daily", "20mg at night"), g.pick("feeling sick, diarrhoea and stomach ache", "a dry cough and dizziness", "headaches and trouble sleeping", "muscle aches"))}
	}},
	{name: "health-guideline-summary", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Guideline update", "Updated NICE guidance summary", "Formulary change"), text: fmt.Sprintf(`Guideline update: %s

Key recommendations:
- Offer %s as first-line treatment for adults with %s.
- Measure HbA1c every 3 to 6 months until stable.
- Consider an SGLT2 inhibitor for people with chronic kidney disease and an eGFR above 20.
- Review treatment in patients with frailty.

The full guideline and the evidence review are available on the website. This summary was prepared by the medicines optimisation team for prescribers in primary care.`, g.pick("hypertension in adults", "type 2 diabetes", "chronic heart failure", "depression"), g.pick("ramipril", "metformin", "a beta-blocker", "sertraline"), g.pick("hypertension", "type 2 diabetes", "heart failure", "depression"))}
	}},
	{name: "health-drug-safety-alert", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Drug Safety Update", "MHRA alert", "Medicines safety bulletin"), text: fmt.Sprintf(`Drug Safety Update, volume %d issue %d

%s: %s

Advice for healthcare professionals:
- %s
- Report suspected adverse drug reactions via the Yellow Card scheme.

Advice to provide to patients: %s`, g.n(15, 19), g.n(1, 12), g.pick("Valproate", "Fluoroquinolone antibiotics", "Montelukast", "Isotretinoin"), g.pick("new safety measures for men and women under 55", "risk of disabling and potentially long-lasting side effects", "reminder of the risk of neuropsychiatric reactions", "updated pregnancy prevention programme"),
			g.pick("Do not start in patients under 55 unless two specialists agree.", "Avoid use in patients with a history of tendon disorders.", "Be alert to changes in mood or behaviour."), g.pick("Do not stop taking your medicine without talking to your doctor.", "Tell your doctor if you notice tendon pain."))}
	}},
	{name: "health-ops-bed-state", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Bed state 08:00", "Site report", "OPEL status update"), text: fmt.Sprintf(`Site report %s 08:00
OPEL level: %d
ED: %d patients in department, %d waiting over 12 hours, %d ambulances waiting
Medical beds: %d occupied / %d, %d escalation beds open
Discharges planned today: %d (before 12:00: %d)
Elective activity: %s
Infection control: %d bays closed with norovirus`, g.dateString(), g.n(2, 4), g.n(40, 110), g.n(0, 25), g.n(0, 12), g.n(300, 420), g.n(380, 430), g.n(0, 20), g.n(30, 90), g.n(5, 30), g.pick("proceeding", "cancelled for non-urgent cases", "day cases only"), g.n(0, 4))}
	}},
	{name: "health-ops-clinic-capacity", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Referral backlog", "Clinic capacity - action needed", "RTT performance"), text: fmt.Sprintf(`Hi team,

The %s service currently has %d patients waiting for a first appointment, the longest at %d weeks. Referrals rose %d%% this quarter, mainly %s.

To reduce the backlog we will run %d extra clinics on Saturdays and validate the waiting list. Please make sure clinic outcomes are recorded on the same day.

Thanks,
%s, Service Manager`, g.pick("cardiology", "dermatology", "rheumatology", "memory", "ENT"), g.n(300, 4000), g.n(18, 70), g.n(5, 30), g.pick("2WW referrals", "routine referrals", "GP advice and guidance requests"), g.n(4, 12), g.first())}
	}},
	{name: "health-audit-report", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Audit results", "Clinical audit: summary", "QI project update"), text: fmt.Sprintf(`%s audit - cycle %d

Standard: %s
Sample: %d consecutive patients, %s.
Result: %d%% compliance (previous cycle %d%%).
Findings: patients on anticoagulation were less likely to have a documented CHA2DS2-VASc score. Documentation of allergies improved.
Actions: teaching session for junior doctors; update the admission proforma; re-audit in 6 months.

Presented at the departmental governance meeting.`, g.pick("VTE prophylaxis", "Sepsis six", "Anticoagulation in AF", "Discharge summary timeliness"), g.n(1, 3), g.pick("100% of admissions should have a VTE risk assessment within 24h", "antibiotics within 1 hour of sepsis recognition", "discharge summaries sent within 24 hours"), g.n(40, 200), g.pick("January to March", "October"), g.n(55, 98), g.n(40, 90))}
	}},
	{name: "health-conference-invite", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Call for abstracts", "Register now: annual conference", "Save the date"), text: fmt.Sprintf(`%s Annual Conference %d

Join %d delegates in %s for three days of plenaries, workshops and poster sessions on %s.

Topics include: new treatments for %s, managing multimorbidity in older patients, AI in diagnostics, and reducing health inequalities.

Abstract submission closes %s. Early bird registration: £%d. CPD accredited (18 points).

Unsubscribe from conference mailings.`, g.pick("British Society of Cardiology", "Primary Care", "Royal College of Psychiatrists", "Diabetes UK Professional"), 2025, g.n(500, 4000), g.pick(ukTowns...), g.pick("heart failure", "diabetes care", "mental health", "respiratory medicine"), g.pick("obesity", "COPD", "atrial fibrillation"), g.dateString(), g.n(150, 450))}
	}},
	{name: "health-charity-appeal", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Will you help people living with dementia?", "Your donation makes a difference", "Race for Life - sign up"), text: fmt.Sprintf(`Dear Supporter,

Every %d minutes someone in the UK is diagnosed with %s. Thanks to supporters like you, our researchers have %s.

A gift of £%d could fund an hour of research or a specialist nurse helpline call.

Donate today at our website.

Registered charity number %d. To stop receiving emails, unsubscribe here.`, g.n(2, 10), g.pick("dementia", "cancer", "a stroke", "type 1 diabetes"), g.pick("discovered new ways to detect the disease earlier", "funded 40 clinical trials", "supported 10,000 families"), g.n(5, 50), g.n(200000, 1200000))}
	}},
	{name: "health-insurance-marketing", class: "health", us: true, make: func(g *gen) letter {
		return letter{subject: g.pick("Open enrollment ends soon", "Your plan options for 2026", "Save on prescriptions"), text: fmt.Sprintf(`Open enrollment is here!

Compare plans and find coverage that fits your needs. Many members with diabetes or high blood pressure can save on prescriptions like metformin and lisinopril with $0 copay generics.

- Preventive care covered at 100%%
- Telehealth visits from $%d
- Over %d,000 doctors in network

Enroll by %s. Questions? Call 1-800-%03d-%04d.

This is an advertisement. Unsubscribe | Privacy Notice`, g.n(0, 40), g.n(20, 90), g.dateString(), g.n(200, 999), g.n(1000, 9999))}
	}},
	{name: "health-training-course", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Mandatory training reminder", "Course places available", "CPD: advanced life support"), text: fmt.Sprintf(`Dear colleague,

Places are available on the %s course on %s. The course covers %s.

Your compliance with mandatory training is %d%%. Please complete %s on the e-learning portal.

Education Centre`, g.pick("Advanced Life Support", "Sepsis recognition", "Safeguarding adults level 3", "Insulin safety"), g.dateString(), g.pick("management of cardiac arrest, peri-arrest arrhythmias and post-resuscitation care", "recognising the deteriorating patient using NEWS2", "the Mental Capacity Act and making safeguarding referrals", "safe prescribing of insulin and managing hypoglycaemia"), g.n(50, 99), g.pick("Information Governance", "Fire Safety", "Infection Prevention"))}
	}},
	{name: "health-public-health-bulletin", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Weekly surveillance report", "Flu season update", "Public health bulletin"), text: fmt.Sprintf(`Public health surveillance - week %d

Influenza-like illness consultations rose to %s per 100,000 population. Hospital admissions with influenza increased by %d%%, with the highest rates in people aged over 75.

COVID-19 positivity was %s%%. RSV activity is %s.

Vaccine uptake: %d%% of over 65s and %d%% of people in clinical risk groups have been vaccinated.

Clinicians should consider antivirals for patients in at-risk groups.`, g.n(1, 52), g.f(5, 40, 1), g.n(5, 40), g.f(2, 12, 1), g.pick("increasing", "stable", "decreasing"), g.n(55, 80), g.n(30, 55))}
	}},
	{name: "health-research-recruitment", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Could you take part in our study?", "Research opportunity", "Volunteers needed"), text: fmt.Sprintf(`We are recruiting participants for a study of %s.

Who can take part: adults aged %d-%d with %s who are not taking %s.
What is involved: %d visits over 6 months, blood tests and a questionnaire. Travel expenses are reimbursed.

The study has been approved by a research ethics committee. If you are interested, reply to this email or visit our website.`, g.pick("a new treatment for knee osteoarthritis", "sleep and memory", "blood pressure self-monitoring"), g.n(18, 40), g.n(60, 85), g.pick("osteoarthritis", "mild memory problems", "high blood pressure"), g.pick("warfarin", "insulin", "steroids"), g.n(3, 8))}
	}},
	{name: "health-pharmacy-promo", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("20% off allergy relief", "Flu jabs now available", "Your pharmacy offers"), text: fmt.Sprintf(`%s

Beat hay fever this spring: cetirizine 10mg 30 tablets now £%d.%02d. Buy now while stocks last.
Book your flu vaccination in store from £%d.
Free prescription delivery - sign up in the app.

Offer ends %s. Terms and conditions apply. Unsubscribe.`, g.pick("Spring savings at your local pharmacy!", "Stay well this winter", "Exclusive member offers"), g.n(1, 6), g.n(0, 99), g.n(10, 20), g.dateString())}
	}},
	{name: "health-journal-editorial", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Editor's choice", "This week's issue", "Opinion: the future of general practice"), text: fmt.Sprintf(`Editorial

%s Patients with %s increasingly have several long term conditions, and guidelines written for single diseases serve them poorly. Studies suggest that a third of adults over 65 take five or more medicines.

We need trials that include older people with multimorbidity, and outcomes that matter to patients. %s

Declaration of interests: none.`, g.pick("General practice is under unprecedented pressure.", "Polypharmacy is a growing problem.", "Health inequalities widened during the pandemic."), g.pick("diabetes", "heart failure", "COPD", "dementia"), g.pick("Commissioners should fund continuity of care.", "Deprescribing deserves the same attention as prescribing.", "Researchers must do better."))}
	}},
	{name: "health-staff-wellbeing", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Staff wellbeing week", "Free health checks for staff", "Occupational health service update"), text: fmt.Sprintf(`Hi everyone,

%s

Occupational Health can help with flu vaccinations, musculoskeletal advice and stress. You can self-refer via the intranet.

Look after yourselves,
Staff Wellbeing Team`, g.pick("This week we're offering free blood pressure and cholesterol checks in the staff room, 11-2 each day.", "Mental health first aiders are available on every site - see the list on the intranet.", "The staff flu vaccination campaign starts Monday; last year uptake was 62%."))}
	}},
	{name: "health-medical-device-sales", class: "health", make: func(g *gen) letter {
		return letter{subject: g.pick("Introducing our new glucose monitor", "Demo request: portable ECG", "Special offer on blood pressure monitors"), text: fmt.Sprintf(`Dear Practice Manager,

Our %s gives clinicians %s. Clinically validated, CE marked and used by over %d practices.

Book a free demo this month and receive %d%% off your first order. Click here to learn more.

To opt out of future emails, unsubscribe.`, g.pick("continuous glucose monitor", "6-lead portable ECG", "validated home BP monitor"), g.pick("14 days of glucose data in one report", "a 30-second ECG for AF detection", "accurate readings for patients at home"), g.n(200, 3000), g.n(10, 30))}
	}},
}
