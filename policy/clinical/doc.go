// Package clinical recognises clinical language and structured health
// payloads in extracted text.
//
// # Lexicon
//
// [Lexicon] returns a [Matcher] over a curated lexicon (lexicon.txt, embedded)
// of diagnoses, symptoms, drugs, procedures, lab tests, vital signs, the cues
// of clinical letters and notes ("discharge summary", "Dear Dr", "PMHx",
// "O/E"), and the contextual language that tells a letter about one person
// ("you were seen", "he was admitted") from population-level or promotional
// text ("patients", "cohort", "unsubscribe"). Each term belongs to a [Group];
// package classify weighs the groups.
//
// The matcher is a byte-level Aho–Corasick automaton compiled to a dense DFA
// over byte classes: one table load per input byte, ASCII case folded, runs
// of white space matched as one space, word boundaries checked at match
// time, and no allocation in [Matcher.Scan] beyond growing the caller's
// slice. Short abbreviations that are also ordinary words ("SOB", "Rx", "AF")
// match only in their clinical case. After a drug name the matcher looks for
// a dose or frequency ("sertraline 50mg mane", "metformin 500 mg bd") and
// marks the hit qualified; a lab test or vital sign is reported only when a
// value follows ("HbA1c 48 mmol/mol", "eGFR 52", "BP 142/88").
//
// # Structured payloads
//
// [Sniff] recognises HL7 v2 messages (an MSH segment with its encoding
// characters), FHIR resources in JSON (a clinical "resourceType") and XML (a
// resource element in the FHIR namespace), HL7 CDA documents
// (ClinicalDocument in urn:hl7-org:v3) and DICOM files ("DICM" at offset 128).
//
// # Evidence
//
// Hits of the sensitive groups (diagnoses, symptoms, drugs, procedures, lab
// values, vital signs) are health information in themselves, and any term
// quotes the message, so evidence names only the group and a count, never
// the term.
package clinical
