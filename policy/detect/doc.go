// Package detect finds patient identifiers in plain text: validated, scored
// and described by redacted evidence. It is pure Go with no I/O beyond its
// embedded ICD-10 category list.
//
// [Identifiers] returns one [Detector] per kind; [Combined] returns one
// detector that finds every kind in a single pass over the text and is what
// a classifier should call. Both append [Match] values; each match names its
// detector, its byte offsets, a score from 0 to 1, whether a check digit,
// date or list confirmed it, and evidence such as
//
//	NHS number ••• ••• 5919 (check digit valid; context 'NHS No')
//
// # Identifiers
//
//   - nhs_number: 10 digits, plain, "943 476 5919" or "943-476-5919"; mod 11
//     check (weights 10 to 2; 11 means 0; 10 is never issued); repeated
//     digits rejected; first digit 4–9 (0–3 are the CHI and H&C ranges).
//   - chi_number: 10 digits, plain, 3-3-4 or "DDMMYY NNNN"; the first six a
//     real DDMMYY date; the same mod 11 check.
//   - hc_number: Northern Ireland Health and Care number: 10 digits starting
//     320–399, mod 11.
//   - nino: two prefix letters (first not D, F, I, Q, U, V; second not D, F,
//     I, O, Q, U, V; not BG, GB, KN, NK, NT, TN, ZZ), six digits ("123456" or
//     "12 34 56"), suffix A–D.
//   - ssn: AAA-GG-SSSS, spaced or plain; area not 000, 666 or 900–999, group
//     not 00, serial not 0000; repeated digits and well-known sample numbers
//     (078-05-1120, 219-09-9999, 123-45-6789) rejected.
//   - npi: 10 plain digits starting 1 or 2, Luhn check over the number
//     prefixed with 80840.
//   - dea: registrant-type letter, a letter or 9, seven digits, check digit
//     (d1+d3+d5 + 2×(d2+d4+d6)) mod 10 = d7.
//   - mbi: Medicare Beneficiary Identifier, 11 characters in the CMS layout
//     (digit 1–9, letter, letter or digit, digit, letter, letter or digit,
//     digit, letter, letter, digit, digit; letters exclude S, L, O, I, B, Z),
//     with hyphens after the 4th and 7th or none.
//   - mrn: the admin's [NamedPattern] regexps ([Config.MRN]). Valid is false:
//     a pattern has no check digit.
//   - snomed: SNOMED CT concept ids: 6–18 digits, no leading zero, partition
//     identifier 00 or 10, Verhoeff check digit.
//   - icd10: an ICD-10 category (letter, two digits or digit and letter) in
//     the embedded list, optionally with a dot and 1–4 more characters
//     ("E11.9", "S72.001A"). See ICD10_SOURCE.md: the list holds the
//     ICD-10-CM categories as block ranges, not every billable code.
//   - dob: a date within 24 bytes after "DOB", "D.O.B.", "date of birth",
//     "birth date", "born" or "born on", in the forms 01/02/1960, 1.2.60,
//     1960-02-01, 1 Feb 1960, 1st of February 1960, 01-Feb-60 and
//     February 1, 1960; it must be a real date, not in the future and at
//     most 120 years ago ([Config.Now]). Day-first is tried before
//     month-first.
//
// Letters are matched in upper case only. An identifier must stand alone:
// digits glued to letters, a longer digit run, a decimal point or slash
// between digits, a hyphen joining it to another letter or digit, or a '+'
// before it (an international phone number) all prevent a match. Hyphens
// bind groups: "943-476-5919-12" is not an NHS number, while a space
// separates numbers, so in "NHS No 943 476 5919 22 Acacia Avenue" the NHS
// number is found.
//
// # Scores
//
// Like Presidio and Purview, a match starts from a base score, validation
// keeps or discards it, and context words raise it:
//
//	score = base (+ bonus for the distinctive grouped form)
//	        + boost  if a context word of the detector is within 60 bytes
//	                 before or 20 bytes after the match
//	        × 0.5    otherwise, if a business word (order, invoice, tel,
//	                 phone, fax, account, ref, tracking, …) is there
//	clamped to [0, 1]
//
// A failed check digit or list lookup discards the match: it is never
// reported, whatever the context.
//
//	detector    base  bonus                    boost  context words (case-insensitive)
//	nhs_number  0.20  0.15 "943 476 5919"      0.60   NHS, NHS No, NHS number, patient
//	chi_number  0.20  0.10 spaced 3-3-4, 6-4   0.60   CHI, CHI No, CHI number, Community Health Index, patient
//	hc_number   0.20  0.15 "320 123 4567"      0.60   H&C, H&C number, HCN, Health and Care number, patient
//	nino        0.40  0.10 spaced              0.50   NINO, NI No, NI number, National Insurance
//	ssn         0.05  0.40 "536-22-1234"       0.60   SSN, SS#, Social Security (number)
//	npi         0.15  —                        0.60   NPI, National Provider Identifier, provider, prescriber
//	dea         0.30  —                        0.60   DEA, DEA#, DEA number, DEA registration, prescriber
//	mbi         0.50  —                        0.45   MBI, Medicare, Medicare number, beneficiary
//	mrn         0.30  —                        0.50   MRN, medical record (number), hospital number, patient, … + the pattern's own
//	snomed      0.05  —                        0.45   SNOMED, SNOMED CT, SCTID, SCT, concept, concept id
//	icd10       0.05  0.25 with a dot subcode  0.50   ICD, ICD-10, ICD-10-CM, diagnosis, Dx, Ddx, code, diag
//	dob         0.85 after DOB / date of birth / birth date; 0.70 after "born on"; 0.60 after "born"
//
// The reasoning: a 10-digit number passes mod 11 about 1 time in 11 and the
// NPI Luhn check 1 in 10, so without context they stay at 0.15–0.35, below
// any sensible threshold; business mail full of order numbers scores lower
// still. With "NHS No" next to it the same number reaches 0.80–0.95. Formats
// that are rare by chance (MBI, NINO) start higher; SNOMED ids and bare ICD
// categories start near zero and only count in context. A policy threshold
// of 0.7 therefore needs context for every identifier except a date of
// birth.
//
// # Evidence
//
// Evidence shows at most the last four letters and digits of an identifier
// (and never more than half of them), nothing of a date of birth or an
// ICD-10 code (a code is a diagnosis), with the identifier's separators kept
// for shape. It never copies text around the match: the context keyword is
// quoted from the detector's own list. Values longer than 24 characters (an
// admin pattern can match more) are shortened from the left.
//
// # Speed
//
// The scanner walks the text once, one table lookup per byte, and parses
// only at word starts that could begin an identifier (a digit, or an
// upper-case letter followed by a digit or upper-case letter, or d/b for a
// date-of-birth keyword). It allocates nothing per byte; each match
// allocates its evidence string. Admin MRN patterns use regexp; a pattern of
// the form `\bLITERAL…` is sped up by searching for the literal first. Each
// Find appends at most [MaxMatchesPerDetector] matches per detector.
package detect
