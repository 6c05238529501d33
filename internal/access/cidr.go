package access

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
)

// MaxCIDRs bounds a token's address allow-list.
const MaxCIDRs = 32

// ParseCIDRs parses a token's address allow-list: CIDR prefixes such as
// 10.0.0.0/8 or 2001:db8::/32, or single addresses (a /32 or /128). Host
// bits are cleared (10.1.2.3/8 is 10.0.0.0/8). Every bad entry is
// reported, in one error wrapping trove.ErrInvalid.
func ParseCIDRs(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, fmt.Sprintf("%q", s))
	}
	if len(bad) > 0 {
		return nil, trove.Error(trove.ErrInvalid, "%s: not an address or CIDR prefix (write them like 10.0.0.0/8, 192.0.2.1/32 or 2001:db8::/32)", strings.Join(bad, ", "))
	}
	if len(out) > MaxCIDRs {
		return nil, trove.Error(trove.ErrInvalid, "a token may list at most %d address prefixes, not %d", MaxCIDRs, len(out))
	}
	return out, nil
}

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the address of the client a
// request came from (after trusted proxies), which [Tokens.Authenticate]
// checks against a token's allow-list.
func WithClientAddr(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, a.Unmap())
}

// clientAddr returns the address WithClientAddr put in ctx, if any.
func clientAddr(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(clientAddrKey{}).(netip.Addr)
	return a, ok && a.IsValid()
}

// checkAddr returns nil if a token limited to cidrs may be used by the
// client of ctx. A token with an allow-list is refused when the client's
// address is unknown: the check fails closed. The refusal names the rule
// and the address, never the token.
func checkAddr(ctx context.Context, cidrs []netip.Prefix) error {
	if len(cidrs) == 0 {
		return nil
	}
	a, ok := clientAddr(ctx)
	if !ok {
		return fmt.Errorf("%w: this token may only be used from %s, and the client's address is unknown here", ErrDenied, prefixList(cidrs))
	}
	for _, p := range cidrs {
		if p.Contains(a) {
			return nil
		}
	}
	return fmt.Errorf("%w: this token may only be used from %s, and this request came from %s (the token's address allow-list)", ErrDenied, prefixList(cidrs), a)
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
