package pypi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// An upIndex is an upstream's simple page of one project (PEP 503 HTML or
// PEP 691 JSON), parsed into what Trove re-renders.
type upIndex struct {
	Versions []string // PEP 700, as listed; may be empty (HTML pages have none)
	Files    []upFile
	// tag names this reading of the page among those kept (proxy.go).
	tag string
}

// An upFile is a distribution file an upstream lists.
type upFile struct {
	Filename string
	// URL is absolute, resolved against the page (and an HTML <base>),
	// without its fragment.
	URL string
	// SHA256 is the index's sha256 of the file, lowercase hex; "" when the
	// index gives none (such a file is never served).
	SHA256         string
	RequiresPython string
	Size           int64     // -1 when the index does not say
	UploadTime     time.Time // zero when the index does not say
	Yanked         bool
	YankedReason   string
	// MetadataSHA256 is the sha256 of the file's core metadata file (PEP
	// 658/714); "" when the index offers none, or none with a sha256.
	MetadataSHA256 string
	// Version is the version the filename names, as written.
	Version string
}

// sha256Hex matches a sha256 digest in hex, either case.
var sha256Hex = regexp.MustCompile(`^[0-9A-Fa-f]{64}$`)

// hexDigest returns s lowercased if it is a sha256 in hex, else "".
func hexDigest(s string) string {
	if !sha256Hex.MatchString(s) {
		return ""
	}
	return strings.ToLower(s)
}

// parseUpIndex parses an upstream's simple page of the project name (PEP
// 503 normalized) fetched from pageURL. The format is told by the body: a
// PEP 691 JSON document is an object, HTML never starts with '{'. Files
// whose filename does not name the project, or whose URL is not http(s),
// are left out: they are not the project's distributions.
func parseUpIndex(name string, body []byte, pageURL string) (*upIndex, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("upstream page URL %q: %w", pageURL, err)
	}
	var idx *upIndex
	if trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		idx, err = parseUpJSON(body, base)
	} else {
		idx, err = parseUpHTML(body, base)
	}
	if err != nil {
		return nil, err
	}
	kept := idx.Files[:0]
	for _, f := range idx.Files {
		if f.Version = fileVersion(f.Filename, name); f.Version != "" {
			kept = append(kept, f)
		}
	}
	idx.Files = kept
	return idx, nil
}

// fileVersion returns the version a distribution filename names for the
// project name, or "" if the filename names another project or none.
func fileVersion(fn, name string) string {
	ds, err := parseFilename(fn)
	if err != nil {
		return ""
	}
	for _, d := range ds {
		if Normalize(d.Name) == name {
			return d.Version
		}
	}
	return ""
}

// resolve returns ref resolved against base as an absolute http(s) URL
// without fragment, and the fragment.
func resolve(base *url.URL, ref string) (string, string, bool) {
	u, err := base.Parse(strings.TrimSpace(ref))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", false
	}
	frag := u.Fragment
	u.Fragment, u.RawFragment = "", ""
	return u.String(), frag, true
}

// urlFilename returns the last segment of a URL's path, unescaped: the
// distribution's filename, as pip reads it.
func urlFilename(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}

// upJSONFile is a file of a PEP 691 project page.
type upJSONFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python"`
	Size           *int64            `json:"size"`
	UploadTime     string            `json:"upload-time"`
	Yanked         json.RawMessage   `json:"yanked"`
	CoreMetadata   json.RawMessage   `json:"core-metadata"`
	DistInfo       json.RawMessage   `json:"dist-info-metadata"`
}

