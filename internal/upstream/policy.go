package upstream

import (
	"context"
	"time"

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

// Decide applies the client's policy; without one every version is
// allowed.
func (c *Client) Decide(ctx context.Context, vs []Version) ([]Decision, error) {
	if c.o.Policy == nil {
		out := make([]Decision, len(vs))
		for i := range out {
			out[i].Allowed = true
		}
		return out, nil
	}
	return c.o.Policy.Decide(ctx, vs)
}
