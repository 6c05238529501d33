package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// The MFA policy
//
// Every change to a package published here (a new version, a tag, an
// owner, a yank, a deprecation, a deletion) needs credentials whose level
// (access.Principal.Level: how strongly the token's creator had
// authenticated when minting it, or what the request proved itself) meets
// what the package needs:
//
//	needs = max(registry default, the package's own level, critical ? phishing-resistant : none)
//
// The registry default is Config.PublishAuth (configuration
// [accounts] publish_auth, DefaultPublishAuth when unset); it cannot be
// lower than AuthPassword. Owners may raise their package's level
// (SetPublishAuth), never below the default: the stored level is a floor
// combined with max, so a later, higher default still applies. A critical
// package (marked by an administrator, or ranked in the top share of
// downloads by the critical job) needs AuthPhishingResistant. A new
// package needs the default. Packages imported from upstreams have no
// maintainers here and need nothing.

// DefaultPublishAuth is the level the MFA policy asks by default.
const DefaultPublishAuth = trove.AuthMFA

// ParseAuthLevel parses a level as configuration and the API write it:
// password, mfa or phishing-resistant.
func ParseAuthLevel(s string) (trove.AuthLevel, error) {
	for _, l := range []trove.AuthLevel{trove.AuthPassword, trove.AuthMFA, trove.AuthPhishingResistant} {
		if s == l.String() {
			return l, nil
		}
	}
	return trove.AuthNone, trove.Error(trove.ErrInvalid, "unknown authentication level %q: want password, mfa or phishing-resistant", s)
}

type policyReader interface {
	PackagePolicy(ctx context.Context, packageID int64) (meta.PackagePolicy, error)
}

// needs returns the level changes to pkg need (pkg nil: a new package)
// and whether that is because it is critical.
func (s *Service) needs(ctx context.Context, q policyReader, pkg *trove.Package) (trove.AuthLevel, bool, error) {
	switch {
	case pkg == nil:
		return s.publishAuth, false, nil
	case pkg.Upstream:
		return trove.AuthNone, false, nil
	}
	pol, err := q.PackagePolicy(ctx, pkg.ID)
	if err != nil {
		return 0, false, fmt.Errorf("reading the policy of %s: %w", pkg.Name, err)
	}
	if pol.Critical() {
		return trove.AuthPhishingResistant, true, nil
	}
	return max(s.publishAuth, pol.PublishAuth), false, nil
}

// withPolicy sets r's level from pkg's policy.
func (s *Service) withPolicy(ctx context.Context, q policyReader, pkg *trove.Package, r access.Resource) (access.Resource, error) {
	var err error
	r.Needs, r.Critical, err = s.needs(ctx, q, pkg)
	return r, err
}

// withTrustedOnly sets r's trusted-only switch from pkg's policy: for
// uploads only (settings, tags and owners stay with the owners' tokens).
func withTrustedOnly(ctx context.Context, q policyReader, pkg *trove.Package, r access.Resource) (access.Resource, error) {
	if pkg == nil || pkg.Upstream {
		return r, nil
	}
	pol, err := q.PackagePolicy(ctx, pkg.ID)
	r.TrustedOnly = pol.TrustedOnly
	return r, err
}

// explain completes a refusal by the policy with where users add factors.
func (s *Service) explain(err error) error {
	var le *access.LevelError
	if errors.As(err, &le) && le.Security == "" {
		le.Security = s.securityURL
	}
	return err
}

// A PackagePolicy is what a package's MFA policy is and where it comes from.
type PackagePolicy struct {
	// Needs is the level changes to the package need.
	Needs trove.AuthLevel
	// Default is the registry's; Override the owners' (AuthNone if unset).
	Default  trove.AuthLevel
	Override trove.AuthLevel
	// Marked and Ranked say why the package is critical, if it is.
	Marked bool
	Ranked bool
	// TrustedOnly: publishing needs a token a trusted publisher minted.
	TrustedOnly bool
}

// Policy returns the MFA policy of the package (ecosystem, name).
func (s *Service) Policy(ctx context.Context, eco trove.Ecosystem, name string) (*PackagePolicy, error) {
	pkg, err := s.namedPackage(ctx, eco, name)
	if err != nil {
		return nil, err
	}
	pol, err := s.db.PackagePolicy(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	need, _, err := s.needs(ctx, s.db, pkg)
	if err != nil {
		return nil, err
	}
	return &PackagePolicy{Needs: need, Default: s.publishAuth, Override: pol.PublishAuth, Marked: pol.Marked, Ranked: pol.Ranked, TrustedOnly: pol.TrustedOnly}, nil
}

// SetPublishAuth sets the package's own level: owners (and administrators)
// may raise it above the registry's default or lower it back to the
// default, never below. It is a settings change, so who must meet the
// package's present level (and the new one, so that nobody sets a level
// they could not themselves meet).
func (s *Service) SetPublishAuth(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, l trove.AuthLevel) error {
	if l < s.publishAuth {
		return trove.Error(trove.ErrInvalid, "a package's level can only raise the registry's default (%s), not lower it to %s", s.publishAuth, l)
	}
	pkg, err := s.maintainedPackage(ctx, eco, name, "and no publishing policy")
	if err != nil {
		return err
	}
	if who != nil && !who.Level.Meets(l) {
		return s.explain(&access.LevelError{Ecosystem: eco, Name: pkg.Name, Have: who.Level, Need: l})
	}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.recheck(ctx, tx, who, pkg, access.Owners); err != nil {
			return err
		}
		if l == s.publishAuth {
			l = trove.AuthNone // back to the default, whatever it becomes
		}
		return tx.SetPublishAuth(ctx, pkg.ID, l)
	})
	return s.explain(err)
}

// maintainedPackage returns the visible package (ecosystem, name) that
// has maintainers here: an imported one is refused, saying what it
// therefore has not (what).
func (s *Service) maintainedPackage(ctx context.Context, eco trove.Ecosystem, name, what string) (*trove.Package, error) {
	pkg, err := s.changedPackage(ctx, eco, name)
	if err != nil {
		return nil, err
	}
	if pkg.Upstream {
		return nil, trove.Error(trove.ErrInvalid, "%s is imported from upstream registries: it has no maintainers here %s", name, what)
	}
	return pkg, nil
}
