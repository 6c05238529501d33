package goproxy

import (
	"strings"

	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// An endpoint is a kind of URL below the Go mount.
type endpoint int

// The endpoints, by path below the mount (such as /go).
const (
	epList   endpoint = iota + 1 // /<module>/@v/list
	epInfo                       // /<module>/@v/<version>.info
	epMod                        // /<module>/@v/<version>.mod
	epZip                        // /<module>/@v/<version>.zip
	epLatest                     // /<module>/@latest
	epUpload                     // /-/upload
	epSumdb                      // /sumdb/<name>/…
)

// A request is a parsed URL path.
type request struct {
	ep      endpoint
	module  string // unescaped module path
	version string // unescaped canonical version (epInfo, epMod, epZip)
	// sumdb is, for epSumdb, the path after "/sumdb/": the database's name
	// (which contains '/' and ':') followed by the operation.
	sumdb string
}

// uploadPath is the upload endpoint's path below the mount. No module
// path starts with "-", so it cannot name a module.
const uploadPath = "/-/upload"

// parsePath parses a URL path below the mount, as r.URL.Path gives it
// (module paths and versions hold no character that needs
// percent-encoding; they are case-encoded instead, module.EscapePath).
//
// Errors wrap trove.ErrNotFound for paths that name nothing this proxy
// could serve (a 404 lets the go command try its next proxy, and it probes
// parent paths of every import path), and trove.ErrInvalid for
// malformed case-encoding.
func parsePath(p string) (request, error) {
	switch {
	case p == uploadPath:
		return request{ep: epUpload}, nil
	case strings.HasPrefix(p, "/sumdb/"):
		return request{ep: epSumdb, sumdb: strings.TrimPrefix(p, "/sumdb/")}, nil
	case !strings.HasPrefix(p, "/"):
		return request{}, notFound(p, "")
	}
	p = p[1:]
	if esc, ok := strings.CutSuffix(p, "/@latest"); ok {
		mod, err := unescapePath(esc)
		if err != nil {
			return request{}, err
		}
		return request{ep: epLatest, module: mod}, nil
	}
	esc, file, ok := strings.Cut(p, "/@v/")
	if !ok {
		return request{}, notFound("/"+p, "")
	}
	mod, err := unescapePath(esc)
	if err != nil {
		return request{}, err
	}
	if file == "list" {
		return request{ep: epList, module: mod}, nil
	}
	var ep endpoint
	var escVersion string
	for _, e := range []struct {
		ext string
		ep  endpoint
	}{{".info", epInfo}, {".mod", epMod}, {".zip", epZip}} {
		if v, ok := strings.CutSuffix(file, e.ext); ok {
			ep, escVersion = e.ep, v
			break
		}
	}
	if ep == 0 {
		return request{}, notFound("/"+p, "the files of a version are <version>.info, .mod and .zip")
	}
	if hasUpper(escVersion) {
		return request{}, trove.Error(trove.ErrInvalid, "version %q in the URL is not case-encoded: write !x for an uppercase X", escVersion)
	}
	v, err := module.UnescapeVersion(escVersion)
	if err != nil {
		return request{}, trove.Error(trove.ErrInvalid, "%w", err)
	}
	if module.CanonicalVersion(v) != v || !semver.IsValid(v) {
		// Branch names and commit hashes ("queries") resolve only
		// against a VCS; this proxy serves uploaded versions.
		return request{}, trove.Error(trove.ErrNotFound,
			"%s@%s: not found: this proxy serves only published canonical versions, not branch or commit queries", mod, v)
	}
	return request{ep: ep, module: mod, version: v}, nil
}

// unescapePath decodes a case-encoded module path.
func unescapePath(esc string) (string, error) {
	if hasUpper(esc) {
		return "", trove.Error(trove.ErrInvalid, "module path %q in the URL is not case-encoded: write !x for an uppercase X", esc)
	}
	mod, err := module.UnescapePath(esc)
	if err != nil {
		// Not a module path at all: nothing here, and a 404 lets the
		// go command carry on (it probes parent paths of imports).
		return "", trove.Error(trove.ErrNotFound, "not found: %w", err)
	}
	return mod, nil
}

func hasUpper(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
}

func notFound(path, why string) error {
	if why == "" {
		why = "Go proxy URLs are /<module>/@v/list, /<module>/@v/<version>.info, .mod and .zip, /<module>/@latest and /sumdb/<name>/…"
	}
	return trove.Error(trove.ErrNotFound, "no such Go proxy URL %q: %s", path, why)
}
