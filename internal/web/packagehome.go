package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/page"
)

// recentReleases is how many releases the home page lists.
const recentReleases = 15

// homePackagesView is the home page's part about packages.
type homePackagesView struct {
	Counts []meta.Count
	Recent []recentView
}

type recentView struct {
	meta.RecentRelease
	URL string
}

// homePackages returns the home page's counts and recent releases,
// rendered once per change of any package (page cache group "web").
func (h *Handler) homePackages(ctx context.Context) (template.HTML, error) {
	if h.o.Registry == nil {
		return "", nil
	}
	p, err := h.cache.Get(page.Key{Group: webGroup, Variant: "home"}, func() (*page.Page, error) {
		s, err := h.o.Registry.Summary(context.WithoutCancel(ctx), recentReleases) // shared by waiting requests
		if err != nil {
			return nil, fmt.Errorf("reading the home page's packages: %w", err)
		}
		v := homePackagesView{Counts: s.Counts}
		for _, r := range s.Recent {
			v.Recent = append(v.Recent, recentView{r, packageURL(r.Ecosystem, r.DisplayName, r.Version)})
		}
		var b bytes.Buffer
		if err := h.pages["package"].ExecuteTemplate(&b, "home-packages", v); err != nil {
			return nil, fmt.Errorf("rendering the home page's packages: %w", err)
		}
		return page.New(b.Bytes(), "text/html; charset=utf-8"), nil
	})
	if err != nil {
		return "", err
	}
	b, err := p.Bytes()
	return template.HTML(b), err
}
