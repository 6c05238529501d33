// Package confusable computes the keys under which names that read alike
// collide: Unicode's confusable skeletons (UTS #39, section 4), made
// insensitive to case and to compatibility forms.
package confusable

import (
	"strings"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// Skeleton returns the case-folded UTS #39 skeleton of s: s in NFKC
// (fullwidth and other compatibility forms become their plain
// characters), mapped through Unicode's confusables.txt (Cyrillic "а"
// and Greek "ο" become Latin "a" and "o", Cherokee "Ꭰ" Latin "D"; "m"
// becomes "rn", "0" "O" and "1" "l"), in lower case, and mapped and
// lowered once more (a lower-case letter can be confusable where its
// capital was not). Two strings that read alike have one skeleton; the
// skeleton is a key, not a name to show.
func Skeleton(s string) string {
	s = strings.ToLower(confusables.Skeleton(norm.NFKC.String(s)))
	return strings.ToLower(confusables.Skeleton(s))
}
