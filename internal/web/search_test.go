package web

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/readme"
	"github.com/trove-dev/trove/internal/trove"
)

// fakeListings returns n listings across two ecosystems, with
// descriptions and keywords.
func fakeListings(n int) func(context.Context, func(meta.Listing) error) error {
	return func(_ context.Context, fn func(meta.Listing) error) error {
		for i := 0; i < n; i++ {
			eco := trove.NPM
			if i%3 == 0 {
				eco = trove.PyPI
			}
			md, _ := json.Marshal(map[string]any{"description": fmt.Sprintf("utility number %d for parsing things", i),
				"keywords": []string{"util", fmt.Sprintf("k%d", i%100)}})
			name := fmt.Sprintf("pkg-%06d", i)
			if err := fn(meta.Listing{Ecosystem: eco, Name: trove.Name(name), DisplayName: name, Version: "1.0.0", Metadata: md}); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestSearchIndexRefresh(t *testing.T) {
	n := 10
	listings := map[pkgKey]meta.Listing{}
	x := &searchIndex{list: func(ctx context.Context, fn func(meta.Listing) error) error {
		return fakeListings(n)(ctx, fn)
	}, one: func(_ context.Context, eco trove.Ecosystem, name trove.Name) (meta.Listing, error) {
		l, ok := listings[pkgKey{eco, name}]
		if !ok {
			return l, trove.Error(trove.ErrNotFound, "no %s", name)
		}
		return l, nil
	}}
	if _, total, err := x.search(context.Background(), "pkg-", 0, 5); err != nil || total != 10 {
		t.Fatalf("search pkg- = %d, %v; want 10", total, err)
	}
	// A new package is read alone; a package gone is dropped.
	listings[pkgKey{"npm", "fresh"}] = meta.Listing{Ecosystem: "npm", Name: "fresh", DisplayName: "fresh", Version: "2.0.0"}
	x.changed("npm", "fresh")
	x.changed("npm", "pkg-000001")
	if r, _, _ := x.search(context.Background(), "fresh", 0, 5); len(r) != 1 || r[0].Version != "2.0.0" {
		t.Errorf("search fresh = %+v", r)
	}
	if _, total, _ := x.search(context.Background(), "pkg-", 0, 5); total != 9 {
		t.Errorf("search pkg- after pkg-000001 went = %d, want 9", total)
	}
	// A curation pattern rebuilds from the full list.
	n = 12
	x.changed("npm", "*")
	if _, total, _ := x.search(context.Background(), "pkg-", 0, 5); total != 12 {
		t.Errorf("search pkg- after a rebuild = %d, want 12", total)
	}
}

// BenchmarkSearch searches an index of 100,000 packages for a query that
// matches every description (the slowest: every entry is a match to
// sort) and for one that matches a single name.
func BenchmarkSearch(b *testing.B) {
	x := &searchIndex{list: fakeListings(100_000)}
	if err := x.refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"parsing", "pkg-012345", "nomatch"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := x.search(context.Background(), q, 0, searchPage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAboutOf(t *testing.T) {
	tests := []struct {
		name, md string
		want     about
	}{
		{"npm", `{"description":"d","keywords":["a"," b ",""],"readme":"# R","readmeFilename":"README.md"}`,
			about{Description: "d", Keywords: []string{"a", "b"}, Readme: []byte("# R"), Format: readme.Markdown}},
		{"npm readme without a name is Markdown", `{"readme":"# R"}`, about{Readme: []byte("# R"), Format: readme.Markdown}},
		{"npm plain README", `{"readme":"R","readmeFilename":"README"}`, about{Readme: []byte("R"), Format: readme.Plain}},
		{"pypi markdown", `{"metadata_version":"2.1","summary":"s","description":"# D","description_content_type":"text/markdown","keywords":"x, y"}`,
			about{Description: "s", Keywords: []string{"x", "y"}, Readme: []byte("# D"), Format: readme.Markdown}},
		{"pypi rst by default", `{"metadata_version":"2.1","summary":"s","description":"D\n=","keywords":"x y"}`,
			about{Description: "s", Keywords: []string{"x", "y"}, Readme: []byte("D\n="), Format: readme.Plain}},
		{"go", `{"module":"example.com/m","readme":"# M","readmeFilename":"README.md"}`, about{Readme: []byte("# M"), Format: readme.Markdown}},
		{"not json", `{`, about{}},
		{"keywords of another type", `{"keywords":{"a":1}}`, about{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, aboutOf([]byte(tt.md)), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: aboutOf(%s) (-want +got):\n%s", tt.name, tt.md, diff)
		}
	}
}
