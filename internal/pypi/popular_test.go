package pypi

import (
	"net/http"
	"strings"
	"testing"

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

// TestPopularList: the built-in list is valid, normalized names, once
// each.
func TestPopularList(t *testing.T) {
	seen := map[string]bool{}
	for i, line := range strings.Split(PopularNames(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n, err := (Rules{}).ParseName(line); err != nil || string(n) != line {
			t.Errorf("line %d: %q is not a normalized project name: %v", i+1, line, err)
		}
		if seen[line] {
			t.Errorf("line %d: %q is listed twice", i+1, line)
		}
		seen[line] = true
	}
	if p := builtinPopular(t); p.Len() < 400 || p.Len() != len(seen) {
		t.Errorf("the built-in list has %d names (%d indexed), want at least 400", len(seen), p.Len())
	}
}

// TestPopularLookalikes checks PyPI's rules and affixes against the
// built-in list.
func TestPopularLookalikes(t *testing.T) {
	p := builtinPopular(t)
	for _, tc := range []struct{ name, want string }{
		{"reqeusts", "requests"},  // swapped
		{"requestss", "requests"}, // repeated
		{"reqests", "requests"},   // omitted
		{"requezts", "requests"},  // replaced
		{"Req_Uests", "requests"}, // the same skeleton
		{"nurnpy", "numpy"},       // rn for m
		{"pi11ow", "pillow"},      // 1 for l
		{"djang0", "django"},
		{"beautifulsoup", "beautifulsoup4"},
		{"urlib3", "urllib3"},
		{"colourama", "colorama"},
		{"python-requests", "requests"}, // affixes, any separator
		{"python3-requests", "requests"},
		{"py-requests", "requests"},
		{"pyrequests", "requests"},
		{"requests-python", "requests"},
		{"requests_py", "requests"},
		{"requests3", "requests"},
		{"numpy2", "numpy"},
		{"python3-dateutil", "python-dateutil"},
		// Popular names themselves, even one edit from another.
		{"requests", ""}, {"numpy", ""}, {"psycopg2", ""}, {"psycopg", ""}, {"python-dateutil", ""}, {"pypdf2", ""},
		// Short names, two edits, unrelated names, other affixes.
		{"sixx", ""}, {"nump", ""}, {"reqeustss", ""}, {"acme-billing", ""}, {"requests-js", ""}, {"node-requests", ""},
	} {
		got, ok := p.Lookalike(trove.Name(Normalize(tc.name)))
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("Lookalike(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

// TestPopularLookalikeRefused: an upload of a look-alike of a popular
// name is a 403 that names it, and stores nothing.
func TestPopularLookalikeRefused(t *testing.T) {
	e := newTestEnvWith(t, servertest.Options{Popular: []*registry.Popular{builtinPopular(t)}}, func(*testEnv, *Options) {})
	w := makeWheel(t, "reqeusts", "1.0", metadataFor("reqeusts", "1.0"))
	r := e.post(t, e.token, twineForm(kindWheel, "reqeusts", "1.0", w), wheelFilename("reqeusts", "1.0"), w)
	if r.StatusCode != http.StatusForbidden ||
		!strings.Contains(r.body, `package name "reqeusts" is too similar to the popular package "requests"; choose another name, or ask an administrator`) {
		t.Errorf("uploading reqeusts: %s %s, want 403 naming requests", r.Status, r.body)
	}
	if r := e.get(t, "/simple/reqeusts/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /simple/reqeusts/ after the refusal: %s, want 404", r.Status)
	}
	if n := e.Blobs.Len(); n != 0 {
		t.Errorf("the refused upload stored %d blobs", n)
	}
	e.uploadWheel(t, "requests", "1.0")
}
