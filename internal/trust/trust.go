// Package trust implements trusted publishing: a CI job proves who it is
// with its OIDC ID token and gets, in exchange, a short-lived token that
// publishes one package (docs/trusted-publishing.md).
//
// # Invariants
//
//   - ID tokens are verified by [Verifier] (go-oidc: discovery, keys
//     cached by its RemoteKeySet, signature, issuer, audience) with exp,
//     nbf and iat checked within a small leeway; only configured issuers
//     are trusted.
//   - An ID token is exchanged once: its (issuer, jti) is inserted under a
//     primary key in the transaction before the token is minted
//     (meta.Tx.UseJTI), so two replicas racing with one token cannot both
//     succeed; the row is kept until the token's expiry plus the leeway.
//   - A publisher matches claims that name the job (GitHub: repository,
//     owner id, workflow file, environment; GitLab: project, CI file,
//     environment; generic: explicit exact rules, never only the subject).
//   - A minted token is an ordinary API token of the user who configured
//     the publisher, scoped to one package and the publish action only,
//     living [MintedLifetime], marked with the publisher's id, and with the
//     level of the credentials that configured the publisher. Everything
//     else (ownership, the MFA policy, namespaces) is decided by
//     access.Authorize at publish time, as for any token.
package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// MintedLifetime is how long a minted token lives.
const MintedLifetime = 15 * time.Minute

// maxCandidates bounds the publishers an exchange that names no package
// (PyPI's) compares with a token.
const maxCandidates = 10000

// MaxPublishers bounds the publishers of one package.
const MaxPublishers = 32

// ErrExchange is the category of refused exchanges (TokenError wraps it).
// It unwraps to access.ErrUnauthenticated.
var ErrExchange = fmt.Errorf("%w: trusted publishing exchange refused", access.ErrUnauthenticated)

// Options configure a Service.
type Options struct {
	DB       *meta.DB
	Registry *registry.Service
	Tokens   *access.Tokens
	Issuers  []Issuer
	// Audience is the aud the PyPI and generic exchanges ask for.
	Audience string
	// Host is the registry's host: npm's exchange asks for "npm:"+Host.
	Host   string
	Leeway time.Duration
	Client *http.Client     // for discovery and keys; nil: http.DefaultClient
	Now    func() time.Time // nil: time.Now
}

// A Service configures publishers and exchanges ID tokens.
type Service struct {
	o Options
	v *Verifier
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o, v: NewVerifier(o.Issuers, o.Leeway, o.Client, o.Now)}
}

// Enabled reports whether any issuer is configured.
func (s *Service) Enabled() bool { return s != nil && len(s.o.Issuers) > 0 }

// Audience is the aud the PyPI and generic exchanges expect.
func (s *Service) Audience() string { return s.o.Audience }

// NPMAudience is the aud npm's exchange expects, as npm asks for it.
func (s *Service) NPMAudience() string { return "npm:" + s.o.Host }

func (s *Service) off() error {
	return trove.Error(trove.ErrUnsupported, "trusted publishing is not enabled on this registry (an administrator configures [trusted_publishing] issuers)")
}

