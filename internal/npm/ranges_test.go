package npm

import "testing"

func TestSatisfies(t *testing.T) {
	for _, tc := range []struct {
		version, constraint string
		want, err           bool
	}{
		{"1.2.3", "", true, false},
		{"1.2.3", "*", true, false},
		{"1.2.3", "^1.0.0", true, false},
		{"2.0.0", "^1.0.0", false, false},
		{"1.2.3", "~1.2.0", true, false},
		{"1.3.0", "~1.2.0", false, false},
		{"1.2.3", ">=1.0.0 <2.0.0", true, false},
		{"1.2.3", "1.x || 3.x", true, false},
		{"2.5.0", "1.x || 3.x", false, false},
		{"1.2.3", "1.0.0 - 1.5.0", true, false},
		{"1.2.3", "latest", false, true}, // a dist-tag: unknown, so it counts
	} {
		got, err := (Rules{}).Satisfies(tc.version, tc.constraint)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Satisfies(%q, %q) = %v, %v; want %v (error: %v)", tc.version, tc.constraint, got, err, tc.want, tc.err)
		}
	}
}
