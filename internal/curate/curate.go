package curate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Options configure a Service.
type Options struct {
	DB       *meta.DB
	Registry *registry.Service
	// Contact is who to ask about a blocked version (an address or a
	// page), named in refusals; "" names the registry's curators.
	Contact string
	Now     func() time.Time // nil: time.Now
}

// MaxCachedPackages bounds how many packages' curation state a Service
// keeps; past it the cache starts afresh.
const MaxCachedPackages = 100_000

// A Service decides on upstream versions and records curators'
// decisions. It is safe for concurrent use.
type Service struct {
	db      *meta.DB
	reg     *registry.Service
	contact string
	now     func() time.Time

	mu   sync.Mutex
	gen  map[trove.Ecosystem]uint64 // bumped by every invalidation of the ecosystem
	ecos map[trove.Ecosystem]*ecoState
	pkgs map[pkgKey]*pkgState
}

type pkgKey struct {
	eco  trove.Ecosystem
	name trove.Name
}

// New returns a Service, registers its kinds of log record with the
// registry and watches the registry's changes to drop what it caches.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Registry == nil {
		return nil, errors.New("curate: DB and Registry are required")
	}
	s := &Service{db: o.DB, reg: o.Registry, contact: o.Contact, now: o.Now,
		gen: make(map[trove.Ecosystem]uint64), ecos: make(map[trove.Ecosystem]*ecoState), pkgs: make(map[pkgKey]*pkgState)}
	if s.now == nil {
		s.now = time.Now
	}
	o.Registry.Register(kindPolicy, policyRecorder{})
	o.Registry.Register(kindCurate, markRecorder{})
	o.Registry.Watch(s.invalidate)
	return s, nil
}

// invalidate drops the cached state a change of (eco, name) may affect:
// a pattern's (the name holds '*') is the ecosystem's, a name's its own.
func (s *Service) invalidate(eco trove.Ecosystem, name trove.Name) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen[eco]++
	if isPattern(string(name)) {
		delete(s.ecos, eco)
		return
	}
	delete(s.pkgs, pkgKey{eco, name})
}

// rules returns the rules of an ecosystem the registry knows.
func (s *Service) rules(eco trove.Ecosystem) (registry.Rules, error) {
	r := s.reg.Rules(eco)
	if r == nil {
		return nil, trove.Error(trove.ErrInvalid, "unknown ecosystem %q", eco)
	}
	return r, nil
}

// authorize reports whether who may curate the target: a token with the
// curate action on it, of an administrator or a curator.
func (s *Service) authorize(ctx context.Context, who *access.Principal, t target) error {
	eco, _, _ := cutPattern(t.pattern)
	key := trove.Name(t.pattern[len(eco)+1:])
	switch {
	case who == nil:
		return fmt.Errorf("%w: curation needs an API token with the curate action", access.ErrUnauthenticated)
	case !who.Allows(access.Curate, trove.Ecosystem(eco), key):
		return fmt.Errorf("%w: this token's scope does not allow curate on %s (create one with: trove token create --action curate --scope %s)", access.ErrDenied, t.pattern, t.pattern)
	case who.Admin:
		return nil
	}
	ok, err := s.db.IsCurator(ctx, who.UserID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: user %s is not a curator: an administrator can make them one (trove curator add %s)", access.ErrDenied, who.UserName, who.UserName)
	}
	return nil
}

func cutPattern(p access.Pattern) (eco, name string, ok bool) {
	return strings.Cut(string(p), ":")
}

func isPattern(name string) bool {
	return strings.Contains(name, "*")
}
