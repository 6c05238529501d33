package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Search limits.
const (
	// MaxQuery bounds a search query, in bytes.
	MaxQuery = 100
	// searchPage is how many results a page of results shows.
	searchPage = 20
	// maxSearchPage bounds the page number asked for.
	maxSearchPage = 500
	// maxPrivateResults bounds the private packages a search shows its
	// reader besides the public index.
	maxPrivateResults = 200
	// maxDirty is how many changed packages are re-read one by one before
	// the index is rebuilt whole instead.
	maxDirty = 256
)

// Ranks of a match, best first.
const (
	rankExact = iota
	rankPrefix
	rankContains
	rankText
)

// A searchEntry is one package in the search index, lowercased for
// matching.
type searchEntry struct {
	key         pkgKey
	display     string
	name        string // lowercase display name
	description string // as published, clipped
	text        string // lowercase description and keywords
	version     string
	upstream    bool
	private     bool // a reader's private package, never in the index
}

type pkgKey struct {
	eco  trove.Ecosystem
	name trove.Name
}

// searchIndex is an in-memory index of every visible package's name,
// description and keywords across ecosystems. It is built at the first
// search and then kept up to date by re-reading the packages that
// changed (registry watchers), at the next search. Its entries are kept
// sorted by name, so a search is one scan that sorts matches into the
// four ranks as it goes (BenchmarkSearch, docs/benchmarks.md).
type searchIndex struct {
	list func(context.Context, func(meta.Listing) error) error
	one  func(context.Context, trove.Ecosystem, trove.Name) (meta.Listing, error)

	mu     sync.RWMutex
	built  bool
	sorted []*searchEntry // by display name, then ecosystem

	dmu   sync.Mutex // guards dirty and all, which watchers set
	dirty map[pkgKey]bool
	all   bool // rebuild whole
}

// changed marks a package for re-reading. It never blocks on a search.
func (x *searchIndex) changed(eco trove.Ecosystem, name trove.Name) {
	x.dmu.Lock()
	defer x.dmu.Unlock()
	if strings.Contains(string(name), "*") || len(x.dirty) >= maxDirty {
		x.all, x.dirty = true, nil
		return
	}
	if x.all {
		return
	}
	if x.dirty == nil {
		x.dirty = make(map[pkgKey]bool)
	}
	x.dirty[pkgKey{eco, name}] = true
}

func entryOf(l meta.Listing) *searchEntry {
	a := aboutOf(l.Metadata)
	desc := a.Description
	if len(desc) > 300 {
		desc = strings.ToValidUTF8(desc[:300], "") + "…"
	}
	return &searchEntry{key: pkgKey{l.Ecosystem, l.Name}, display: l.DisplayName, name: strings.ToLower(l.DisplayName),
		description: desc, text: strings.ToLower(desc + "\n" + strings.Join(a.Keywords, "\n")), version: l.Version, upstream: l.Upstream}
}

// compareEntries orders entries by display name, then ecosystem.
func compareEntries(a, b *searchEntry) int {
	if c := strings.Compare(a.display, b.display); c != 0 {
		return c
	}
	return strings.Compare(string(a.key.eco), string(b.key.eco))
}

// refresh brings the index up to date. Concurrent searches wait for one
// refresh rather than each doing it.
func (x *searchIndex) refresh(ctx context.Context) error {
	x.dmu.Lock()
	dirty, all := x.dirty, x.all
	x.dirty, x.all = nil, false
	x.dmu.Unlock()
	x.mu.RLock()
	built := x.built
	x.mu.RUnlock()
	if built && !all && len(dirty) == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var err error
	if !x.built || all {
		err = x.rebuildLocked(ctx)
	} else {
		err = x.updateLocked(ctx, dirty)
	}
	if err != nil { // try again at the next search
		x.changed("", "*")
	}
	return err
}

