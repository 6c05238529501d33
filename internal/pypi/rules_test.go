package pypi

import (
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func TestParseName(t *testing.T) {
	for in, want := range map[string]string{
		"Django":              "django",
		"zope.interface":      "zope-interface",
		"Foo__Bar--baz..Qux":  "foo-bar-baz-qux",
		"a":                   "a",
		"typing_extensions":   "typing-extensions",
		"A1":                  "a1",
		"ruamel.yaml.clib":    "ruamel-yaml-clib",
		"backports.zoneinfo1": "backports-zoneinfo1",
	} {
		if got, err := (Rules{}).ParseName(in); err != nil || string(got) != want {
			t.Errorf("ParseName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-a", "a-", ".a", "a b", "a/b", "a@b", "é", "../x"} {
		if _, err := (Rules{}).ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) = nil error, want an error", bad)
		}
	}
}

func TestVersionKey(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":         "1",
		"1.0.0":       "1",
		"1.0.1":       "1.0.1",
		"2.1.0rc1":    "2.1rc1",
		"1.0.post1":   "1.post1",
		"1.0-1":       "1.post1",
		"1!2.0":       "1!2",
		"1.0a":        "1a0",
		"1.0.dev3":    "1.dev3",
		"v1.10":       "1.10",
		"1.0.0.0.0b2": "1b2",
	} {
		if got, err := (Rules{}).VersionKey(in); err != nil || got != want {
			t.Errorf("VersionKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "1.0+local", "1..0", " 1.0", "1.0 "} {
		if _, err := (Rules{}).VersionKey(bad); err == nil {
			t.Errorf("VersionKey(%q) = nil error, want an error", bad)
		}
	}
}

func TestSkeleton(t *testing.T) {
	same := [][2]string{{"requests", "req-uests"}, {"pillow", "pi11ow"}, {"foo", "f0o"},
		{"requests", "rеquеsts"}, {"flask", "flаsk"}, {"boto3", "bоto3"}, // Cyrillic е, а, о
		{"boto3", "bοto3"}, {"django", "ｄｊａｎｇｏ"}, // Greek ο, fullwidth
		{"numpy", "nurnpy"}, {"pillow", "piIlow"}, {"wheel", "vvheel"}, {"pandas", "panclas"}}
	for _, p := range same {
		if a, b := (Rules{}).Skeleton(trove.Name(p[0])), (Rules{}).Skeleton(trove.Name(p[1])); a != b {
			t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	for _, p := range [][2]string{{"numpy", "numba"}, {"requests", "request"}, {"six", "sax"}} {
		if a, b := (Rules{}).Skeleton(trove.Name(p[0])), (Rules{}).Skeleton(trove.Name(p[1])); a == b {
			t.Errorf("Skeleton(%q) = Skeleton(%q) = %q; want different", p[0], p[1], a)
		}
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"Django", "zope.interface", "a", "-", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := (Rules{}).ParseName(s)
		if err != nil {
			return
		}
		if n2, err := (Rules{}).ParseName(string(n)); err != nil || n2 != n {
			t.Fatalf("ParseName(%q) = %q, but ParseName(%q) = %q, %v: normalization not idempotent", s, n, n, n2, err)
		}
	})
}

func TestSatisfies(t *testing.T) {
	for _, tc := range []struct {
		version, constraint string
		want                bool
	}{
		{"1.0", "", true},
		{"2.1", ">=2.0", true},
		{"1.9", ">=2.0", false},
		{"2.1", ">=2.0,<3", true},
		{"3.0", ">=2.0,<3", false},
		{"1.4.2", "~=1.4", true},
		{"1.0", "==1.0.0", true},
	} {
		got, err := (Rules{}).Satisfies(tc.version, tc.constraint)
		if err != nil || got != tc.want {
			t.Errorf("Satisfies(%q, %q) = %v, %v; want %v", tc.version, tc.constraint, got, err, tc.want)
		}
	}
	for _, r := range []struct{ req, name, constraint string }{
		{"requests (>=2.0)", "requests", ">=2.0"},
		{"requests[security]>=2,<3; python_version < '3.8'", "requests", ">=2,<3"},
		{"Django", "Django", ""},
		{"pkg @ https://example.test/pkg.whl", "pkg", ""},
	} {
		deps := requirements([]string{r.req})
		if len(deps) != 1 || deps[0].Name != r.name || deps[0].Constraint != r.constraint {
			t.Errorf("requirements(%q) = %+v, want %s %q", r.req, deps, r.name, r.constraint)
		}
	}
}
