package main

import (
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/lockfile"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/upstream"
)

// An ecosystem is everything Trove needs to serve one ecosystem: its
// rules, its adapter, the default and largest upload it takes, and the
// lockfiles trove verify reads for it. Adding an ecosystem adds one entry
// to ecosystems (see docs/ARCHITECTURE.md, "Adding an ecosystem").
type ecosystem struct {
	rules registry.Rules
	// upload is the default of limits.upload_bytes.<ecosystem>, and
	// maxUpload the largest value allowed (0: no more than that default
	// needs saying).
	upload, maxUpload config.ByteSize
	lockfiles         []lockfile.Format
	// popular is the built-in list of the ecosystem's popular names
	// (registry.NewPopular); "" for none.
	popular string
	// mount returns the adapter, mounted at /<ecosystem>.
	mount func(p mountParts) server.Adapter
}

// mountParts are what adapters are made of.
type mountParts struct {
	c      *config.Config
	s      *stack
	upload int64 // limits.upload_bytes of the ecosystem
	// up fetches from the ecosystem's upstreams ([upstream]); disabled
	// (Enabled false) when it has none.
	up *upstream.Client
}

// ecosystems are the ecosystems Trove serves.
var ecosystems = []ecosystem{
	{rules: npm.Rules{}, upload: npm.DefaultMaxPublishBytes, lockfiles: []lockfile.Format{npm.PackageLock{}}, popular: npm.PopularNames(),
		mount: func(p mountParts) server.Adapter {
			return npm.New(npm.Options{Registry: p.s.registry, Pages: p.s.pages, Tokens: p.s.tokens, Users: p.s.users, Logins: p.s.logins,
				BaseURL: p.c.BaseURL + "/npm", MaxPublishBytes: p.upload, OpenRegistration: p.c.Accounts.SignupMode() == config.SignupOpen,
				Upstream: p.up, Factors: p.s.factors, WebOTP: p.s.npmOTPs, WebURL: p.c.BaseURL})
		}},
	{rules: pypi.Rules{}, upload: pypi.DefaultMaxUploadBytes, lockfiles: []lockfile.Format{pypi.Requirements{}}, popular: pypi.PopularNames(),
		mount: func(p mountParts) server.Adapter {
			return pypi.New(pypi.Options{Registry: p.s.registry, Pages: p.s.pages, BaseURL: p.c.BaseURL + "/pypi", MaxUploadBytes: p.upload,
				Upstream: p.up})
		}},
	{rules: goproxy.Rules{}, upload: goproxy.DefaultMaxZipBytes, maxUpload: goproxy.DefaultMaxZipBytes, lockfiles: []lockfile.Format{goproxy.GoSum{}},
		mount: func(p mountParts) server.Adapter {
			return goproxy.New(goproxy.Options{Registry: p.s.registry, Pages: p.s.pages, Log: p.s.log, LogStore: p.s.db, MaxZipBytes: p.upload,
				Upstream: p.up, SumState: p.s.db})
		}},
}

// ecosystemRules returns the rules of the ecosystems Trove serves.
func ecosystemRules() []registry.Rules {
	out := make([]registry.Rules, len(ecosystems))
	for i, e := range ecosystems {
		out[i] = e.rules
	}
	return out
}

// lockfileFormats returns the lockfile formats of every ecosystem.
func lockfileFormats() []lockfile.Format {
	var out []lockfile.Format
	for _, e := range ecosystems {
		out = append(out, e.lockfiles...)
	}
	return out
}

// uploadLimits returns each ecosystem's default upload limit and largest
// allowed one, for the configuration.
func uploadLimits() map[string][2]config.ByteSize {
	out := make(map[string][2]config.ByteSize, len(ecosystems))
	for _, e := range ecosystems {
		out[string(e.rules.Ecosystem())] = [2]config.ByteSize{e.upload, e.maxUpload}
	}
	return out
}
