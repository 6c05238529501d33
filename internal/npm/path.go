package npm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
)

// An op is an npm registry endpoint, before the method is considered.
type op int

const (
	opPackument     op = iota + 1 // /E, /E/-rev/R
	opTarball                     // /E/-/F.tgz, /E/-/F.tgz/-rev/R
	opDistTags                    // /-/package/E/dist-tags
	opDistTag                     // /-/package/E/dist-tags/T
	opPing                        // /-/ping
	opWhoami                      // /-/whoami
	opSearch                      // /-/v1/search
	opLoginStart                  // /-/v1/login
	opLoginPage                   // /-/v1/login/S
	opLoginDone                   // /-/v1/done
	opOTPDone                     // /-/v1/otp-done (npm's web one-time password)
	opCouchUser                   // /-/user/org.couchdb.user:U, …/-rev/R
	opLogout                      // /-/user/token/T
	opTokens                      // /-/npm/v1/tokens
	opToken                       // /-/npm/v1/tokens/token/K
	opOrgUser                     // /-/org/O/user (npm org)
	opOrgTeam                     // /-/org/O/team (npm team create|ls)
	opTeam                        // /-/team/O/T (npm team destroy)
	opTeamUser                    // /-/team/O/T/user (npm team add|rm|ls)
	opTeamPackage                 // /-/team/O/T/package (npm access grant|revoke)
	opCollaborators               // /-/package/E/collaborators (npm access list collaborators)
	opVisibility                  // /-/package/E/visibility (npm access get status)
	opPackageAccess               // /-/package/E/access (npm access set)
	opPackages                    // /-/org/O/package (npm access list packages)
	opUserPackages                // /-/user/U/package
)

// A request is a parsed npm URL path.
type request struct {
	op op
	// name is the package, for package paths.
	name trove.Name
	// filename is a tarball's file name, such as demo-1.0.0.tgz (without
	// the scope, even when the URL repeated it).
	filename string
	// rev is the document revision a write names (/-rev/R); hasRev tells
	// an absent revision from an empty one.
	rev    string
	hasRev bool
	// arg is the endpoint's own argument: a dist-tag, a user name, a
	// login secret, a token, a token key or an organisation.
	arg string
	// team is the team of the /-/team/O/T paths.
	team string
}

// errNoRoute reports a path that names no endpoint.
var errNoRoute = errors.New("no such npm endpoint")

// maxPathLen bounds the paths parsePath looks at; no valid one comes close.
const maxPathLen = 4096

// parsePath parses an escaped URL path below the registry root (the /npm
// prefix removed). It returns errNoRoute for paths that are no endpoint,
// and an error wrapping trove.ErrInvalid for an endpoint path whose
// package name is invalid.
//
// Scoped package names arrive in three forms and all are accepted:
// /@scope%2fname (npm), /@scope%2Fname (yarn, pnpm) and /@scope/name
// (tarball URLs, some clients' packument URLs).
func parsePath(escaped string) (request, error) {
	if len(escaped) > maxPathLen || !strings.HasPrefix(escaped, "/") {
		return request{}, errNoRoute
	}
	segs := strings.Split(escaped[1:], "/")
	// /-/… is the registry's own namespace, but "-" is also a valid
	// package name: /-, /-/-/F.tgz and /-/-rev/R are that package's.
	if segs[0] == "-" && len(segs) > 1 && segs[1] != "-" && segs[1] != "-rev" {
		return parseSpecial(segs[1:])
	}
	name, rest, err := parseName(segs)
	if err != nil {
		return request{}, err
	}
	req := request{op: opPackument, name: name}
	if len(rest) >= 2 && rest[0] == "-" && rest[1] != "rev" {
		req.op = opTarball
		if req.filename, rest, err = parseFilename(name, rest[1:]); err != nil {
			return request{}, err
		}
	}
	switch {
	case len(rest) == 0:
	case len(rest) == 2 && rest[0] == "-rev":
		if req.rev, err = unescape(rest[1]); err != nil {
			return request{}, errNoRoute
		}
		req.hasRev = true
	default:
		return request{}, errNoRoute
	}
	return req, nil
}

// parseName reads a package name from the first one or two segments and
// returns the segments after it.
func parseName(segs []string) (trove.Name, []string, error) {
	first, err := unescape(segs[0])
	if err != nil || first == "" {
		return "", nil, errNoRoute
	}
	raw, rest := first, segs[1:]
	if strings.HasPrefix(first, "@") && !strings.Contains(first, "/") {
		// @scope/name with a raw slash: the name spans two segments.
		if len(segs) < 2 {
			return "", nil, errNoRoute
		}
		second, err := unescape(segs[1])
		if err != nil || second == "" || strings.Contains(second, "/") {
			return "", nil, errNoRoute
		}
		raw, rest = first+"/"+second, segs[2:]
	}
	n, err := Rules{}.ParseName(raw)
	if err != nil {
		return "", nil, trove.Error(trove.ErrInvalid, "%w", err)
	}
	return n, rest, nil
}

// parseFilename reads a tarball file name: "demo-1.0.0.tgz", or, as npm
// writes it into publish requests, "@scope/demo-1.0.0.tgz" (two segments)
// for a package of that scope.
func parseFilename(name trove.Name, segs []string) (string, []string, error) {
	first, err := unescape(segs[0])
	if err != nil {
		return "", nil, errNoRoute
	}
	rest := segs[1:]
	if scope, _, ok := strings.Cut(string(name), "/"); ok && strings.HasPrefix(first, "@") {
		// @scope/demo-1.0.0.tgz, in one segment (%2f) or in two.
		f, after, found := strings.Cut(first, "/")
		switch {
		case f != scope:
			return "", nil, errNoRoute
		case found:
			first = after
		case len(rest) > 0:
			if first, err = unescape(rest[0]); err != nil {
				return "", nil, errNoRoute
			}
			rest = rest[1:]
		default:
			return "", nil, errNoRoute
		}
	}
	if !validFilename(first) {
		return "", nil, errNoRoute
	}
	return first, rest, nil
}

