package pypi

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// metadataVersions are the core metadata versions Trove accepts
// (packaging.python.org "Core metadata specifications", 1.0 to 2.4).
var metadataVersions = []string{"1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4"}

// multipleUse are the core metadata fields that may appear more than
// once, lowercased. Any other known field appearing twice is an error:
// two Name or Version headers could make Trove and an installer disagree
// on what a file is.
var multipleUse = map[string]bool{
	"platform": true, "supported-platform": true, "classifier": true,
	"requires-dist": true, "provides-dist": true, "obsoletes-dist": true,
	"requires-external": true, "project-url": true, "provides-extra": true,
	"license-file": true, "dynamic": true, "requires": true, "provides": true,
	"obsoletes": true,
}

// singleUse are the known fields that appear at most once, lowercased.
var singleUse = map[string]bool{
	"metadata-version": true, "name": true, "version": true, "summary": true,
	"description": true, "description-content-type": true, "keywords": true,
	"home-page": true, "download-url": true, "author": true, "author-email": true,
	"maintainer": true, "maintainer-email": true, "license": true,
	"license-expression": true, "requires-python": true,
}

// A coreMetadata is a parsed core metadata file (a wheel's METADATA or an
// sdist's PKG-INFO): RFC 822 style headers and an optional body holding
// the description.
type coreMetadata struct {
	fields map[string][]string // by lowercased field name, in file order
	// Description is the Description header, or the body (metadata 2.1+).
	Description string
}

// get returns the value of a single-use field, or "".
func (m *coreMetadata) get(field string) string {
	if v := m.fields[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// all returns every value of a multiple-use field.
func (m *coreMetadata) all(field string) []string { return m.fields[field] }

// MetadataVersion, Name and Version are the fields that identify a file.
func (m *coreMetadata) MetadataVersion() string { return m.get("metadata-version") }
func (m *coreMetadata) Name() string            { return m.get("name") }
func (m *coreMetadata) Version() string         { return m.get("version") }

var fieldName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// parseMetadata parses a core metadata file. It checks the syntax, that
// Metadata-Version is supported, that Name and Version are present and
// valid, that single-use fields appear once and that Requires-Python is a
// valid specifier set. The file must be UTF-8.
func parseMetadata(b []byte) (*coreMetadata, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("metadata is not UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, fmt.Errorf("metadata contains a NUL byte")
	}
	m := &coreMetadata{fields: make(map[string][]string)}
	text := string(b)
	var (
		key   string   // the field being read
		lines []string // its value's lines
		lineN int
	)
	flush := func() {
		if key == "" {
			return
		}
		m.fields[key] = append(m.fields[key], unfold(key, lines))
		key, lines = "", nil
	}
	body, hasBody := "", false
	for text != "" {
		lineN++
		line, rest, found := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			body, hasBody = text, found
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key == "" {
				return nil, fmt.Errorf("metadata line %d: continuation line without a field before it", lineN)
			}
			lines = append(lines, line)
			continue
		}
		flush()
		name, value, ok := strings.Cut(line, ":")
		if !ok || !fieldName.MatchString(name) {
			return nil, fmt.Errorf("metadata line %d: %q is not a \"Field: value\" line", lineN, clip(line, 60))
		}
		key = strings.ToLower(name)
		lines = []string{strings.TrimLeft(value, " \t")}
	}
	flush()
	for k, vs := range m.fields {
		if singleUse[k] && len(vs) > 1 {
			return nil, fmt.Errorf("metadata field %s appears %d times; it may appear once", canonicalField(k), len(vs))
		}
		for _, v := range vs {
			if i := strings.IndexFunc(v, isControl(k == "description")); i >= 0 {
				return nil, fmt.Errorf("metadata field %s contains the control character %q", canonicalField(k), v[i])
			}
		}
	}
	if hasBody && strings.TrimSpace(body) != "" {
		if _, ok := m.fields["description"]; ok {
			return nil, fmt.Errorf("metadata has a description both in the Description field and in the body; keep one")
		}
		m.Description = body
	} else {
		m.Description = m.get("description")
	}
	return m, m.check()
}

// check validates the fields every file must have.
func (m *coreMetadata) check() error {
	mv := m.MetadataVersion()
	switch {
	case mv == "":
		return fmt.Errorf("metadata has no Metadata-Version")
	case !slices.Contains(metadataVersions, mv):
		return fmt.Errorf("Metadata-Version %q is not supported (supported: %s)", clip(mv, 20), strings.Join(metadataVersions, ", "))
	case m.Name() == "":
		return fmt.Errorf("metadata has no Name")
	case m.Version() == "":
		return fmt.Errorf("metadata has no Version")
	}
	if _, err := (Rules{}).ParseName(m.Name()); err != nil {
		return fmt.Errorf("metadata Name: %w", err)
	}
	if _, err := (Rules{}).VersionKey(m.Version()); err != nil {
		return fmt.Errorf("metadata Version: %w", err)
	}
	if rp := m.get("requires-python"); rp != "" {
		if err := checkSpecifiers(rp); err != nil {
			return fmt.Errorf("metadata Requires-Python: %w", err)
		}
	}
	return nil
}

// unfold joins a field's lines. The description keeps its line breaks and
// loses the 8 columns of indentation (or "       |") that writers put in
// front of every continuation line; other fields are folded into one line.
func unfold(key string, lines []string) string {
	if len(lines) == 1 {
		return strings.TrimRight(lines[0], " \t")
	}
	if key != "description" {
		parts := make([]string, 0, len(lines))
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		return strings.Join(parts, " ")
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
			switch {
			case strings.HasPrefix(l, "       |"):
				l = l[8:]
			case strings.HasPrefix(l, "        "):
				l = l[8:]
			default:
				l = strings.TrimLeft(l, " \t")
			}
		}
		b.WriteString(l)
	}
	return strings.TrimSpace(b.String())
}

