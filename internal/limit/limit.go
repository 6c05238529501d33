// Package limit bounds what clients can make the server do: connections
// open at once, overall and per client address ([Listener]); events per
// key over time ([Rates]); and expensive work running at once ([Slots]).
// It is a leaf: the server, the account service and the command line use
// it, and it knows nothing of HTTP or of Trove's domain.
//
// # Client addresses
//
// Limits per client address key IPv4 addresses by the address and IPv6
// addresses by their /64, the block a single host or site usually gets:
// an attacker who owns a /64 holds one key, not 2^64 ([Key]).
package limit

import (
	"net"
	"net/netip"
)

// Key returns the key a client address is limited under: the address
// itself for IPv4 (and IPv4-mapped IPv6), its /64 for other IPv6 addresses.
// The zero Addr, for an address that could not be read, is its own key.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a.WithZone("")
}

// RemoteAddr parses the client address out of an http.Request's RemoteAddr
// ("ip:port", or a bare ip) or a net.Addr's String. It returns the zero
// Addr if s holds neither.
func RemoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// Contains reports whether one of the prefixes holds a.
func Contains(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