// parseUpJSON parses a PEP 691 project page.
func parseUpJSON(body []byte, base *url.URL) (*upIndex, error) {
	var doc struct {
		Meta struct {
			APIVersion string `json:"api-version"`
		} `json:"meta"`
		Versions []string     `json:"versions"`
		Files    []upJSONFile `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("upstream simple page is not valid PEP 691 JSON: %w", err)
	}
	if major, _, _ := strings.Cut(doc.Meta.APIVersion, "."); major != "1" {
		return nil, fmt.Errorf("upstream simple page has api-version %q; Trove reads version 1 (PEP 691)", doc.Meta.APIVersion)
	}
	idx := &upIndex{Versions: doc.Versions}
	for _, jf := range doc.Files {
		u, _, ok := resolve(base, jf.URL)
		if !ok || jf.Filename == "" || urlFilename(u) != jf.Filename {
			continue
		}
		f := upFile{Filename: jf.Filename, URL: u, SHA256: hexDigest(jf.Hashes["sha256"]), RequiresPython: jf.RequiresPython, Size: -1}
		if jf.Size != nil && *jf.Size >= 0 {
			f.Size = *jf.Size
		}
		if t, err := time.Parse(time.RFC3339Nano, jf.UploadTime); err == nil {
			f.UploadTime = t.UTC()
		}
		f.Yanked, f.YankedReason = jsonYanked(jf.Yanked)
		cm := jf.CoreMetadata
		if len(cm) == 0 {
			cm = jf.DistInfo
		}
		f.MetadataSHA256 = jsonMetadataHash(cm)
		idx.Files = append(idx.Files, f)
	}
	return idx, nil
}

// jsonYanked reads PEP 691's yanked: false, true or a reason.
func jsonYanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var reason string
	if json.Unmarshal(raw, &reason) == nil {
		return true, reason
	}
	return false, ""
}

// jsonMetadataHash reads PEP 714's core-metadata: its sha256, or "" for
// false, true (no hash to verify) or anything else.
func jsonMetadataHash(raw json.RawMessage) string {
	var hashes map[string]string
	if json.Unmarshal(raw, &hashes) != nil {
		return ""
	}
	return hexDigest(hashes["sha256"])
}

// maxHTMLAnchors bounds the links read from an upstream HTML page; the
// page's size is bounded before parsing too.
const maxHTMLAnchors = 200_000

// parseUpHTML parses a PEP 503 project page with a tokenizer: only <base
// href> and <a> start tags matter, whatever surrounds them.
func parseUpHTML(body []byte, base *url.URL) (*upIndex, error) {
	idx := &upIndex{}
	z := html.NewTokenizer(bytes.NewReader(body))
	z.SetMaxBuf(len(body) + 1)
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return nil, fmt.Errorf("upstream simple page is not readable HTML: %w", err)
			}
			return idx, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.DataAtom {
			case atom.Base:
				if href, ok := attr(tok, "href"); ok {
					if u, err := base.Parse(href); err == nil {
						base = u
					}
				}
			case atom.A:
				if len(idx.Files) >= maxHTMLAnchors {
					return nil, fmt.Errorf("upstream simple page lists more than %d files", maxHTMLAnchors)
				}
				if f, ok := htmlFile(tok, base); ok {
					idx.Files = append(idx.Files, f)
				}
			}
		}
	}
}

// htmlFile reads a file from a PEP 503 anchor.
func htmlFile(tok html.Token, base *url.URL) (upFile, bool) {
	href, ok := attr(tok, "href")
	if !ok {
		return upFile{}, false
	}
	u, frag, ok := resolve(base, href)
	if !ok {
		return upFile{}, false
	}
	f := upFile{Filename: urlFilename(u), URL: u, Size: -1}
	if alg, v, ok := strings.Cut(frag, "="); ok && alg == "sha256" {
		f.SHA256 = hexDigest(v)
	}
	f.RequiresPython, _ = attr(tok, "data-requires-python")
	f.YankedReason, f.Yanked = attr(tok, "data-yanked")
	cm, ok := attr(tok, "data-core-metadata")
	if !ok {
		cm, _ = attr(tok, "data-dist-info-metadata")
	}
	if alg, v, ok := strings.Cut(cm, "="); ok && alg == "sha256" {
		f.MetadataSHA256 = hexDigest(v)
	}
	return f, true
}

// attr returns the value of a token's attribute (unescaped by the
// tokenizer) and whether it is present.
func attr(tok html.Token, key string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