// validFilename reports whether f can be the name of a stored tarball: a
// single path element ending in .tgz, made of name and version characters.
func validFilename(f string) bool {
	base, ok := strings.CutSuffix(f, ".tgz")
	if !ok || base == "" || len(f) > MaxNameLen+MaxVersionLen+8 {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._+", c) >= 0) {
			return false
		}
	}
	return base[0] != '.'
}

// parseSpecial parses the paths below /-/.
func parseSpecial(segs []string) (request, error) {
	path := strings.Join(segs, "/")
	switch path {
	case "ping":
		return request{op: opPing}, nil
	case "whoami":
		return request{op: opWhoami}, nil
	case "v1/search":
		return request{op: opSearch}, nil
	case "v1/login":
		return request{op: opLoginStart}, nil
	case "v1/done":
		return request{op: opLoginDone}, nil
	case "v1/otp-done":
		return request{op: opOTPDone}, nil
	case "npm/v1/tokens":
		return request{op: opTokens}, nil
	}
	switch {
	case len(segs) == 3 && segs[0] == "v1" && segs[1] == "login":
		if !validSecret(segs[2]) {
			return request{}, errNoRoute
		}
		return request{op: opLoginPage, arg: segs[2]}, nil
	case len(segs) == 5 && path == "npm/v1/tokens/token/"+segs[4]:
		key, err := unescape(segs[4])
		if err != nil || key == "" {
			return request{}, errNoRoute
		}
		return request{op: opToken, arg: key}, nil
	case len(segs) == 3 && segs[0] == "user" && segs[1] == "token":
		tok, err := unescape(segs[2])
		if err != nil || tok == "" {
			return request{}, errNoRoute
		}
		return request{op: opLogout, arg: tok}, nil
	case len(segs) == 3 && segs[0] == "user" && segs[2] == "package":
		user, err := unescape(segs[1])
		if err != nil || user == "" || len(user) > 256 {
			return request{}, errNoRoute
		}
		return request{op: opUserPackages, arg: user}, nil
	case len(segs) >= 2 && segs[0] == "user":
		return parseCouchUser(segs[1:])
	case len(segs) >= 3 && segs[0] == "package":
		name, rest, err := parseName(segs[1:])
		if err != nil {
			return request{}, err
		}
		switch {
		case len(rest) == 1 && rest[0] == "dist-tags":
			return request{op: opDistTags, name: name}, nil
		case len(rest) == 2 && rest[0] == "dist-tags":
			tag, err := unescape(rest[1])
			if err != nil || tag == "" {
				return request{}, errNoRoute
			}
			return request{op: opDistTag, name: name, arg: tag}, nil
		case len(rest) == 1 && rest[0] == "collaborators":
			return request{op: opCollaborators, name: name}, nil
		case len(rest) == 1 && rest[0] == "visibility":
			return request{op: opVisibility, name: name}, nil
		case len(rest) == 1 && rest[0] == "access":
			return request{op: opPackageAccess, name: name}, nil
		}
	case len(segs) == 3 && segs[0] == "org":
		org, err := unescape(segs[1])
		org = strings.TrimPrefix(org, "@")
		if err != nil || org == "" || len(org) > 256 {
			return request{}, errNoRoute
		}
		switch segs[2] {
		case "user":
			return request{op: opOrgUser, arg: org}, nil
		case "team":
			return request{op: opOrgTeam, arg: org}, nil
		case "package":
			return request{op: opPackages, arg: org}, nil
		}
	case (len(segs) == 3 || len(segs) == 4) && segs[0] == "team":
		org, err1 := unescape(segs[1])
		team, err2 := unescape(segs[2])
		org = strings.TrimPrefix(org, "@")
		if err1 != nil || err2 != nil || org == "" || team == "" || len(org) > 256 || len(team) > 256 {
			return request{}, errNoRoute
		}
		req := request{op: opTeam, arg: org, team: team}
		if len(segs) == 3 {
			return req, nil
		}
		switch segs[3] {
		case "user":
			req.op = opTeamUser
			return req, nil
		case "package":
			req.op = opTeamPackage
			return req, nil
		}
	}
	return request{}, errNoRoute
}

// couchUserPrefix starts the CouchDB document id of a user.
const couchUserPrefix = "org.couchdb.user:"

// parseCouchUser parses org.couchdb.user:NAME[/-rev/R].
func parseCouchUser(segs []string) (request, error) {
	id, err := unescape(segs[0])
	if err != nil {
		return request{}, errNoRoute
	}
	user, ok := strings.CutPrefix(id, couchUserPrefix)
	if !ok || user == "" || len(user) > 256 {
		return request{}, errNoRoute
	}
	req := request{op: opCouchUser, arg: user}
	switch {
	case len(segs) == 1:
	case len(segs) == 3 && segs[1] == "-rev":
		req.rev, req.hasRev = segs[2], true
	default:
		return request{}, errNoRoute
	}
	return req, nil
}

// validSecret reports whether s has the form of a login secret.
func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// unescape decodes one path segment.
func unescape(seg string) (string, error) {
	s, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("bad escape in %q: %w", seg, err)
	}
	if strings.ContainsAny(s, "\x00") {
		return "", fmt.Errorf("NUL in %q", seg)
	}
	return s, nil
}

// basename returns a package name without its scope, as used in tarball
// file names.
func basename(n trove.Name) string {
	s := string(n)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
