package detect

// The check functions take digit values (0..9), not ASCII.

// mod11Valid checks the NHS / CHI / H&C check digit: weights 10 down to 2 on
// the first nine digits, check = 11 - (sum mod 11), where 11 means 0 and 10
// means the number is never issued.
func mod11Valid(d *[10]byte) bool {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(d[i]) * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(d[9])
}

// repeated reports whether all digits are the same (0000000000, 1111111111 …).
func repeated(d []byte) bool {
	for _, x := range d[1:] {
		if x != d[0] {
			return false
		}
	}
	return true
}

// npiValid checks an NPI: Luhn over the 10 digits prefixed with 80840 (the
// ISO 7812 prefix for US health applications).
func npiValid(d *[10]byte) bool {
	// Luhn from the right over 80840 d0 … d9: the check digit d9 is not
	// doubled, d8 is, and so on, so d0 is doubled and the prefix digits
	// 0, 4, 8, 0, 8 (right to left) count 0, 4×2, 8, 0×2, 8: 24.
	sum := 24
	for i := 9; i >= 0; i-- {
		x := int(d[i])
		if (9-i)%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// deaValid checks a DEA number's 7 digits: (d1+d3+d5) + 2*(d2+d4+d6) ≡ d7
// (mod 10).
func deaValid(d *[7]byte) bool {
	s := int(d[0]+d[2]+d[4]) + 2*int(d[1]+d[3]+d[5])
	return s%10 == int(d[6])
}

// Verhoeff tables (dihedral group D5).
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeffValid checks digits whose last one is a Verhoeff check digit.
func verhoeffValid(d []byte) bool {
	c := byte(0)
	for i := 0; i < len(d); i++ {
		c = verhoeffD[c][verhoeffP[i%8][d[len(d)-1-i]]]
	}
	return c == 0
}

// ssnValid applies the SSA rules to area (3 digits), group (2) and serial
// (4), and rejects well-known sample numbers used in advertising and forms.
func ssnValid(d *[9]byte) bool {
	area := int(d[0])*100 + int(d[1])*10 + int(d[2])
	group := int(d[3])*10 + int(d[4])
	serial := int(d[5])*1000 + int(d[6])*100 + int(d[7])*10 + int(d[8])
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	if repeated(d[:]) {
		return false
	}
	switch {
	case area == 78 && group == 5 && serial == 1120, // the Woolworth wallet card
		area == 219 && group == 9 && serial == 9999,  // the SSA's own pamphlet
		area == 123 && group == 45 && serial == 6789: // the usual form example
		return false
	}
	return true
}

// ninoPrefixValid applies HMRC's rules to the two prefix letters.
func ninoPrefixValid(a, b byte) bool {
	switch a {
	case 'D', 'F', 'I', 'Q', 'U', 'V':
		return false
	}
	switch b {
	case 'D', 'F', 'I', 'O', 'Q', 'U', 'V':
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

// deaFirstLetter is the registrant type: A, B, F, G (practitioners and
// hospitals of older and newer series), C (practitioner), D (teaching
// institution), E (manufacturer), H (distributor), J, K, L (researchers,
// analytical labs, importers), M (mid-level practitioner), P, R, S, T, U
// (distributors, narcotic treatment, …) and X (office-based opioid
// treatment).
func deaFirstLetter(c byte) bool {
	switch c {
	case 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'P', 'R', 'S', 'T', 'U', 'X':
		return true
	}
	return false
}

// mbiLetter reports whether c may appear as a letter in an MBI: A–Z without
// S, L, O, I, B and Z.
func mbiLetter(c byte) bool {
	if !isUpper(c) {
		return false
	}
	switch c {
	case 'S', 'L', 'O', 'I', 'B', 'Z':
		return false
	}
	return true
}

// date is a calendar date.
type date struct{ y, m, d int }

func (a date) before(b date) bool {
	if a.y != b.y {
		return a.y < b.y
	}
	if a.m != b.m {
		return a.m < b.m
	}
	return a.d < b.d
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 1, 3, 5, 7, 8, 10, 12:
		return 31
	case 4, 6, 9, 11:
		return 30
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	}
	return 0
}

func (a date) valid() bool {
	return a.m >= 1 && a.m <= 12 && a.d >= 1 && a.d <= daysIn(a.y, a.m)
}

// chiDateValid reports whether DDMMYY is a real date in some century
// (29 February is accepted when YY is a multiple of 4).
func chiDateValid(d *[10]byte) bool {
	day := int(d[0])*10 + int(d[1])
	month := int(d[2])*10 + int(d[3])
	yy := int(d[4])*10 + int(d[5])
	y := 2000 + yy // a leap year exactly when yy%4 == 0
	return date{y, month, day}.valid()
}
