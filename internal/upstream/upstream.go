// Package upstream fetches from the upstream registries an ecosystem is
// configured with: metadata documents, cached in the database with a
// freshness TTL, revalidated with ETag and Last-Modified and served stale
// when every upstream fails; and artifacts, streamed into the registry's
// staging area with every digest for the adapter to verify before it
// imports them (registry.Service.Import).
//
// It knows no protocol: each adapter says which document a name needs,
// parses it, verifies artifacts against it and renders what clients see.
// A name is local or upstream, never both: adapters ask the registry
// (registry.Service.Local) before they ask an upstream.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// A Source is one configured upstream registry of an ecosystem.
type Source struct {
	// Name is the operator's label for it ("public"); it appears in the
	// transparency log's proxy records and in headers.
	Name string
	// URL is the protocol root: an npm registry's root, a PyPI index's
	// root (the simple API is below it), a GOPROXY URL.
	URL string
	// Token is an optional bearer credential sent to it.
	Token string
	// ArtifactHosts are the hosts artifacts may be fetched from besides
	// URL's own (a PyPI index's files host).
	ArtifactHosts []string
	// SumDB is, for Go, the upstream checksum database's verifier key
	// ("<name>+<hash>+<key>"), and SumDBURL where to reach it ("" for
	// <URL>/sumdb/<name>).
	SumDB, SumDBURL string
}

// DocStore keeps the cached documents; *meta.DB is one.
type DocStore interface {
	UpstreamDoc(ctx context.Context, eco trove.Ecosystem, doc string) (*meta.UpstreamDoc, error)
	PutUpstreamDoc(ctx context.Context, d *meta.UpstreamDoc) error
	TouchUpstreamDoc(ctx context.Context, eco trove.Ecosystem, doc string, at time.Time) error
}

// Defaults of Options.
const (
	DefaultTTL         = 5 * time.Minute
	DefaultTimeout     = 30 * time.Second
	DefaultMaxDocBytes = 64 << 20
)

// Options configure a Client.
type Options struct {
	Ecosystem trove.Ecosystem
	Sources   []Source // tried in order
	Store     DocStore
	// TTL is how long a cached document is used without asking its
	// upstream again; 0 means DefaultTTL.
	TTL time.Duration
	// Offline never contacts an upstream: only what is cached is served.
	Offline bool
	// Timeout bounds one request to an upstream, body included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// HTTP is the client for upstream requests; nil for one with Timeout.
	HTTP *http.Client
	// MaxDocBytes bounds a metadata document; 0 means DefaultMaxDocBytes.
	MaxDocBytes int64
	// Policy decides which upstream versions clients see (curation); nil
	// allows every version.
	Policy Policy
	// Withheld names the versions the registry holds and does not serve;
	// Decide refuses them. nil for none.
	Withheld Withholder
	Now      func() time.Time
	Logger   *slog.Logger
	// Rates limits the upstream requests each client causes (by its
	// address, limit.ClientFrom); nil for no limit.
	Rates *limit.Rates
	// Memory is the budget of the documents being read from upstreams at
	// once, shared by every ecosystem's client (NewMemory); nil for none.
	Memory *semaphore.Weighted
}

// A Client fetches from an ecosystem's upstreams. It is safe for
// concurrent use.
type Client struct {
	o    Options
	docs singleflight.Group
	once singleflight.Group
}

// New returns a Client; with no Sources it is disabled (Enabled is false).
func New(o Options) *Client {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxDocBytes <= 0 {
		o.MaxDocBytes = DefaultMaxDocBytes
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: o.Timeout, CheckRedirect: sameScheme}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Client{o: o}
}

// sameScheme refuses redirects from https to http and long chains.
func sameScheme(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("refusing a redirect from https to " + req.URL.Scheme)
	}
	return nil
}

// Enabled reports whether the ecosystem has any upstream. A nil Client is
// disabled.
func (c *Client) Enabled() bool { return c != nil && len(c.o.Sources) > 0 }

// Offline reports whether the client serves only what is cached.
func (c *Client) Offline() bool { return c.o.Offline }

// Sources returns the configured upstreams, in order.
func (c *Client) Sources() []Source { return c.o.Sources }

// TTL returns how long a cached document is used without asking its
// upstream again: adapters keep what they derive from a document (rendered
// pages, policy decisions) no longer than that.
func (c *Client) TTL() time.Duration { return c.o.TTL }

// Ecosystem returns the client's ecosystem.
func (c *Client) Ecosystem() trove.Ecosystem { return c.o.Ecosystem }

// A Doc is a metadata document from an upstream.
type Doc struct {
	Source    Source
	URL       string // where it was fetched; relative links resolve against it
	Body      []byte
	Stale     bool // every upstream failed: this is the last copy received
	FetchedAt time.Time
}

// Freshness is the value of the X-Trove-Upstream header adapters send
// with documents rendered from d: "fresh" or "stale".
func (d *Doc) Freshness() string {
	if d.Stale {
		return "stale"
	}
	return "fresh"
}

