package npm

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

func builtinPopular(t testing.TB) *registry.Popular {
	t.Helper()
	p, err := registry.NewPopular(Rules{}, PopularNames())
	if err != nil {
		t.Fatalf("the built-in list: %v", err)
	}
	return p
}

// TestPopularList: the built-in list is valid, npm names as written,
// once each.
func TestPopularList(t *testing.T) {
	seen := map[string]bool{}
	for i, line := range strings.Split(PopularNames(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := Rules{}.ParseName(line)
		if err != nil || string(n) != line {
			t.Errorf("line %d: %q is not an npm name as npm writes it: %v", i+1, line, err)
		}
		if seen[line] {
			t.Errorf("line %d: %q is listed twice", i+1, line)
		}
		seen[line] = true
	}
	if p := builtinPopular(t); p.Len() < 500 || p.Len() != len(seen) {
		t.Errorf("the built-in list has %d names (%d indexed), want at least 500", len(seen), p.Len())
	}
}

// TestPopularLookalikes checks npm's rules and affixes against the
// built-in list.
func TestPopularLookalikes(t *testing.T) {
	p := builtinPopular(t)
	for _, tc := range []struct{ name, want string }{
		{"lodahs", "lodash"},    // swapped
		{"l0dash", "lodash"},    // the same skeleton: 0 for o
		{"1odash", "lodash"},    // 1 for l
		{"lo-dash", "lodash"},   // punctuation
		{"expres", "express"},   // omitted
		{"expresss", "express"}, // repeated
		{"axois", "axios"},
		{"chalck", "chalk"},
		{"reactdom", "react-dom"},
		{"react-dorn", "react-dom"}, // rn for m
		{"node-lodash", "lodash"},   // affixes
		{"nodelodash", "lodash"},
		{"lodash.js", "lodash"},
		{"lodash-js", "lodash"},
		{"threejs", "three"},
		{"mssql-node", "mssql"},
		{"@babe1/core", "@babel/core"}, // scoped names too
		{"@babel/cor", "@babel/core"},
		{"@bable/core", "@babel/core"},
		// Popular names themselves, even one edit from another.
		{"lodash", ""}, {"react", ""}, {"preact", ""}, {"react-dom", ""}, {"@babel/core", ""},
		// Short names, two edits, unrelated names, other affixes, and
		// names in a scope of one's own.
		{"vux", ""}, {"axo", ""}, {"lodhas", ""}, {"exprezz", ""}, {"acme-billing", ""}, {"left-pad-moment", ""},
		{"lodash-py", ""}, {"@acme/lodash", ""}, {"@acme/server", ""},
	} {
		got, ok := p.Lookalike(trove.Name(tc.name))
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("Lookalike(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// TestPopularLookalikeRefused: npm publish of a look-alike of a popular
// name is a 403 that names it, and stores nothing; an allowed name passes.
func TestPopularLookalikeRefused(t *testing.T) {
	e := newEnvWith(t, servertest.Options{Popular: []*registry.Popular{builtinPopular(t)},
		PopularAllowed: []access.Pattern{"npm:expres"}}, nil)
	bob := e.userToken("bob")
	r := e.tryPublish(bob, "lodahs", "1.0.0").want(t, http.StatusForbidden)
	if want := `package name "lodahs" is too similar to the popular package "lodash"; choose another name, or ask an administrator`; !strings.Contains(r.errorText(), want) {
		t.Errorf("refusal %q, want %q", r.errorText(), want)
	}
	do(t, "GET", e.reg+"/lodahs", bob, nil).want(t, http.StatusNotFound)
	if n := e.Blobs.Len(); n != 0 {
		t.Errorf("the refused publish stored %d blobs", n)
	}
	e.tryPublish(bob, "expres", "1.0.0").want(t, http.StatusOK)
	e.tryPublish(bob, "lodash", "1.0.0").want(t, http.StatusOK)
}

// BenchmarkPopularLookalike is the check of one new name against the
// built-in list: a name that passes (every lookup made) and one refused.
func BenchmarkPopularLookalike(b *testing.B) {
	p := builtinPopular(b)
	for _, name := range []trove.Name{"acme-billing-service", "lodahs"} {
		b.Run(string(name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Lookalike(name)
			}
		})
	}
}