// A Publisher is a configured publisher as callers see it.
type Publisher struct {
	ID        int64           `json:"id"`
	Ecosystem trove.Ecosystem `json:"ecosystem"`
	Name      trove.Name      `json:"name"`
	Kind      Kind            `json:"kind"`
	Spec
	// Pending is true while no package has the name: the first publish
	// through the publisher creates it.
	Pending   bool      `json:"pending"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Service) view(ctx context.Context, p *meta.Publisher, pending bool) (*Publisher, error) {
	var spec Spec
	if err := json.Unmarshal([]byte(p.Claims), &spec); err != nil {
		return nil, fmt.Errorf("reading publisher %d: %w", p.ID, err)
	}
	spec.Issuer = p.Issuer
	out := &Publisher{ID: p.ID, Ecosystem: p.Ecosystem, Name: p.Name, Kind: Kind(p.Kind), Spec: spec, Pending: pending, CreatedAt: p.CreatedAt}
	if u, err := s.o.DB.UserByID(ctx, p.CreatedBy); err == nil {
		out.CreatedBy = u.Name
	}
	return out, nil
}

// Add configures a publisher of the package (ecosystem, name), which may
// not exist yet (a pending publisher). who must be allowed to change the
// package's settings (registry.CheckPublisherChange).
func (s *Service) Add(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, spec Spec) (*Publisher, error) {
	if !s.Enabled() {
		return nil, s.off()
	}
	is, ok := s.v.issuer(spec.Issuer)
	if !ok {
		return nil, trove.Error(trove.ErrInvalid, "unknown issuer %q: this registry trusts %s", spec.Issuer, strings.Join(s.v.names(), ", "))
	}
	spec, err := spec.validate(is.Kind)
	if err != nil {
		return nil, err
	}
	if err := minter(who); err != nil {
		return nil, err
	}
	n, exists, err := s.o.Registry.CheckPublisherChange(ctx, who, eco, name)
	if err != nil {
		return nil, err
	}
	stored := spec
	stored.Issuer = ""
	claims, err := json.Marshal(stored)
	if err != nil {
		return nil, err
	}
	mp := &meta.Publisher{Ecosystem: eco, Name: n, Kind: string(is.Kind), Issuer: is.Name, Claims: string(claims),
		CreatedBy: who.UserID, AuthLevel: who.Level, CreatedAt: s.o.Now().UTC()}
	err = s.o.DB.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockName(ctx, string(eco), "publishers "+string(n)); err != nil {
			return err
		}
		have, err := tx.PublishersOf(ctx, eco, n)
		if err != nil {
			return err
		}
		if len(have) >= MaxPublishers {
			return trove.Error(trove.ErrInvalid, "%s has %d trusted publishers, the most a package may have: remove one first", n, len(have))
		}
		for _, h := range have {
			if h.Issuer == mp.Issuer && h.Claims == mp.Claims {
				return trove.Error(trove.ErrExists, "%s already has this trusted publisher (id %d)", n, h.ID)
			}
		}
		return tx.InsertPublisher(ctx, mp)
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, mp, !exists)
}

// minter refuses to let a token a publisher minted configure publishers.
func minter(who *access.Principal) error {
	switch {
	case who == nil:
		return fmt.Errorf("%w: configuring trusted publishers needs an API token", access.ErrUnauthenticated)
	case who.PublisherID != 0:
		return fmt.Errorf("%w: a token minted by a trusted publisher cannot configure trusted publishers", access.ErrDenied)
	}
	return nil
}

// List returns the package's publishers; who must be allowed to change
// its settings (publishers name private repositories). Of a name no
// package has yet, users see only the pending publishers they added.
func (s *Service) List(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string) ([]*Publisher, error) {
	if !s.Enabled() {
		return nil, s.off()
	}
	if err := minter(who); err != nil {
		return nil, err
	}
	n, exists, err := s.o.Registry.CheckPublisherRead(ctx, who, eco, name)
	if errors.Is(err, registry.ErrNotAvailable) {
		// A private package's name, to someone who may not know it: as
		// for a name nobody has, with none of their pending publishers.
		return []*Publisher{}, nil
	}
	if err != nil {
		return nil, err
	}
	ps, err := s.o.DB.PublishersOf(ctx, eco, n)
	if err != nil {
		return nil, err
	}
	out := []*Publisher{}
	for _, p := range ps {
		if !exists && !who.Admin && p.CreatedBy != who.UserID {
			continue // another user's pending publisher
		}
		v, err := s.view(ctx, p, !exists)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Remove removes the package's publisher with the id and revokes the
// tokens it minted that are still live. Of a name no package has yet,
// users remove only the pending publishers they added.
func (s *Service) Remove(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name string, id int64) error {
	if !s.Enabled() {
		return s.off()
	}
	if err := minter(who); err != nil {
		return err
	}
	n, exists, err := s.o.Registry.CheckPublisherChange(ctx, who, eco, name)
	if err != nil {
		return err
	}
	err = s.o.DB.Tx(ctx, func(tx *meta.Tx) error {
		if !exists && !who.Admin {
			// Of a pending name, users remove only their own publishers.
			if p, err := tx.PublisherByID(ctx, id); err != nil || p.CreatedBy != who.UserID {
				return meta.ErrNotFound
			}
		}
		return tx.DeletePublisher(ctx, eco, n, id, s.o.Now().UTC())
	})
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%s has no trusted publisher %d", n, id)
	}
	return err
}

// A Minted token is the result of an exchange.
type Minted struct {
	Token     string
	ExpiresAt time.Time
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Publisher int64
}

// Exchange verifies the ID token raw for the audience and mints a token
// publishing the package whose publisher it matches: the package
// (ecosystem, name) if name is not empty, or else the one package of the
// ecosystem any of whose publishers matches (PyPI's exchange names none).
// Refusals are *TokenError (wrapping ErrExchange).
func (s *Service) Exchange(ctx context.Context, raw, audience string, eco trove.Ecosystem, name string) (*Minted, error) {
	if !s.Enabled() {
		return nil, s.off()
	}
	c, err := s.v.Verify(ctx, raw, audience)
	if err != nil {
		return nil, err
	}
	var cands []*meta.Publisher
	if name != "" {
		n, _, err := s.o.Registry.PackageName(ctx, eco, name)
		if err != nil {
			return nil, &TokenError{Code: "invalid-payload", Msg: err.Error()}
		}
		cands, err = s.o.DB.PublishersOf(ctx, eco, n)
		if err != nil {
			return nil, err
		}
	} else if cands, err = s.o.DB.PublishersOfIssuer(ctx, c.Issuer.Name, eco, maxCandidates); err != nil {
		return nil, err
	}
	var found []*meta.Publisher
	var why error
	for _, p := range cands {
		if p.Issuer != c.Issuer.Name {
			continue
		}
		var spec Spec
		if err := json.Unmarshal([]byte(p.Claims), &spec); err != nil {
			return nil, fmt.Errorf("reading publisher %d: %w", p.ID, err)
		}
		if err := spec.match(c.Issuer, c); err != nil {
			why = err
			continue
		}
		if len(found) == 0 || found[0].Name == p.Name {
			found = append(found, p)
		} else {
			return nil, &TokenError{Code: "invalid-publisher", Msg: fmt.Sprintf("the ID token matches trusted publishers of several packages (%s, %s): "+
				"a minted token publishes one package; use the exchange that names the package, or give each package its own workflow", found[0].Name, p.Name)}
		}
	}
	if len(found) == 0 {
		msg := fmt.Sprintf("no trusted publisher of %s matches the ID token (issuer %s, subject %q)", target(eco, name), c.Issuer.Name, c.Subject)
		if why != nil && name != "" {
			msg += ": " + why.Error()
		}
		return nil, &TokenError{Code: "invalid-publisher", Msg: msg}
	}
	p := found[0]
	now := s.o.Now().UTC()
	err = s.o.DB.Tx(ctx, func(tx *meta.Tx) error {
		return tx.UseJTI(ctx, c.Issuer.URL, c.JTI, c.Expiry.Add(s.o.Leeway), now)
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, &TokenError{Code: "invalid-reuse-token", Msg: "this ID token was exchanged already: each is exchanged once; request a new one from the CI"}
	}
	if err != nil {
		return nil, fmt.Errorf("recording the ID token: %w", err)
	}
	pat, err := s.o.Registry.ParsePattern(string(eco) + ":" + string(p.Name))
	if err != nil {
		return nil, fmt.Errorf("scoping the minted token: %w", err)
	}
	secret, tok, err := s.o.Tokens.Create(ctx, p.CreatedBy, access.Spec{
		Description: fmt.Sprintf("trusted publisher %d (%s %s)", p.ID, c.Issuer.Name, c.Subject),
		Packages:    []access.Pattern{pat},
		Actions:     []access.Action{access.Publish},
		ExpiresAt:   now.Add(MintedLifetime),
		AuthLevel:   p.AuthLevel,
		PublisherID: p.ID,
	})
	if err != nil {
		return nil, err
	}
	return &Minted{Token: secret, ExpiresAt: tok.ExpiresAt, Ecosystem: eco, Name: p.Name, Publisher: p.ID}, nil
}

func target(eco trove.Ecosystem, name string) string {
	if name == "" {
		return string(eco) + " packages"
	}
	return string(eco) + ":" + name
}
