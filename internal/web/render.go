package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

//go:embed templates/*.html
var templateFS embed.FS

// CSP is the Content-Security-Policy of every response: scripts, styles
// and connections only from this origin, no inline code, no framing,
// forms only to this origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every web response carries.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// noReferrer marks a response whose URL holds a secret (npm's login
// link): links from it send no Referer at all.
func noReferrer(w http.ResponseWriter) { w.Header().Set("Referrer-Policy", "no-referrer") }

// parsePages parses every page template with the layout.
func (h *Handler) parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(h.funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parsing the web layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parsing web page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// funcs are the helpers templates call.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		// static returns the versioned URL of a static file.
		"static": func(name string) (string, error) { return h.files.url(name) },
		"date":   func(t time.Time) string { return formatTime(t, "2006-01-02") },
		"time":   func(t time.Time) string { return formatTime(t, "2006-01-02 15:04 MST") },
		"join":   strings.Join,
		// dict makes a map of its key, value arguments, for templates
		// called with more than one value.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: %d arguments, want key, value pairs", len(kv))
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		// mfa and passkeys say whether second factors and passkey
		// sign-in are on (factors.go); keysAt is the one origin
		// security keys work at when the visitor is at another.
		"mfa":      func() bool { return h.o.MFA != nil },
		"passkeys": h.passkeys,
		"keysAt":   h.keysAt,
	}
}

func formatTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(layout)
}

// view is what the layout sees.
type view struct {
	Title  string
	Visit  *Visit
	Data   any
	Notice string // a line above the page's content
}

// page writes the page template name with data and status. A visitor
// with a session gets Cache-Control no-store: the page is theirs.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	v := view{Visit: visitOf(r), Data: data}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		slog.Error("rendering a web page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if v.Visit.Session != nil || hd.Get("Cache-Control") == "" && personal(r) {
		hd.Set("Cache-Control", "no-store")
	} else if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Add("Vary", "Cookie")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// personal reports whether the request carries a session cookie, even one
// that no longer works, or credentials (a token, which may read private
// packages): its answer must not be cached.
func personal(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	for _, c := range r.Cookies() {
		if c.Name == cookieHTTPS || c.Name == cookiePlain {
			return true
		}
	}
	return false
}

// errorView is what the error page shows.
type errorView struct {
	Status  int
	Message string
	Serves  []string // for 404s
}

// fail writes the error page for err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		slog.Error("serving a web page", "path", r.URL.Path, "err", err)
		err = errors.New("internal error; try again, or tell this server's operators")
	}
	if s, ok := trove.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	h.page(w, r, status, "error", errorView{Status: status, Message: err.Error()})
}

// notFound writes the 404 page, which names what Trove serves.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, http.StatusNotFound, "error", errorView{Status: http.StatusNotFound,
		Message: "not found: Trove serves " + strings.Join(h.o.Serves, ", "), Serves: h.o.Serves})
}

// statusOf maps an error to the page's status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, account.ErrThrottled), errors.Is(err, trove.ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, account.ErrBadCredentials), errors.Is(err, access.ErrUnauthenticated), errors.Is(err, account.ErrNoSession):
		return http.StatusUnauthorized
	case errors.Is(err, access.ErrDenied):
		return http.StatusForbidden
	case errors.Is(err, trove.ErrNotFound), errors.Is(err, account.ErrLoginNotFound):
		return http.StatusNotFound
	case errors.Is(err, trove.ErrExists), errors.Is(err, account.ErrExists):
		return http.StatusConflict
	case errors.Is(err, trove.ErrInvalid), errors.Is(err, account.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, trove.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, trove.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// logError logs a failure that the page does not show.
func logError(r *http.Request, what string, err error) {
	slog.Error(what, "path", r.URL.Path, "err", err)
}
