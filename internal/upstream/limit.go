package upstream

import (
	"context"
	"time"

	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// allow applies the limit on upstream requests per client (Options.Rates):
// every request for a name Trove does not hold makes Trove ask its
// upstreams, so a client inventing names would otherwise make it do so
// without end. Cached answers are not counted, nor work of no client.
func (c *Client) allow(ctx context.Context) error {
	key := limit.ClientFrom(ctx)
	if c.o.Rates == nil || key == "" {
		return nil
	}
	if ok, wait := c.o.Rates.Allow(key); !ok {
		return trove.Retry(wait, trove.ErrTooMany, "too many requests from your address for packages this registry does not hold yet (each one asks an upstream registry); try again in %s",
			max(wait.Round(time.Second), time.Second))
	}
	return nil
}

// Allow applies the limit on upstream requests per client to a request an
// adapter makes to an upstream itself (a Go checksum database it relays):
// trove.ErrTooMany, with the time to wait, once the client has used it up.
func (c *Client) Allow(ctx context.Context) error { return c.allow(ctx) }
