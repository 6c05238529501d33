package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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
}

type pkgKey struct {
	eco  trove.Ecosystem
	name trove.Name
}

// searchIndex is an in-memory index of every visible package's name,
// description and keywords across ecosystems. It is built at the first
// search and then kept up to date by re-reading the packages that
// changed (registry watchers), at the next search. Matching scans it
// whole: a few milliseconds for 100,000 packages (BenchmarkSearch).
type searchIndex struct {
	list    func(context.Context, func(meta.Listing) error) error
	one     func(context.Context, trove.Ecosystem, trove.Name) (meta.Listing, error)
	mu      sync.Mutex
	built   bool
	entries map[pkgKey]*searchEntry
	dirty   map[pkgKey]bool
	all     bool // rebuild whole
}

// changed marks a package for re-reading.
func (x *searchIndex) changed(eco trove.Ecosystem, name trove.Name) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if strings.Contains(string(name), "*") || len(x.dirty) >= maxDirty {
		x.all = true
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

// refresh brings the index up to date. It holds the lock while it reads:
// concurrent searches wait for one refresh rather than each doing it.
func (x *searchIndex) refresh(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.built || x.all {
		entries := make(map[pkgKey]*searchEntry)
		x.dirty, x.all = nil, false
		err := x.list(ctx, func(l meta.Listing) error {
			e := entryOf(l)
			entries[e.key] = e
			return nil
		})
		if err != nil {
			x.all = true
			return err
		}
		x.entries, x.built = entries, true
		return nil
	}
	for k := range x.dirty {
		l, err := x.one(ctx, k.eco, k.name)
		switch {
		case errors.Is(err, trove.ErrNotFound):
			delete(x.entries, k)
		case err != nil:
			return err
		default:
			x.entries[k] = entryOf(l)
		}
		delete(x.dirty, k)
	}
	return nil
}

// A searchResult is one package found.
type searchResult struct {
	Ecosystem   trove.Ecosystem
	Name        string
	Version     string
	Description string
	URL         string
	Upstream    bool
	rank        int
}

// search returns the results of a query, best first: exact name, then
// name prefix, name containing the query, description or keywords
// containing it; ties by name and ecosystem. It returns the total.
func (x *searchIndex) search(ctx context.Context, q string, offset, limit int) ([]searchResult, int, error) {
	if err := x.refresh(ctx); err != nil {
		return nil, 0, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	x.mu.Lock()
	var found []searchResult
	for _, e := range x.entries {
		rank := -1
		switch {
		case e.name == q || string(e.key.name) == q:
			rank = rankExact
		case strings.HasPrefix(e.name, q):
			rank = rankPrefix
		case strings.Contains(e.name, q):
			rank = rankContains
		case strings.Contains(e.text, q):
			rank = rankText
		}
		if rank >= 0 {
			found = append(found, searchResult{Ecosystem: e.key.eco, Name: e.display, Version: e.version,
				Description: e.description, Upstream: e.upstream, rank: rank})
		}
	}
	x.mu.Unlock()
	slices.SortFunc(found, func(a, b searchResult) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(string(a.Ecosystem), string(b.Ecosystem))
	})
	total := len(found)
	found = found[min(offset, total):min(offset+limit, total)]
	for i := range found {
		found[i].URL = packageURL(found[i].Ecosystem, found[i].Name, "")
	}
	return found, total, nil
}

// searchView is what the search page shows.
type searchView struct {
	Query      string
	Results    []searchResult
	Total      int
	Page       int
	From, To   int
	Prev, Next string // links to the neighbouring pages; "" for none
	Took       time.Duration
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
		start := time.Now()
		var err error
		if v.Results, v.Total, err = h.search.search(r.Context(), q, (n-1)*searchPage, searchPage); err != nil {
			return err
		}
		v.Took = time.Since(start)
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