func (x *searchIndex) rebuildLocked(ctx context.Context) error {
	var entries []*searchEntry
	err := x.list(ctx, func(l meta.Listing) error {
		entries = append(entries, entryOf(l))
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, compareEntries)
	x.sorted, x.built = entries, true
	return nil
}

// updateLocked re-reads the changed packages, moving each in the sorted
// entries (a copy of pointers, not a sort).
func (x *searchIndex) updateLocked(ctx context.Context, dirty map[pkgKey]bool) error {
	for k := range dirty {
		if i := slices.IndexFunc(x.sorted, func(e *searchEntry) bool { return e.key == k }); i >= 0 {
			x.sorted = slices.Delete(x.sorted, i, i+1)
		}
		l, err := x.one(ctx, k.eco, k.name)
		if errors.Is(err, trove.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		e := entryOf(l)
		i, _ := slices.BinarySearchFunc(x.sorted, e, compareEntries)
		x.sorted = slices.Insert(x.sorted, i, e)
	}
	return nil
}

// rankOf returns how well an entry matches the lowercase query, or -1.
func rankOf(e *searchEntry, q string) int {
	switch {
	case e.name == q || string(e.key.name) == q:
		return rankExact
	case strings.HasPrefix(e.name, q):
		return rankPrefix
	case strings.Contains(e.name, q):
		return rankContains
	case strings.Contains(e.text, q):
		return rankText
	}
	return -1
}

// A searchResult is one package found.
type searchResult struct {
	Ecosystem   trove.Ecosystem
	Name        string
	Version     string
	Description string
	URL         string
	Upstream    bool
	Private     bool
}

// search returns the results of a query, best first: exact name, then
// name prefix, name containing the query, description or keywords
// containing it; ties by name and ecosystem. It returns the total. extra
// are entries outside the index that the request may see (the reader's
// private packages), ranked with it.
func (x *searchIndex) search(ctx context.Context, q string, offset, limit int, extra ...*searchEntry) ([]searchResult, int, error) {
	if err := x.refresh(ctx); err != nil {
		return nil, 0, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	x.mu.RLock()
	defer x.mu.RUnlock()
	var ranks [rankText + 1][]*searchEntry // each in name order
	for _, e := range x.sorted {
		if r := rankOf(e, q); r >= 0 {
			ranks[r] = append(ranks[r], e)
		}
	}
	if len(extra) > 0 {
		var mixed [rankText + 1]bool
		for _, e := range extra {
			if r := rankOf(e, q); r >= 0 && !slices.ContainsFunc(ranks[r], func(o *searchEntry) bool { return o.key == e.key }) {
				ranks[r], mixed[r] = append(ranks[r], e), true
			}
		}
		for r, list := range ranks {
			if mixed[r] {
				ranks[r] = slices.SortedFunc(slices.Values(list), compareEntries)
			}
		}
	}
	var out []searchResult
	total := 0
	for _, list := range ranks {
		for _, e := range list {
			if total >= offset && len(out) < limit {
				out = append(out, searchResult{Ecosystem: e.key.eco, Name: e.display, Version: e.version,
					Description: e.description, Upstream: e.upstream, Private: e.private, URL: packageURL(e.key.eco, e.display, "")})
			}
			total++
		}
	}
	return out, total, nil
}

// searchView is what the search page shows.
type searchView struct {
	Query      string
	Results    []searchResult
	Total      int
	Page       int
	From, To   int
	Prev, Next string // links to the neighbouring pages; "" for none
}

// searchPage serves /-/search?q=&page=.
func (h *Handler) searchPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	q := r.URL.Query().Get("q")
	if len(q) > MaxQuery {
		return trove.Error(trove.ErrInvalid, "the search is %d bytes long; search with at most %d", len(q), MaxQuery)
	}
	if !utf8.ValidString(q) {
		return trove.Error(trove.ErrInvalid, "the search is not valid UTF-8")
	}
	n := 1
	if p := r.URL.Query().Get("page"); p != "" {
		var err error
		if n, err = strconv.Atoi(p); err != nil || n < 1 || n > maxSearchPage {
			return trove.Error(trove.ErrInvalid, "page must be a number from 1 to %d", maxSearchPage)
		}
	}
	v := searchView{Query: q, Page: n}
	if strings.TrimSpace(q) != "" && h.o.Registry != nil {
		// The index is public; a reader's own private packages are
		// found by name and ranked with it.
		ls, err := h.o.Registry.PrivateMatches(r.Context(), strings.TrimSpace(q), maxPrivateResults)
		if err != nil {
			return err
		}
		extra := make([]*searchEntry, 0, len(ls))
		for _, l := range ls {
			e := entryOf(l)
			e.private = true
			extra = append(extra, e)
		}
		if v.Results, v.Total, err = h.search.search(r.Context(), q, (n-1)*searchPage, searchPage, extra...); err != nil {
			return err
		}
		v.From, v.To = (n-1)*searchPage+1, (n-1)*searchPage+len(v.Results)
		link := func(p int) string { return "/-/search?q=" + urlQuery(q) + "&page=" + strconv.Itoa(p) }
		if n > 1 {
			v.Prev = link(n - 1)
		}
		if v.To < v.Total && n < maxSearchPage {
			v.Next = link(n + 1)
		}
	}
	h.page(w, r, http.StatusOK, "search", v)
	return nil
}
