package npm

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// Search result limits: npm asks for 20 by default.
const (
	defaultSearchSize = 20
	MaxSearchSize     = 250
	maxSearchText     = 256
	maxSearchFrom     = 100_000
)

type searchObject struct {
	Package     json.RawMessage `json:"package"`
	Score       searchScore     `json:"score"`
	SearchScore float64         `json:"searchScore"`
}

type searchScore struct {
	Final  float64            `json:"final"`
	Detail map[string]float64 `json:"detail"`
}

// search serves GET /-/v1/search?text=&size=&from=: packages whose name
// contains the text. Each result is a cached document of its package, so
// only the name lookup costs SQL.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, _ request) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("text"))
	if len(text) > maxSearchText {
		return trove.Error(trove.ErrInvalid, "search text is longer than %d bytes", maxSearchText)
	}
	size, err := intParam(q.Get("size"), defaultSearchSize, 0, MaxSearchSize)
	if err != nil {
		return trove.Error(trove.ErrInvalid, "size: %w", err)
	}
	from, err := intParam(q.Get("from"), 0, 0, maxSearchFrom)
	if err != nil {
		return trove.Error(trove.ErrInvalid, "from: %w", err)
	}
	pkgs, total, err := h.o.Registry.Search(r.Context(), trove.NPM, text, size, from)
	if err != nil {
		return err
	}
	objects := make([]searchObject, 0, len(pkgs))
	for _, p := range pkgs {
		pg, err := h.page(r.Context(), trove.Name(p.Name), variantSearch)
		if isNotFound(err) {
			continue // unpublished since the query
		}
		if err != nil {
			return err
		}
		entry, err := pg.Bytes()
		if err != nil {
			return err
		}
		score := 1.0
		if string(p.Name) == text {
			score = 100
		}
		objects = append(objects, searchObject{Package: entry, SearchScore: score,
			Score: searchScore{Final: 1, Detail: map[string]float64{"quality": 1, "popularity": 1, "maintenance": 1}}})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"objects": objects, "total": total, "time": time.Now().UTC().Format(time.RFC3339)})
}

// intParam parses an optional integer query parameter, clamped to max.
func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo {
		return 0, trove.Error(trove.ErrInvalid, "%q is not a whole number of at least %d", s, lo)
	}
	return min(n, hi), nil
}
