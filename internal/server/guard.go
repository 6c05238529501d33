package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// Guards are what the server does against clients that misbehave, before
// any endpoint runs. Connection limits are the listener's (limit.Listener,
// set up by trove serve); the rest is here.
//
//   - Client address: the peer's address, or, when the peer is a trusted
//     proxy, the nearest address in X-Forwarded-For that is not one. The
//     server writes it to r.RemoteAddr, which every later step uses.
//   - Slow bodies: a request body must keep arriving at MinBodyRate bytes a
//     second after BodyGrace: the connection's read deadline is
//     start + grace + received/rate, pushed forward as bytes arrive, so a
//     body that trickles (or stops) fails its next read and the connection
//     is closed. The deadline is set before the endpoint runs, so a body
//     the endpoint never reads cannot hold the connection either.
//   - Rate limits (429 with Retry-After): writes without credentials per
//     client address; sign-in endpoints (adapter.SignIn in the adapter's
//     route table) per client address; publishes (routes ending in
//     .publish or .upload) per credential.
type Guards struct {
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed. Empty: the peer is always the client.
	TrustedProxies []netip.Prefix
	// MinBodyRate in bytes a second, after BodyGrace; 0 turns the slow
	// body guard off.
	MinBodyRate int64
	BodyGrace   time.Duration
	// Rate limits; nil means none.
	AnonymousWrites *limit.Rates // per client address
	Logins          *limit.Rates // per client address
	Publishes       *limit.Rates // per credential
}

// clientAddr returns the client's address for r, following X-Forwarded-For
// only from trusted proxies.
func (g *Guards) clientAddr(r *http.Request) string {
	if len(g.TrustedProxies) == 0 {
		return r.RemoteAddr
	}
	peer := limit.RemoteAddr(r.RemoteAddr)
	if !limit.Contains(g.TrustedProxies, peer) {
		return r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	var client netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a forged or garbled hop: trust nothing left of it
		}
		client = a.Unmap()
		if !limit.Contains(g.TrustedProxies, client) {
			break
		}
	}
	if !client.IsValid() {
		return r.RemoteAddr
	}
	return netip.AddrPortFrom(client, 0).String()
}

// guardBody puts the slow-body guard on r's body, if it has one and the
// connection lets deadlines be set.
func (g *Guards) guardBody(w http.ResponseWriter, r *http.Request, m *Metrics) {
	if g.MinBodyRate <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	b := &slowBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), grace: g.BodyGrace, rate: g.MinBodyRate, m: m}
	if b.rc.SetReadDeadline(b.deadline()) != nil {
		return // not a real connection (a test recorder): nothing to guard
	}
	r.Body = b
}

// A slowBody fails when the body arrives slower than its rate.
type slowBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
	done  bool
	m     *Metrics
}

func (b *slowBody) deadline() time.Time {
	return b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(b.deadline())
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		// The whole body is in. net/http now reads ahead on the
		// connection to notice a client going away; that read must not
		// inherit the deadline.
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.done = true
		b.m.refuse("slow_body")
		err = fmt.Errorf("the request body arrived slower than %d bytes a second (%d bytes in %s): %w",
			b.rate, b.n, time.Since(b.start).Round(time.Millisecond), err)
	}
	return n, err
}

// isRead reports whether the request only reads.
func isRead(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
}

// isPublish reports whether a route publishes (the metrics count these too).
func isPublish(route string) bool {
	return strings.HasSuffix(route, ".publish") || strings.HasSuffix(route, ".upload")
}

// limitRequest applies the rate limits to an authenticated request of a
// route; signIn says whether its endpoint signs users in.
func (g *Guards) limitRequest(r *http.Request, p *access.Principal, signIn bool, route string, m *Metrics) error {
	if isRead(r) {
		return nil
	}
	addr := limit.Key(limit.RemoteAddr(r.RemoteAddr)).String()
	if p == nil {
		if ok, wait := g.AnonymousWrites.Allow(addr); !ok {
			m.refuse("anonymous_write_rate")
			return trove.Retry(wait, trove.ErrTooMany, "too many requests without credentials from your address; try again in %s", roundUp(wait))
		}
	}
	if signIn {
		if ok, wait := g.Logins.Allow(addr); !ok {
			m.refuse("login_rate")
			return trove.Retry(wait, trove.ErrTooMany, "too many sign-ins from your address; try again in %s", roundUp(wait))
		}
	}
	if p != nil && isPublish(route) {
		key := "user:" + p.UserName
		if p.TokenPublicID != "" {
			key = "token:" + p.TokenPublicID
		}
		if ok, wait := g.Publishes.Allow(key); !ok {
			m.refuse("publish_rate")
			return trove.Retry(wait, trove.ErrTooMany, "too many publishes with this credential; try again in %s", roundUp(wait))
		}
	}
	return nil
}

// Limit applies the per-address rate limits to a form of the web
// interface, which is not an adapter's route: every write by a visitor
// without a session draws on AnonymousWrites, and every form that checks
// a password or a second factor (signIn) on Logins, like the adapters'
// sign-in endpoints.
func (g *Guards) Limit(r *http.Request, anonymous, signIn bool, m *Metrics) error {
	var p *access.Principal
	if !anonymous {
		p = &access.Principal{}
	}
	return g.limitRequest(r, p, signIn, "web", m)
}

func roundUp(d time.Duration) time.Duration {
	return max(d.Round(time.Second), time.Second)
}