// Doc returns the metadata document key (the cache key: a package name,
// "<module>/@v/list") found at path below each source's URL, from the
// first source that has it. header holds request headers to send (Accept).
//
// Errors: trove.ErrNotFound when every upstream answered that it does not
// have it (404 or 410); trove.ErrUpstream or ErrUpstreamTimeout, with a
// message for people, when no upstream answered and nothing is cached.
func (c *Client) Doc(ctx context.Context, key, path string, header http.Header) (*Doc, error) {
	if !c.Enabled() {
		return nil, trove.Error(trove.ErrNotFound, "%s has no upstream registry", c.o.Ecosystem)
	}
	cached, err := c.o.Store.UpstreamDoc(ctx, c.o.Ecosystem, key)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	if cached != nil && (c.o.Offline || c.o.Now().Sub(cached.CheckedAt) < c.o.TTL) {
		return c.fromCache(cached, false)
	}
	if c.o.Offline {
		return nil, trove.Error(trove.ErrUpstream, "%s %s is not cached, and this registry is offline (upstream.offline): only cached packages can be installed", c.o.Ecosystem, key)
	}
	if err := c.allow(ctx); err != nil {
		return nil, err
	}
	// Concurrent requests for one document ask once, and the asking
	// outlives a client that goes away.
	ch := c.docs.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.Timeout)
		defer cancel()
		return c.refresh(fctx, key, path, header, cached)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Doc), nil
	}
}

// fromCache returns a cached document, or ErrNotFound for a cached 404.
func (c *Client) fromCache(d *meta.UpstreamDoc, stale bool) (*Doc, error) {
	if d.Status != http.StatusOK {
		return nil, trove.Error(trove.ErrNotFound, "%s %s not found in any upstream registry", c.o.Ecosystem, d.Doc)
	}
	return &Doc{Source: c.source(d.Source), URL: d.URL, Body: d.Body, Stale: stale, FetchedAt: d.FetchedAt}, nil
}

// source returns the configured source of that name, or one with only the
// name (a document cached from an upstream since removed from the
// configuration).
func (c *Client) source(name string) Source {
	for _, s := range c.o.Sources {
		if s.Name == name {
			return s
		}
	}
	return Source{Name: name}
}

// refresh asks each source in turn. The first 200 (or a 304 for the
// cached copy) wins; a 404 from every source is a cached not-found;
// anything else from a source is a failure, and when every source fails
// the cached copy is served stale.
func (c *Client) refresh(ctx context.Context, key, path string, header http.Header, cached *meta.UpstreamDoc) (*Doc, error) {
	var failures []string
	timedOut := false
	notFound := 0
	for _, src := range c.o.Sources {
		d, status, err := c.ask(ctx, src, key, path, header, cached)
		switch {
		case err == nil:
			return d, nil
		case status == http.StatusNotFound || status == http.StatusGone:
			notFound++
		default:
			failures = append(failures, fmt.Sprintf("%s: %v", src.Name, err))
			timedOut = timedOut || isTimeout(err)
		}
	}
	now := c.o.Now().UTC()
	if notFound == len(c.o.Sources) {
		last := c.o.Sources[len(c.o.Sources)-1]
		miss := &meta.UpstreamDoc{Ecosystem: c.o.Ecosystem, Doc: key, Source: last.Name, URL: join(last.URL, path),
			Status: http.StatusNotFound, FetchedAt: now, CheckedAt: now, Body: []byte{}}
		if err := c.o.Store.PutUpstreamDoc(ctx, miss); err != nil {
			return nil, err
		}
		return c.fromCache(miss, false)
	}
	if cached != nil && cached.Status == http.StatusOK {
		c.o.Logger.Warn("upstream registries failed; serving the cached copy", "ecosystem", c.o.Ecosystem, "doc", key,
			"fetched", cached.FetchedAt, "failures", strings.Join(failures, "; "))
		return c.fromCache(cached, true)
	}
	kind := trove.ErrUpstream
	if timedOut {
		kind = trove.ErrUpstreamTimeout
	}
	return nil, trove.Error(kind, "no upstream registry could be reached for %s %s, and no copy is cached (%s); try again later",
		c.o.Ecosystem, key, strings.Join(failures, "; "))
}

// ask fetches one document from one source. It returns the status the
// source answered (0 when it did not answer) and an error unless it got
// the document.
func (c *Client) ask(ctx context.Context, src Source, key, path string, header http.Header, cached *meta.UpstreamDoc) (*Doc, int, error) {
	u := join(src.URL, path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	src.authorize(req)
	if cached != nil && cached.Status == http.StatusOK && cached.Source == src.Name {
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	now := c.o.Now().UTC()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if cached == nil || cached.Source != src.Name {
			return nil, resp.StatusCode, errors.New("answered 304 to an unconditional request")
		}
		if err := c.o.Store.TouchUpstreamDoc(ctx, c.o.Ecosystem, key, now); err != nil {
			return nil, 0, err
		}
		return &Doc{Source: src, URL: cached.URL, Body: cached.Body, FetchedAt: cached.FetchedAt}, resp.StatusCode, nil
	case http.StatusOK:
	default:
		return nil, resp.StatusCode, fmt.Errorf("answered %s", resp.Status)
	}
	body, err := c.readDoc(ctx, resp.Body, resp.ContentLength)
	if err != nil {
		return nil, 0, err
	}
	d := &meta.UpstreamDoc{Ecosystem: c.o.Ecosystem, Doc: key, Source: src.Name, URL: resp.Request.URL.String(), Status: http.StatusOK,
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), FetchedAt: now, CheckedAt: now, Body: body}
	if err := c.o.Store.PutUpstreamDoc(ctx, d); err != nil {
		return nil, 0, err
	}
	return &Doc{Source: src, URL: d.URL, Body: body, FetchedAt: now}, resp.StatusCode, nil
}

