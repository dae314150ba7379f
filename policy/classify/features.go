package classify

import (
	"math"

	"github.com/sealpost/sealpost/policy/clinical"
)

// The model reads a message as the answer to two questions: is there
// clinical content, and is it about one person? Patient health information
// needs both, so besides the evidence for each the model has their product.
// Population-level, promotional and news language counts against. Counts
// enter as log(1+n), so that the tenth drug adds less than the first.
const (
	fBias              = iota
	fClinical          // diagnoses, symptoms, procedures, drugs, values, codes
	fShorthand         // clinical note shorthand (PMHx, O/E, bd): notes are about someone
	fPerson            // personal language, letter cues, named people, identifiers
	fClinicalXPerson   // both at once
	fImpersonal        // population, marketing and news language
	fImpersonalXClin   // health content aimed at many people
	fDrugDose          // a drug with a dose: a prescription for someone
	fValues            // lab values and vital signs: measured on someone
	fStrongIdentifier  // validated identifiers with context
	fDOB               // a date of birth in context
	fNamed             // a title and a name ("Mrs Hughes")
	fSalutation        // "Dear", titles without a name
	fLength            // log(1 + words/100)
	fClinicalDensity   // clinical terms per 10 words
	fImpersonalDensity // impersonal terms per 10 words

	NumFeatures
)

var featureNames = [NumFeatures]string{
	fBias: "bias", fClinical: "clinical", fShorthand: "note_shorthand", fPerson: "about_a_person",
	fClinicalXPerson: "clinical_x_person", fImpersonal: "impersonal", fImpersonalXClin: "impersonal_x_clinical",
	fDrugDose: "drug_dose", fValues: "lab_or_vital_values", fStrongIdentifier: "strong_identifier",
	fDOB: "date_of_birth", fNamed: "named_person", fSalutation: "salutation", fLength: "length",
	fClinicalDensity: "clinical_density", fImpersonalDensity: "impersonal_density",
}

// Sign constraints of the model, from what each feature means: more
// clinical, personal or identifying evidence never lowers the score, and
// population-level, promotional or news language never raises it. Training
// projects the weights onto these signs, which keeps the model explainable
// and stops it from learning accidents of the corpus (such as "lab values
// lower the score because abstracts quote them").
var featureSign = [NumFeatures]int{
	fBias: 0, fClinical: 1, fShorthand: 1, fPerson: 1, fClinicalXPerson: 1, fImpersonal: -1,
	fImpersonalXClin: -1, fDrugDose: 1, fValues: 1, fStrongIdentifier: 1, fDOB: 1, fNamed: 1,
	fSalutation: 1, fLength: 0, fClinicalDensity: 1, fImpersonalDensity: -1,
}

// FeatureNames returns the names of the features, in the order of
// [Report.Features].
func FeatureNames() []string { return featureNames[:] }

// FeatureSigns returns, per feature, +1 if its weight must not be negative,
// -1 if it must not be positive, and 0 if it is free.
func FeatureSigns() []int { return featureSign[:] }

// counts are what the detectors found in the whole message.
type counts struct {
	distinct  [clinical.NumGroups]int // distinct terms per group
	hits      [clinical.NumGroups]int // all hits per group
	drugDose  int                     // distinct drugs with a dose
	named     int                     // distinct titles followed by a name
	ids       int                     // person identifiers scored 0.5 or more
	strongIDs int                     // person identifiers scored 0.9 or more (validated, in context)
	dob       int
	codes     int // ICD-10 and SNOMED CT codes
	words     int // approximate word count
	payload   float64
	payloadOK bool
}

func lg(n int) float64 { return math.Log1p(float64(n)) }

// vector turns counts into the feature vector.
func (c *counts) vector() [NumFeatures]float64 {
	var v [NumFeatures]float64
	d, h := &c.distinct, &c.hits
	values := h[clinical.Lab] + h[clinical.Vital]
	clin := d[clinical.Diagnosis] + d[clinical.Symptom] + d[clinical.Procedure] + d[clinical.Drug] + c.drugDose + values + c.codes
	person := d[clinical.Personal] + d[clinical.Letter] + c.named + c.ids + c.strongIDs + 2*c.dob
	imp := d[clinical.Population] + d[clinical.Marketing] + d[clinical.News]
	v[fBias] = 1
	v[fClinical] = lg(clin)
	v[fShorthand] = lg(d[clinical.Note])
	v[fPerson] = lg(person)
	v[fClinicalXPerson] = lg(clin+d[clinical.Note]) * lg(person+d[clinical.Note])
	v[fImpersonal] = lg(imp)
	v[fImpersonalXClin] = lg(imp) * lg(clin)
	v[fDrugDose] = lg(c.drugDose)
	v[fValues] = lg(values)
	v[fStrongIdentifier] = lg(c.strongIDs)
	v[fDOB] = lg(c.dob)
	v[fNamed] = lg(c.named)
	v[fSalutation] = lg(d[clinical.Salutation])
	v[fLength] = math.Log1p(float64(c.words) / 100)
	words := float64(max(c.words, 20))
	v[fClinicalDensity] = math.Min(float64(clin+d[clinical.Note])/words*10, 3)
	v[fImpersonalDensity] = math.Min(float64(imp)/words*10, 3)
	return v
}
