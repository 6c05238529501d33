package pypi

import (
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

// An endpoint is a kind of PyPI URL.
type endpoint int

// The endpoints, by path below the PyPI root.
const (
	epIndex       endpoint = iota + 1 // /simple/
	epProject                         // /simple/<name>/
	epFile                            // /packages/<sha256>/<filename>
	epMetadata                        // /packages/<sha256>/<filename>.metadata (PEP 658)
	epJSONProject                     // /pypi/<name>/json
	epJSONRelease                     // /pypi/<name>/<version>/json
	epUpload                          // /legacy/ (also /legacy)
	epRedirect                        // a simple URL in non-canonical form
)

// A request is a parsed PyPI URL path.
type request struct {
	ep       endpoint
	name     string // the project name as written in the URL, unescaped
	version  string // as written in the URL, unescaped
	digest   blob.Digest
	filename string
	// location is, for epRedirect, the canonical path (below the PyPI
	// root) that pip expects: the normalized name with a trailing slash.
	location string
}

// metadataSuffix names a file's core metadata (PEP 658): the file URL
// with this appended.
const metadataSuffix = ".metadata"

// parsePath parses a URL path below the PyPI root in its escaped form
// (r.URL.EscapedPath()). Errors wrap trove.ErrNotFound and say what is
// wrong with the path.
func parsePath(escaped string) (request, error) {
	if !strings.HasPrefix(escaped, "/") {
		return request{}, notFound(escaped, "")
	}
	parts := strings.Split(escaped[1:], "/")
	seg := make([]string, len(parts))
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil || strings.ContainsAny(s, "/\x00") {
			return request{}, notFound(escaped, "it is not a valid escaped path")
		}
		seg[i] = s
	}
	n := len(seg)
	switch seg[0] {
	case "simple":
		switch {
		case n == 1:
			return request{ep: epRedirect, location: "/simple/"}, nil
		case n == 2 && seg[1] == "":
			return request{ep: epIndex}, nil
		case n == 2 || n == 3 && seg[2] == "":
			norm, err := (Rules{}).ParseName(seg[1])
			if err != nil {
				return request{}, trove.Error(trove.ErrNotFound, "%w", err)
			}
			if n == 2 || string(norm) != seg[1] {
				return request{ep: epRedirect, name: seg[1], location: "/simple/" + string(norm) + "/"}, nil
			}
			return request{ep: epProject, name: seg[1]}, nil
		}
	case "packages":
		if n != 3 {
			break
		}
		d, err := blob.ParseDigest(seg[1])
		if err != nil {
			return request{}, notFound(escaped, "the digest must be 64 lowercase hex digits")
		}
		req := request{ep: epFile, digest: d, filename: seg[2]}
		if fn, ok := strings.CutSuffix(seg[2], metadataSuffix); ok {
			req.ep, req.filename = epMetadata, fn
		}
		if _, err := parseFilename(req.filename); err != nil {
			return request{}, trove.Error(trove.ErrNotFound, "%w", err)
		}
		return req, nil
	case "pypi":
		// /pypi/<name>/json and /pypi/<name>/<version>/json, with an
		// optional trailing slash.
		if n > 3 && seg[n-1] == "" {
			seg, n = seg[:n-1], n-1
		}
		if n < 3 || n > 4 || seg[n-1] != "json" || seg[1] == "" {
			break
		}
		if _, err := (Rules{}).ParseName(seg[1]); err != nil {
			return request{}, trove.Error(trove.ErrNotFound, "%w", err)
		}
		if n == 3 {
			return request{ep: epJSONProject, name: seg[1]}, nil
		}
		if seg[2] == "" {
			break
		}
		return request{ep: epJSONRelease, name: seg[1], version: seg[2]}, nil
	case "legacy":
		if n == 1 || n == 2 && seg[1] == "" {
			return request{ep: epUpload}, nil
		}
	}
	return request{}, notFound(escaped, "")
}

func notFound(path, why string) error {
	if why == "" {
		why = "PyPI URLs are /simple/, /simple/<project>/, /packages/<sha256>/<file>, /pypi/<project>/json and /legacy/"
	}
	return trove.Error(trove.ErrNotFound, "no such PyPI URL %q: %s", path, why)
}