// isControl returns a test for characters a field must not contain:
// controls other than tab, and, unless multiline, line breaks.
func isControl(multiline bool) func(rune) bool {
	return func(r rune) bool {
		if r == '\n' {
			return !multiline
		}
		return r < ' ' && r != '\t' || r == 0x7f
	}
}

// canonicalField returns the usual spelling of a lowercased field name.
func canonicalField(k string) string {
	parts := strings.Split(k, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var specifierClause = regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$`)

// checkSpecifiers checks a PEP 440 version specifier set such as
// ">=3.8, !=3.9.*" (Requires-Python).
func checkSpecifiers(s string) error {
	for _, clause := range strings.Split(s, ",") {
		clause = strings.TrimSpace(clause)
		m := specifierClause.FindStringSubmatch(clause)
		if m == nil {
			return fmt.Errorf("%q is not a version specifier set such as \">=3.8\" or \">=3.8, <4\"", clip(s, 100))
		}
		op, v := m[1], m[2]
		if op == "===" {
			continue
		}
		if (op == "==" || op == "!=") && strings.HasSuffix(v, ".*") {
			v = strings.TrimSuffix(v, ".*")
		}
		if _, err := ParseVersion(v); err != nil {
			return fmt.Errorf("%q: %v", clip(s, 100), err)
		}
	}
	return nil
}

// releaseMetadata is the release metadata Trove keeps (registry
// Release.Metadata), taken from the core metadata of the release's first
// file. Its JSON names follow the PyPI JSON API's "info".
type releaseMetadata struct {
	MetadataVersion        string   `json:"metadata_version"`
	Name                   string   `json:"name"`
	Version                string   `json:"version"`
	Summary                string   `json:"summary,omitempty"`
	Description            string   `json:"description,omitempty"`
	DescriptionContentType string   `json:"description_content_type,omitempty"`
	Keywords               string   `json:"keywords,omitempty"`
	HomePage               string   `json:"home_page,omitempty"`
	DownloadURL            string   `json:"download_url,omitempty"`
	Author                 string   `json:"author,omitempty"`
	AuthorEmail            string   `json:"author_email,omitempty"`
	Maintainer             string   `json:"maintainer,omitempty"`
	MaintainerEmail        string   `json:"maintainer_email,omitempty"`
	License                string   `json:"license,omitempty"`
	LicenseExpression      string   `json:"license_expression,omitempty"`
	LicenseFiles           []string `json:"license_files,omitempty"`
	Classifiers            []string `json:"classifiers,omitempty"`
	Platforms              []string `json:"platforms,omitempty"`
	RequiresPython         string   `json:"requires_python,omitempty"`
	RequiresDist           []string `json:"requires_dist,omitempty"`
	ProvidesExtra          []string `json:"provides_extra,omitempty"`
	ProvidesDist           []string `json:"provides_dist,omitempty"`
	ObsoletesDist          []string `json:"obsoletes_dist,omitempty"`
	RequiresExternal       []string `json:"requires_external,omitempty"`
	ProjectURLs            []string `json:"project_urls,omitempty"` // "Label, URL"
	Dynamic                []string `json:"dynamic,omitempty"`
}

// release returns the release metadata the file describes.
func (m *coreMetadata) release() releaseMetadata {
	return releaseMetadata{
		MetadataVersion:        m.MetadataVersion(),
		Name:                   m.Name(),
		Version:                m.Version(),
		Summary:                m.get("summary"),
		Description:            m.Description,
		DescriptionContentType: m.get("description-content-type"),
		Keywords:               m.get("keywords"),
		HomePage:               m.get("home-page"),
		DownloadURL:            m.get("download-url"),
		Author:                 m.get("author"),
		AuthorEmail:            m.get("author-email"),
		Maintainer:             m.get("maintainer"),
		MaintainerEmail:        m.get("maintainer-email"),
		License:                m.get("license"),
		LicenseExpression:      m.get("license-expression"),
		LicenseFiles:           m.all("license-file"),
		Classifiers:            m.all("classifier"),
		Platforms:              m.all("platform"),
		RequiresPython:         m.get("requires-python"),
		RequiresDist:           m.all("requires-dist"),
		ProvidesExtra:          m.all("provides-extra"),
		ProvidesDist:           m.all("provides-dist"),
		ObsoletesDist:          m.all("obsoletes-dist"),
		RequiresExternal:       m.all("requires-external"),
		ProjectURLs:            m.all("project-url"),
		Dynamic:                m.all("dynamic"),
	}
}
