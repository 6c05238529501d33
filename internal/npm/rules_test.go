package npm

import (
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func TestParseName(t *testing.T) {
	good := []string{"demo", "@acme/demo", "left-pad", "a.b_c", "x1", "@a/b"}
	for _, s := range good {
		if n, err := (Rules{}).ParseName(s); err != nil || string(n) != s {
			t.Errorf("ParseName(%q) = %q, %v; want it unchanged", s, n, err)
		}
	}
	bad := []string{"", "Demo", ".hidden", "_under", "@acme", "@acme/", "@/x", "@a/b/c", "a b", " a", "node_modules",
		"favicon.ico", "a~b", "a(b)", "a!b", "a*b", "a'b", "a%2fb", "a/b", "é", string(make([]byte, 215))}
	for _, s := range bad {
		if _, err := (Rules{}).ParseName(s); err == nil {
			t.Errorf("ParseName(%q) = nil error, want an error", s)
		}
	}
}

func TestVersionKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0":           "1.0.0",
		"1.2.3-beta.1":    "1.2.3-beta.1",
		"1.0.0+build.5":   "1.0.0",
		"0.0.0-0":         "0.0.0-0",
		"10.20.30-rc.1+x": "10.20.30-rc.1",
	} {
		if got, err := (Rules{}).VersionKey(in); err != nil || got != want {
			t.Errorf("VersionKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "=1.0.0", "1.0.0 ", "latest"} {
		if _, err := (Rules{}).VersionKey(bad); err == nil {
			t.Errorf("VersionKey(%q) = nil error, want an error", bad)
		}
	}
}

func TestSkeleton(t *testing.T) {
	if a, b := (Rules{}).Skeleton("react-dom"), (Rules{}).Skeleton("reactdom"); a != b {
		t.Errorf("Skeleton(react-dom) = %q, Skeleton(reactdom) = %q; want equal", a, b)
	}
	for _, pair := range [][2]string{
		{"@acme/react-dom", "@acme/reactdom"}, {"@acme/lib", "@acrne/lib"}, {"@acme/lib", "@acme/1ib"},
		{"lodash", "l0dash"}, {"wow", "vvow"}, {"@a.b/x", "@ab/x"}, {"load", "loacl"},
		{"react", "rеact"}, {"lodash", "lоdash"}, {"axios", "аxios"}, // Cyrillic е, о, а
		{"lodash", "lοdash"}, {"react", "ｒｅａｃｔ"}, {"@acme/lib", "@ａｃｍｅ/lib"}, // Greek ο, fullwidth
		{"lodash", "1odash"}, {"moment", "rnoment"}, {"@acme/moment", "@acme/rnornent"},
	} {
		if a, b := (Rules{}).Skeleton(trove.Name(pair[0])), (Rules{}).Skeleton(trove.Name(pair[1])); a != b {
			t.Errorf("Skeleton(%s) = %q, Skeleton(%s) = %q; want equal", pair[0], a, pair[1], b)
		}
	}
	for _, pair := range [][2]string{{"@acme/lib", "acme-lib"}, {"@acme/lib", "@acme/lid"}, {"@a/bc", "@ab/c"}} {
		if a, b := (Rules{}).Skeleton(trove.Name(pair[0])), (Rules{}).Skeleton(trove.Name(pair[1])); a == b {
			t.Errorf("Skeleton(%s) = Skeleton(%s) = %q; want different", pair[0], pair[1], a)
		}
	}
}

// oldSkeletonPart is the npm skeleton before the UTS #39 step: for the
// ASCII names npm accepts the two must agree, so that stored skeletons
// stay valid (rekey would recompute them otherwise, but it need not).
func oldSkeletonPart(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.':
			return -1
		case '0':
			return 'o'
		case '1':
			return 'l'
		}
		return r
	}, strings.ToLower(s))
	return confusables.Replace(s)
}

func FuzzSkeletonASCII(f *testing.F) {
	for _, s := range []string{"react-dom", "m0m1", "rnvvcl", "@acme/lib", "a.b_c-d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := (Rules{}).ParseName(s)
		if err != nil {
			return
		}
		scope, name, scoped := strings.Cut(strings.TrimPrefix(string(n), "@"), "/")
		want := oldSkeletonPart(string(n))
		if scoped {
			want = "@" + oldSkeletonPart(scope) + "/" + oldSkeletonPart(name)
		}
		if got := (Rules{}).Skeleton(n); got != want {
			t.Errorf("Skeleton(%q) = %q, want %q as before", n, got, want)
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"demo", "@acme/demo", "@a/b/c", "..", "%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := (Rules{}).ParseName(s)
		if err != nil {
			return
		}
		if string(n) != s {
			t.Fatalf("ParseName(%q) = %q: npm names are not rewritten", s, n)
		}
		if n2, err := (Rules{}).ParseName(string(n)); err != nil || n2 != n {
			t.Fatalf("ParseName not idempotent on %q", s)
		}
	})
}
