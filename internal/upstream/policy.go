package upstream

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// A Policy decides which upstream versions clients may see (curation:
// internal/curate). Adapters ask it for every version of a document they
// render, and for the version of an artifact before they fetch it.
type Policy interface {
	// Decide returns one Decision per Version, in the same order.
	Decide(ctx context.Context, vs []Version) ([]Decision, error)
}

// A Version is what a policy knows of an upstream version.
type Version struct {
	Ecosystem trove.Ecosystem
	Name      trove.Name
	Version   string
	// Published is when the upstream says the version was published; the
	// zero time if it does not say.
	Published time.Time
	// InstallScripts reports that installing the version runs code (npm:
	// preinstall, install or postinstall scripts).
	InstallScripts bool
}

// A Decision is a policy's verdict on one version.
type Decision struct {
	Allowed bool
	// Rule names the rule that refused the version ("cooldown",
	// "deny-list", "approved-only", "install-scripts", "malicious").
	Rule string
	// Why is a sentence for the person at the client: what refused it and
	// whom to ask.
	Why string
}

// A Withholder names the versions of an upstream name that the registry
// holds and does not serve: deleted or taken down (a tombstone) or
// quarantined by its administrators (internal/registry). A proxy never
// serves, nor fetches again, such a version from an upstream.
type Withholder interface {
	// Withheld returns the state of each of versions that is withheld,
	// by the version as given.
	Withheld(ctx context.Context, eco trove.Ecosystem, name trove.Name, versions []string) (map[string]trove.State, error)
}

// withheldWhy says, by state, why a withheld version is refused.
var withheldWhy = map[trove.State]string{
	trove.Deleted:   "this registry deleted or took down this version; it is never served again",
	trove.Suspended: "this registry's administrators quarantined this version while they look into it; ask them",
}

// Decide applies the client's policy (without one every version is
// allowed), then refuses the versions the registry withholds (rule
// "deleted" or "quarantined").
func (c *Client) Decide(ctx context.Context, vs []Version) ([]Decision, error) {
	out := make([]Decision, len(vs))
	if c.o.Policy == nil {
		for i := range out {
			out[i].Allowed = true
		}
	} else {
		var err error
		if out, err = c.o.Policy.Decide(ctx, vs); err != nil {
			return nil, err
		}
	}
	if c.o.Withheld == nil {
		return out, nil
	}
	byName := make(map[Version][]int) // by ecosystem and name
	for i, v := range vs {
		k := Version{Ecosystem: v.Ecosystem, Name: v.Name}
		byName[k] = append(byName[k], i)
	}
	for k, idx := range byName {
		versions := make([]string, len(idx))
		for j, i := range idx {
			versions[j] = vs[i].Version
		}
		held, err := c.o.Withheld.Withheld(ctx, k.Ecosystem, k.Name, versions)
		if err != nil {
			return nil, fmt.Errorf("reading which versions of %s the registry withholds: %w", k.Name, err)
		}
		for _, i := range idx {
			if st, ok := held[vs[i].Version]; ok && out[i].Allowed {
				rule := "deleted"
				if st == trove.Suspended {
					rule = "quarantined"
				}
				out[i] = Decision{Rule: rule, Why: withheldWhy[st]}
			}
		}
	}
	return out, nil
}

// A BlockedError refuses an exact request of a version the policy blocks
// (a tarball, a file, a module's .zip): it names the version, the rule
// and, in the decision's Why, whom to ask. It is an access.ErrDenied (403).
type BlockedError struct {
	Version  Version
	Decision Decision
}

func (e *BlockedError) Error() string {
	if e.Decision.Rule == "deleted" || e.Decision.Rule == "quarantined" {
		return fmt.Sprintf("%s %s %s is not served by this registry (%s): %s",
			e.Version.Ecosystem, e.Version.Name, e.Version.Version, e.Decision.Rule, e.Decision.Why)
	}
	return fmt.Sprintf("%s %s %s is blocked by this registry's curation policy (rule %s): %s",
		e.Version.Ecosystem, e.Version.Name, e.Version.Version, e.Decision.Rule, e.Decision.Why)
}

func (e *BlockedError) Unwrap() error { return access.ErrDenied }

// Check decides on one version and returns a *BlockedError if the policy
// blocks it: what adapters call before serving an exact request.
func (c *Client) Check(ctx context.Context, v Version) error {
	ds, err := c.Decide(ctx, []Version{v})
	if err != nil {
		return err
	}
	if len(ds) != 1 {
		return fmt.Errorf("curation policy: %d decisions for one version", len(ds))
	}
	if !ds[0].Allowed {
		return &BlockedError{Version: v, Decision: ds[0]}
	}
	return nil
}

// Covers reports whether a change that the registry's watchers hear of
// under changed, a package name or a curation pattern ("@acme/*", "*"),
// may change what the policy decides about name, with the ecosystem's
// Fold applied to name (the patterns' literal parts are folded). Adapters
// that keep decisions (or pages rendered from them) drop those of every
// name a change covers.
func Covers(eco trove.Ecosystem, changed trove.Name, folded trove.Name) bool {
	if !strings.Contains(string(changed), "*") {
		return changed == folded
	}
	return access.Pattern(string(eco)+":"+string(changed)).Match(eco, folded)
}
