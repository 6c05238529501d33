package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/limit"
)

// Transport is what the server does about how requests reach it (SCVS
// 4.15: TLS for every interaction that carries a credential).
//
//   - A request reaches the server over https when its connection is TLS,
//     or when its peer is a trusted proxy (Guards.TrustedProxies) whose
//     X-Forwarded-Proto says https. Those responses carry
//     Strict-Transport-Security, unless the Host is a loopback name.
//   - Otherwise it came over plain HTTP, from this machine (a loopback
//     client address) or over the network. Over the network, a request
//     that carries a credential (an Authorization header) or is for an
//     endpoint that makes or needs one (adapter.SignIn, adapter.Credential)
//     is refused with 403 before anything reads its credential or body,
//     and the message names the https URL to use. A credential once sent
//     in the clear must be treated as exposed; refusing it makes the
//     misconfigured client fail loudly instead of leaking it at every
//     request.
//   - X-Forwarded-Proto: http from any peer, trusted or not, counts: a
//     proxy on this machine that says its client came over plain HTTP is
//     believed, since believing it can only refuse more.
type Transport struct {
	// HSTS is the max-age of Strict-Transport-Security; 0 sends none.
	HSTS time.Duration
	// HTTPSURL is the server's https base URL, which refusals name; empty
	// when it has none (then they say so).
	HTTPSURL string
}

// A channel is how a request reached the server.
type channel int

const (
	overPlainNetwork channel = iota // plain HTTP from another machine
	overLoopback                    // plain HTTP from this machine
	overTLS                         // https, directly or through a trusted proxy
)

type channelKey struct{}

// channelOf decides how r reached the server. It must run before
// Guards.clientAddr rewrites r.RemoteAddr.
func (g *Guards) channelOf(r *http.Request) channel {
	if r.TLS != nil {
		return overTLS
	}
	protos := forwardedProtos(r)
	peer := limit.RemoteAddr(r.RemoteAddr)
	if limit.Contains(g.TrustedProxies, peer) {
		if len(protos) > 0 && !containsOther(protos, "https") {
			return overTLS
		}
		// A trusted proxy that does not say https: the client's own
		// address (from X-Forwarded-For) decides.
		peer = limit.RemoteAddr(g.clientAddr(r))
	} else if containsOther(protos, "https") {
		return overPlainNetwork
	}
	if peer.IsLoopback() {
		return overLoopback
	}
	return overPlainNetwork
}

// loopbackHost reports whether a Host header names this machine. Such
// responses carry no Strict-Transport-Security: a browser would apply it
// to every server on localhost, whatever its port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// forwardedProtos returns the X-Forwarded-Proto values, in lower case.
func forwardedProtos(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("X-Forwarded-Proto") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// containsOther reports whether list has a value other than want.
func containsOther(list []string, want string) bool {
	for _, v := range list {
		if v != want {
			return true
		}
	}
	return false
}

// markChannel records how r reached the server, for requireTLS, and
// sets Strict-Transport-Security on responses over https.
func (s *Server) markChannel(w http.ResponseWriter, r *http.Request) *http.Request {
	ch := s.opts.Guards.channelOf(r)
	if ch == overTLS && s.opts.Transport.HSTS > 0 && !loopbackHost(r.Host) {
		w.Header().Set("Strict-Transport-Security", "max-age="+strconv.FormatInt(int64(s.opts.Transport.HSTS/time.Second), 10))
	}
	ctx := context.WithValue(r.Context(), channelKey{}, ch)
	return r.WithContext(adapter.WithChannel(ctx, ch.public()))
}

// public returns the channel as adapters and the web interface see it.
func (c channel) public() adapter.Channel {
	switch c {
	case overTLS:
		return adapter.HTTPS
	case overLoopback:
		return adapter.Loopback
	}
	return adapter.PlainNetwork
}

// requireTLS refuses a request that carries or asks for a credential over
// plain HTTP from another machine. a is what its endpoint needs of a
// caller; path is the request's full path.
func (s *Server) requireTLS(r *http.Request, a adapter.Access, path string) error {
	ch, _ := r.Context().Value(channelKey{}).(channel)
	if ch != overPlainNetwork {
		return nil
	}
	if r.Header.Get("Authorization") == "" && a != adapter.SignIn && a != adapter.Credential {
		return nil
	}
	s.opts.Metrics.refuse("plain_http_credentials")
	if u := s.opts.Transport.HTTPSURL; u != "" {
		return fmt.Errorf("%w: credentials are accepted only over https (or plain HTTP on this server's own machine); use %s%s",
			access.ErrDenied, u, redact(path))
	}
	return fmt.Errorf("%w: credentials are accepted only over https (or plain HTTP on this server's own machine), and this server has no https URL; its operator must set up TLS (tls.mode) or a TLS proxy",
		access.ErrDenied)
}
