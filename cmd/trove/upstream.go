package main

import (
	"golang.org/x/sync/semaphore"

	"context"
	"log/slog"

	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// upstreamHaver is the optional part of an adapter whose ecosystem can
// fetch from upstreams: whether an upstream has a name, asked before a new
// local package of that name is created.
type upstreamHaver interface {
	HasUpstream(ctx context.Context, name trove.Name) (bool, error)
}

// mountEcosystems mounts every ecosystem's adapter, each with the client
// of its upstreams, and gives the registry the adapters' answer to
// whether an upstream has a name.
func mountEcosystems(c *config.Config, s *stack) ([]server.Mount, error) {
	var mounts []server.Mount
	names := upstream.Names{}
	mem := upstream.NewMemory(int64(c.Upstream.FetchMemory))
	for _, e := range ecosystems {
		eco := string(e.rules.Ecosystem())
		up, err := upstreamClient(c, s, e.rules.Ecosystem(), mem)
		if err != nil {
			return nil, err
		}
		a := e.mount(mountParts{c: c, s: s, upload: int64(c.Limits.UploadBytes[eco]), up: up})
		if h, ok := a.(upstreamHaver); ok && up.Enabled() {
			names[e.rules.Ecosystem()] = h.HasUpstream
		}
		mounts = append(mounts, server.Mount{Prefix: "/" + eco, Ecosystem: eco, Adapter: a})
	}
	s.registry.SetUpstreams(names)
	return mounts, nil
}

// upstreamClient returns the client of an ecosystem's configured
// upstreams (disabled when there are none).
func upstreamClient(c *config.Config, s *stack, eco trove.Ecosystem, mem *semaphore.Weighted) (*upstream.Client, error) {
	var sources []upstream.Source
	for _, src := range c.Upstream.Sources[string(eco)] {
		token, err := src.Token()
		if err != nil {
			return nil, err
		}
		sources = append(sources, upstream.Source{Name: src.Name, URL: src.URL, Token: token, ArtifactHosts: src.ArtifactHosts,
			SumDB: src.SumDB, SumDBURL: src.SumDBURL})
	}
	return upstream.New(upstream.Options{Ecosystem: eco, Sources: sources, Store: s.db, TTL: c.Upstream.TTL.Std(),
		Offline: c.Upstream.Offline, Timeout: c.Upstream.Timeout.Std(), MaxDocBytes: int64(c.Upstream.MaxDocBytes),
		Policy: s.curate, Withheld: s.registry, Logger: slog.Default().With("upstream", string(eco)), Rates: rates(s.db, c.Rates.UpstreamFetches, "upstream_fetches"), Memory: mem}), nil
}
