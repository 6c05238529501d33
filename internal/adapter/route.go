package adapter

import (
	"net/http"
	"slices"
	"strings"
)

// A Route is one endpoint of an adapter, as its route table lists it: what
// the server names it, which method it takes, the shape of its path, and
// what it needs of a caller.
type Route struct {
	// Name is the endpoint's stable name in metrics and logs ("publish").
	Name string
	// Method is the HTTP method; GET also serves HEAD.
	Method string
	// Path is the shape of the path below the adapter's mount, with
	// {placeholders}: "/{package}/-rev/{rev}". It is documentation: the
	// adapter's own path parser decides what matches.
	Path string
	// Access says what the endpoint needs of a caller.
	Access Access
}

// Access is what an endpoint needs of a caller.
type Access int

const (
	// Open endpoints read public data and need nothing.
	Open Access = iota
	// SignIn endpoints are where credentials are made: they check a
	// password or a pending browser sign-in, not a token, or show the
	// form a password is typed into. Like Credential endpoints, they are
	// served over plain HTTP only to this machine (server.Transport).
	SignIn
	// Credential endpoints need a token whose scope and actions allow
	// what they do (on a package, or on the user's own account), and
	// refuse any other caller.
	Credential
	// Proof endpoints take no token: the request carries its own proof
	// (the secret of a token it reports leaked, or a secret scanner's
	// signature over the body) and changes only what that proof covers.
	// Without credentials they draw on the anonymous write rate limit.
	Proof
)

// NewRoute returns a route; route tables list them with their entries.
func NewRoute(name, method, path string, a Access) Route {
	return Route{Name: name, Method: method, Path: path, Access: a}
}

// Mutating reports whether the route changes state.
func (r Route) Mutating() bool { return r.Method != http.MethodGet }

// An Entry is a row of an adapter's route table: the route, the kind of
// parsed request it serves (K) with an optional further condition on the
// request (R), and the function that serves it.
type Entry[K comparable, R any] struct {
	Route
	Kind  K
	When  func(R) bool // nil: every request of the kind
	Serve func(http.ResponseWriter, *http.Request, R) error
}

// A Table is an adapter's route table; the adapter's Route method is
// Lookup on it and its Routes method lists it, so the documented routes,
// the served ones and the ones the authorization tests walk are one list.
type Table[K comparable, R any] []Entry[K, R]

// Lookup returns the name and endpoint serving a parsed request of kind k
// with the method. A kind served with other methods gets an endpoint that
// answers 405 with an Allow header; a kind without routes gets nil.
func (t Table[K, R]) Lookup(k K, method string, req R) (string, Endpoint) {
	var allow []string
	for _, e := range t {
		if e.Kind != k || e.When != nil && !e.When(req) {
			continue
		}
		if e.Method == method || e.Method == http.MethodGet && method == http.MethodHead {
			return e.Name, func(w http.ResponseWriter, r *http.Request) error { return e.Serve(w, r, req) }
		}
		if !slices.Contains(allow, e.Method) {
			allow = append(allow, e.Method)
			if e.Method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) == 0 {
		return "", nil
	}
	return "unsupported", Methods(strings.Join(allow, ", "))
}

// Routes returns the table's routes.
func (t Table[K, R]) Routes() []Route {
	out := make([]Route, len(t))
	for i, e := range t {
		out[i] = e.Route
	}
	return out
}
