package account

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// TestDomainCheckLocalDNS asks a real DNS server on 127.0.0.1 through
// net.Resolver, as production does, about domains in each state.
func TestDomainCheckLocalDNS(t *testing.T) {
	dns := startDNS(t, map[string]zone{
		"mail.test":   {mx: []string{"mx.mail.test"}},
		"aonly.test":  {a: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		"v6only.test": {a: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		"empty.test":  {},
		"nullmx.test": {mx: []string{"."}, a: []netip.Addr{netip.MustParseAddr("192.0.2.2")}},
		"broken.test": {servfail: true},
	})
	r, err := NewResolver(dns.addr())
	if err != nil {
		t.Fatal(err)
	}
	c := NewDomainChecker(r)
	for _, tc := range []struct {
		domain string
		want   DomainStatus
		reason string
	}{
		{"mail.test", DomainAlive, ""},
		{"MAIL.test", DomainAlive, ""},
		{"aonly.test", DomainAlive, ""},
		{"v6only.test", DomainAlive, ""},
		{"gone.test", DomainDead, "does not exist"},
		{"empty.test", DomainDead, "no mail server (MX) and no address"},
		{"nullmx.test", DomainDead, "null MX"},
		{"broken.test", DomainUnknown, "looking up"},
	} {
		got, why := c.Check(context.Background(), tc.domain)
		if got != tc.want || !strings.Contains(why, tc.reason) {
			t.Errorf("Check(%s) = %s, %q; want %s, containing %q", tc.domain, got, why, tc.want, tc.reason)
		}
	}
}

func TestNewResolverBadServer(t *testing.T) {
	if _, err := NewResolver("[::1"); err == nil || !strings.Contains(err.Error(), "accounts.dns_server") {
		t.Fatalf("err = %v, want one naming accounts.dns_server", err)
	}
	r, err := NewResolver("127.0.0.1")
	if err != nil || r == nil {
		t.Fatalf("a host without port: %v", err)
	}
}
