package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/trove-dev/trove/internal/limit"
)

// FuzzClientAddr: whatever X-Forwarded-For a client sends through a
// trusted proxy, the client address is the proxy's or one of the header's,
// and never one inside the trusted prefixes unless every hop is.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "198.51.100.1, 203.0.113.9, 10.1.2.3", "garbage, 203.0.113.9", "", ",,,", "::1, 2001:db8::5"} {
		f.Add(s)
	}
	g := &Guards{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:5555"
		r.Header.Set("X-Forwarded-For", xff)
		got := g.clientAddr(r)
		a := limit.RemoteAddr(got)
		if !a.IsValid() {
			t.Fatalf("clientAddr(%q) = %q, not an address", xff, got)
		}
		r.RemoteAddr = "203.0.113.50:1"
		if got := g.clientAddr(r); got != "203.0.113.50:1" {
			t.Errorf("an untrusted peer's X-Forwarded-For %q was believed: %q", xff, got)
		}
	})
}