func (src Source) authorize(req *http.Request) {
	if src.Token != "" {
		req.Header.Set("Authorization", "Bearer "+src.Token)
	}
}

// join appends a path to a base URL with exactly one slash between.
func join(base, path string) string {
	return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(path, "/")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// A Stager stages an artifact with its digests; registry.Service is one.
type Stager interface {
	Stage(r io.Reader, limit int64) (*registry.Staged, error)
}

// Fetch streams an artifact from src into the staging area, with every
// digest, refusing it past max bytes. rawURL is absolute or relative to
// docURL, the document that named it; its host must be the source's own
// or one of its ArtifactHosts, and it must not step from https to http.
// The caller verifies the digests before it imports the artifact.
func (c *Client) Fetch(ctx context.Context, src Source, docURL, rawURL string, max int64, stage Stager) (*registry.Staged, error) {
	if c.o.Offline {
		return nil, trove.Error(trove.ErrUpstream, "%s is not cached, and this registry is offline (upstream.offline)", rawURL)
	}
	u, err := src.artifactURL(docURL, rawURL)
	if err != nil {
		return nil, trove.Error(trove.ErrUpstream, "upstream %s: %v", src.Name, err)
	}
	if err := c.allow(ctx); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if u.Host == hostOf(src.URL) {
		src.authorize(req) // credentials go to the upstream itself only
	}
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		kind := trove.ErrUpstream
		if isTimeout(err) {
			kind = trove.ErrUpstreamTimeout
		}
		return nil, trove.Error(kind, "fetching %s from upstream %s: %v", u.Redacted(), src.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, trove.Error(trove.ErrUpstream, "upstream %s answered %s for %s", src.Name, resp.Status, u.Redacted())
	}
	st, err := stage.Stage(resp.Body, max)
	if errors.Is(err, trove.ErrTooLarge) {
		return nil, trove.Error(trove.ErrUpstream, "upstream %s sent more than the limit of %d bytes for %s", src.Name, max, u.Redacted())
	}
	if err != nil {
		return nil, trove.Error(trove.ErrUpstream, "fetching %s from upstream %s: %v", u.Redacted(), src.Name, err)
	}
	return st, nil
}

// artifactURL resolves an artifact's URL and checks where it points.
func (src Source) artifactURL(docURL, rawURL string) (*url.URL, error) {
	base, err := url.Parse(docURL)
	if err != nil {
		return nil, fmt.Errorf("bad document URL %q: %v", docURL, err)
	}
	u, err := base.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad artifact URL %q: %v", rawURL, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("artifact URL %q is not http(s)", rawURL)
	case u.User != nil:
		return nil, fmt.Errorf("artifact URL %q carries credentials", u.Redacted())
	case base.Scheme == "https" && u.Scheme != "https":
		return nil, fmt.Errorf("artifact URL %q steps down from https", u.Redacted())
	}
	if u.Host == hostOf(src.URL) {
		return u, nil
	}
	for _, h := range src.ArtifactHosts {
		if strings.EqualFold(h, u.Host) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("artifact URL %q is on host %q, which is neither the upstream's nor one of its artifact_hosts", u.Redacted(), u.Host)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// Once runs fn once for concurrent callers with the same key (an
// artifact's fetch, verification and import), each getting its error.
func (c *Client) Once(key string, fn func() error) error {
	_, err, _ := c.once.Do(key, func() (any, error) { return nil, fn() })
	return err
}

// Has reports whether an upstream has the document: false when every
// upstream answered that it does not, an error when none could say.
func (c *Client) Has(ctx context.Context, key, path string, header http.Header) (bool, error) {
	_, err := c.Doc(ctx, key, path, header)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, trove.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Names answers registry.Upstreams with each ecosystem adapter's own
// question: whether an upstream has a name.
type Names map[trove.Ecosystem]func(ctx context.Context, name trove.Name) (bool, error)

// Exists implements registry.Upstreams; an ecosystem without an entry
// has no upstream.
func (n Names) Exists(ctx context.Context, eco trove.Ecosystem, name trove.Name) (bool, error) {
	if f := n[eco]; f != nil {
		return f(ctx, name)
	}
	return false, nil
}

// Proxies implements registry.UpstreamProxier: whether the ecosystem has
// an upstream.
func (n Names) Proxies(eco trove.Ecosystem) bool { return n[eco] != nil }
