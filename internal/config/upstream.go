package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Upstream configures the upstream registries Trove fetches from for the
// names it does not hold (docs/proxy.md). No upstream is configured by
// default: `trove upstream detect` fills them in from the clients' own
// settings on the machine.
type Upstream struct {
	// TTL is how long a cached metadata document is served without asking
	// its upstream again.
	TTL Duration `toml:"ttl"`
	// Timeout bounds one request to an upstream, body included.
	Timeout Duration `toml:"timeout"`
	// Offline serves only what is cached and never contacts an upstream.
	Offline bool `toml:"offline"`
	// MaxDocBytes bounds one metadata document (a packument of thousands
	// of versions is tens of MiB).
	MaxDocBytes ByteSize `toml:"max_doc_bytes"`
	// FetchMemory bounds the memory of the documents being read from
	// upstreams at once, all ecosystems together; at least max_doc_bytes.
	FetchMemory ByteSize `toml:"fetch_memory"`
	// CurationContact is whom a refusal of a version blocked by curation
	// tells people to ask (an address or a page, such as
	// "platform-team@example.com"); "" says to ask the registry's curators.
	CurationContact string `toml:"curation_contact"`
	// Sources are each ecosystem's upstreams, tried in order:
	// [[upstream.sources.npm]].
	Sources map[string][]UpstreamSource `toml:"sources"`
}

// An UpstreamSource is one upstream registry of an ecosystem.
type UpstreamSource struct {
	// Name labels it in the transparency log and in headers ("public").
	Name string `toml:"name"`
	// URL is its protocol root: an npm registry's root, a PyPI index's
	// root (the simple API is <url>/simple/), a GOPROXY URL.
	URL string `toml:"url"`
	// TokenFile holds a bearer credential sent to it (never inline).
	TokenFile string `toml:"token_file"`
	// ArtifactHosts are the other hosts its artifacts may be fetched from
	// (a PyPI index's files host).
	ArtifactHosts []string `toml:"artifact_hosts"`
	// SumDB is, for go, the upstream checksum database's verifier key
	// ("<name>+<hash>+<key>", as published with the go command's
	// documentation); SumDBURL where to reach it ("" for <url>/sumdb/<name>).
	SumDB    string `toml:"sumdb"`
	SumDBURL string `toml:"sumdb_url"`
}

// DefaultUpstream are the defaults of [upstream].
var DefaultUpstream = Upstream{TTL: Duration(5 * time.Minute), Timeout: Duration(30 * time.Second), MaxDocBytes: 64 << 20, FetchMemory: 512 << 20}

// Token returns the source's credential, read from token_file ("" when
// there is none). Errors never show it.
func (s UpstreamSource) Token() (string, error) {
	if s.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(s.TokenFile)
	if err != nil {
		return "", fmt.Errorf("upstream %s: token_file: %w", s.Name, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("upstream %s: token_file %s is empty", s.Name, s.TokenFile)
	}
	return t, nil
}

// validate checks [upstream]; ecosystems are the known ecosystem names
// (nil: not known yet).
func (u *Upstream) validate(ecosystems []string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u.TTL < 0 || u.Timeout <= 0 {
		bad("upstream: ttl must not be negative and timeout must be positive")
	}
	if len(u.CurationContact) > 256 || strings.IndexFunc(u.CurationContact, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		bad("upstream.curation_contact: at most 256 characters on one line (an address or a page to ask about blocked versions)")
	}
	if u.MaxDocBytes < 1<<10 {
		bad("upstream.max_doc_bytes: %s is below 1KiB", u.MaxDocBytes)
	}
	if u.FetchMemory < u.MaxDocBytes {
		bad("upstream.fetch_memory: %s is below upstream.max_doc_bytes (%s): the largest document could never be read", u.FetchMemory, u.MaxDocBytes)
	}
	for _, eco := range slices.Sorted(maps.Keys(u.Sources)) {
		if ecosystems != nil && !slices.Contains(ecosystems, eco) {
			bad("upstream.sources.%s: there is no ecosystem %q (known: %s)", eco, eco, strings.Join(ecosystems, ", "))
			continue
		}
		names := map[string]bool{}
		for i, s := range u.Sources[eco] {
			at := fmt.Sprintf("upstream.sources.%s[%d]", eco, i)
			if s.Name == "" || strings.ContainsAny(s.Name, " \t\n/") {
				bad("%s.name: %q must be a word without spaces or '/' (it labels the upstream in the transparency log)", at, s.Name)
			} else if names[s.Name] {
				bad("%s.name: %q is used twice for %s", at, s.Name, eco)
			}
			names[s.Name] = true
			errs = append(errs, s.validate(at, eco)...)
		}
	}
	return errs
}

func (s UpstreamSource) validate(at, eco string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := checkHTTPURL(s.URL); err != nil {
		bad("%s.url: %v", at, err)
	}
	for _, h := range s.ArtifactHosts {
		if h == "" || strings.ContainsAny(h, "/ @") {
			bad("%s.artifact_hosts: %q is not a host[:port]", at, h)
		}
	}
	switch {
	case eco == "go" && s.SumDB == "":
		bad("%s.sumdb: a go upstream needs its checksum database's key <name>+<hash>+<key>: every module fetched is verified against it", at)
	case eco != "go" && (s.SumDB != "" || s.SumDBURL != ""):
		bad("%s: sumdb and sumdb_url are for go upstreams only", at)
	case s.SumDB != "":
		if _, err := note.NewVerifier(s.SumDB); err != nil {
			bad("%s.sumdb: %q is not a checksum database key <name>+<hash>+<key> (as the go command's documentation publishes it): %v", at, s.SumDB, err)
		}
	}
	if s.SumDBURL != "" {
		if err := checkHTTPURL(s.SumDBURL); err != nil {
			bad("%s.sumdb_url: %v", at, err)
		}
	}
	return errs
}

// checkHTTPURL accepts an absolute http(s) URL without credentials, query
// or fragment.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("must be set")
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%q is not an http:// or https:// URL", raw)
	case u.User != nil:
		return fmt.Errorf("%q holds credentials, which must not be in the configuration: use token_file", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not have a query or fragment", raw)
	}
	return nil
}
