// Package ids reads entity ids in their one canonical form: a positive
// decimal integer with no sign, no leading zero, no space and no fraction,
// so "+1", "01", " 1" and "1.0" never name row 1.
package ids

import "strconv"

// Parse returns the id that s spells canonically, and false for anything else.
func Parse(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}
