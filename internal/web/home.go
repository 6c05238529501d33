package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
)

// homeView is what the home page shows.
type homeView struct {
	Clients  []clientSetup
	Packages template.HTML // counts and recent releases (packagehome.go)
}

// clientSetup tells how to point one client at this server.
type clientSetup struct {
	Ecosystem string
	Command   string
}

// home serves GET /: a welcome and how to use the server.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	pkgs, err := h.homePackages(r.Context())
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "home", homeView{Clients: h.clients(), Packages: pkgs})
	return nil
}

// clients returns the client settings for each mounted ecosystem, in the
// order npm, pypi, go.
func (h *Handler) clients() []clientSetup {
	var out []clientSetup
	base := h.o.BaseURL
	for _, eco := range []string{"npm", "pypi", "go"} {
		p, ok := h.o.Ecosystems[eco]
		if !ok {
			continue
		}
		switch eco {
		case "npm":
			out = append(out, clientSetup{"npm", "npm config set registry " + base + p + "/"})
		case "pypi":
			out = append(out, clientSetup{"pip", "pip config set global.index-url " + base + p + "/simple/"},
				clientSetup{"twine", "twine upload --repository-url " + base + p + "/legacy/ dist/*"})
		case "go":
			out = append(out, clientSetup{"go", "go env -w GOPROXY=" + base + p})
		}
	}
	return slices.Clip(out)
}

// urlQuery escapes a query value.
func urlQuery(s string) string { return url.QueryEscape(s) }
