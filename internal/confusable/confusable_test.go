package confusable

import "testing"

func TestSkeleton(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"react", "rеact"},     // Cyrillic е
		{"express", "ехрrеss"}, // Cyrillic е, х, р
		{"lodash", "lοdash"},   // Greek ο
		{"lodash", "lоdash"},   // Cyrillic о
		{"react", "ｒｅａｃｔ"},     // fullwidth
		{"react", "REACT"},     // case
		{"lodash", "1odash"},   // 1 and l
		{"lodash", "l0dash"},   // 0 and o
		{"moment", "rnoment"},  // rn and m
		{"pillow", "pıllow"},   // dotless ı
		{"django", "Ꭰjango"},   // Cherokee Ꭰ
	} {
		if sa, sb := Skeleton(tt.a), Skeleton(tt.b); sa != sb {
			t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q; want equal", tt.a, sa, tt.b, sb)
		}
	}
	for _, tt := range []struct{ a, b string }{
		{"react", "preact"},
		{"lodash", "lodash-es"},
		{"vue", "vite"},
		{"express", "expresso"},
	} {
		if sa := Skeleton(tt.a); sa == Skeleton(tt.b) {
			t.Errorf("Skeleton(%q) = Skeleton(%q) = %q; want different", tt.a, tt.b, sa)
		}
	}
}

// TestSkeletonASCII pins what the skeleton does to the characters npm and
// PyPI names are made of: only m, 0 and 1 change, so the ecosystems'
// skeletons of ASCII names stay what their own folds make them.
func TestSkeletonASCII(t *testing.T) {
	want := map[rune]string{'m': "rn", '0': "o", '1': "l"}
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789-._@/~" {
		got := Skeleton(string(r))
		if w, ok := want[r]; ok {
			if got != w {
				t.Errorf("Skeleton(%q) = %q, want %q", r, got, w)
			}
		} else if got != string(r) {
			t.Errorf("Skeleton(%q) = %q, want it unchanged", r, got)
		}
	}
}
