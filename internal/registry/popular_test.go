package registry_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// affixRules are the test rules with affixes: "go-" before a name, "-js"
// after it.
type affixRules struct{ rules }

func (affixRules) Affixes() (prefixes, suffixes []string) { return []string{"go-"}, []string{"-js"} }

func newPopular(t *testing.T, r registry.Rules, list string) *registry.Popular {
	t.Helper()
	p, err := registry.NewPopular(r, list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPopularTypos checks each rule of the popular-names check with the
// test rules, whose skeletons only drop '-'.
func TestPopularTypos(t *testing.T) {
	p := newPopular(t, affixRules{rules{"npm"}}, "# popular\nrequests\n\nlodash\nvue\nreact-dom\n  express  \nlodash\n")
	if p.Len() != 5 || p.Ecosystem() != "npm" {
		t.Errorf("Len, Ecosystem = %d, %s; want 5 names of npm", p.Len(), p.Ecosystem())
	}
	for _, tc := range []struct {
		name, want string // want "" for none
	}{
		// The popular names themselves.
		{"requests", ""}, {"lodash", ""}, {"vue", ""}, {"react-dom", ""},
		// The same skeleton, at any length.
		{"re-quests", "requests"}, {"reactdom", "react-dom"}, {"v-ue", "vue"},
		// One edit.
		{"reqeusts", "requests"},  // adjacent characters swapped
		{"requestss", "requests"}, // a character repeated
		{"reqests", "requests"},   // a character omitted
		{"requezts", "requests"},  // a character replaced
		{"xrequests", "requests"}, // a character added at the start
		{"equests", "requests"},   // the first one omitted
		{"lodahs", "lodash"},
		{"expres", "express"},
		{"re-act-dmo", "react-dom"}, // swapped, after the skeleton drops '-'
		// An affix.
		{"go-lodash", "lodash"}, {"golodash", "lodash"}, {"lodash-js", "lodash"}, {"lodashjs", "lodash"},
		// Not one edit: two, or a rotation.
		{"reqeustss", ""}, {"reqsuets", ""}, {"lodsha", ""}, {"express-js-js", ""},
		// Short names: the popular one (vue), or the new one (four letters).
		{"vuex", ""}, {"vu", ""}, {"go-vue", ""}, {"vue-js", ""}, {"lodh", ""},
		// Unrelated, and affixes other than the ecosystem's.
		{"acme-billing", ""}, {"lodash-py", ""}, {"py-lodash", ""},
	} {
		got, ok := p.Lookalike(trove.Name(tc.name))
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("Lookalike(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// TestPopularIndexMatchesScan checks the indexed check against a scan of
// the list with the textbook distance, over random names from a small
// alphabet (so that near misses abound).
func TestPopularIndexMatchesScan(t *testing.T) {
	r := rules{"npm"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 2+rng.IntN(7))
		for i := range b {
			b[i] = "abc-"[rng.IntN(4)]
		}
		return strings.Trim(string(b), "-")
	}
	var list []string
	for range 40 {
		if w := word(); w != "" {
			list = append(list, w)
		}
	}
	p := newPopular(t, r, strings.Join(list, "\n"))
	found := 0
	for range 20000 {
		n := word()
		if n == "" {
			continue
		}
		_, got := p.Lookalike(trove.Name(n))
		want := false
		if sk := r.Skeleton(trove.Name(n)); !slices.Contains(list, n) {
			for _, q := range list {
				qs := r.Skeleton(trove.Name(q))
				if qs == sk || len(sk) >= registry.MinTypoLen && len(qs) >= registry.MinTypoLen && osa(sk, qs) == 1 {
					want = true
					break
				}
			}
		}
		if got != want {
			t.Fatalf("Lookalike(%q) = %v, want %v (list %q)", n, got, want, list)
		}
		if got {
			found++
		}
	}
	if found < 1000 || found > 19000 {
		t.Errorf("%d of 20000 random names look like popular ones: the test compares too little", found)
	}
}

// osa is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of adjacent bytes.
func osa(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func TestNewPopularRefusesBadNames(t *testing.T) {
	_, err := registry.NewPopular(rules{"npm"}, "lodash\n# fine\nBad Name\n")
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "Bad Name") {
		t.Errorf("NewPopular(a bad name on line 3) = %v, want an error naming the line and the name", err)
	}
}

func TestTwoPopularListsOfOneEcosystem(t *testing.T) {
	e := newEnv(t)
	_, err := registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Rules: []registry.Rules{rules{"npm"}}, TempDir: t.TempDir(),
		Popular: []*registry.Popular{newPopular(t, rules{"npm"}, "a"), newPopular(t, rules{"npm"}, "b")}})
	if err == nil {
		t.Error("New(two popular lists for npm) = nil error")
	}
}

// TestPopularNamesRefused: a new name that looks like a popular one is
// refused, before anything is stored, to all but administrators and the
// names the configuration allows; existing checks are unchanged.
func TestPopularNamesRefused(t *testing.T) {
	e := newEnv(t)
	var err error
	e.reg, err = registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}}, TempDir: t.TempDir(),
		Now:            func() time.Time { return e.now },
		Popular:        []*registry.Popular{newPopular(t, rules{"npm"}, "lodash\nexpress\nreact-dom\n")},
		PopularAllowed: []access.Pattern{"npm:expres", "npm:lodash-*"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.user(t, "root", true)
	bob := e.user(t, "bob", false)

	for _, name := range []string{"lodahs", "reactdom", "re-act-dom"} {
		_, err := e.reg.Publish(ctx, bob, e.upload(t, name, "1.0", map[string]string{name + "-1.0.tgz": "evil " + name}))
		if !errors.Is(err, access.ErrDenied) || !strings.Contains(err.Error(), `is too similar to the popular package`) ||
			!strings.Contains(err.Error(), "choose another name, or ask an administrator") {
			t.Errorf("Publish(%s) = %v, want ErrDenied saying it is too similar to a popular package", name, err)
		}
		if _, err := e.db.Package(ctx, "npm", trove.Name(name)); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the refused %s has a package row: %v", name, err)
		}
		// The pending trusted publisher of a new name is refused alike.
		if _, _, err := e.reg.CheckPublisherChange(ctx, bob, "npm", name); !errors.Is(err, access.ErrDenied) {
			t.Errorf("CheckPublisherChange(%s) = %v, want ErrDenied", name, err)
		}
	}
	_, err = e.reg.Publish(ctx, bob, e.upload(t, "lodahs", "1.0", map[string]string{"x.tgz": "x"}))
	if err == nil || !strings.Contains(err.Error(), `package name "lodahs" is too similar to the popular package "lodash"`) {
		t.Errorf("Publish(lodahs) = %v, want the popular package named", err)
	}
	if n := e.blobs.Len(); n != 0 {
		t.Errorf("refused publishes stored %d blobs", n)
	}

	// The popular names themselves, names the configuration allows, names
	// of ecosystems without a list, and administrators pass.
	e.publish(t, bob, "express", "1.0", "x")
	e.publish(t, bob, "expres", "1.0", "x")
	e.publish(t, bob, "lodash-x", "1.0", "x") // one edit from lodash, allowed by npm:lodash-*
	up := e.upload(t, "lodahs", "1.0", map[string]string{"lodahs-1.0.tgz": "x"})
	up.Ecosystem = "pypi"
	if _, err := e.reg.Publish(ctx, bob, up); err != nil {
		t.Errorf("Publish(pypi lodahs) = %v, want no check without a list", err)
	}
	e.publish(t, admin, "lodahs", "1.0", "x")
	// Once the administrator's lodahs exists, its owners publish new
	// versions: only new names are checked.
	e.publish(t, admin, "lodahs", "1.1", "y")
}
