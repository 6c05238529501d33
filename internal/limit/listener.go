package limit

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ListenerOptions configure a Listener.
type ListenerOptions struct {
	// Max bounds the connections open at once; it must stay below the
	// process's file descriptor limit, which the rest of the server shares.
	Max int
	// PerAddr bounds the connections open at once from one client address
	// ([Key]). When more than three quarters of Max are open the server is
	// busy, and an address may then open new connections only while it
	// holds fewer than BusyPerAddr: a crowd of addresses that each stay
	// under PerAddr cannot take the last slots from everyone else.
	PerAddr int
	// BusyPerAddr is the per-address bound while busy; 0 means 8.
	BusyPerAddr int
	// Exempt lists addresses counted only in Max, never per address:
	// trusted reverse proxies, which carry many clients' connections.
	Exempt []netip.Prefix
}

// A Listener refuses connections beyond its limits as it accepts them: it
// answers them with a short HTTP 503 and closes them, so that they never
// reach the HTTP server and cost nothing but the accept. Its connections
// count against the limits until they are closed.
type Listener struct {
	net.Listener
	o ListenerOptions

	mu     sync.Mutex
	open   int
	byAddr map[netip.Addr]int

	refused atomic.Int64
}

// NewListener returns ln with limits.
func NewListener(ln net.Listener, o ListenerOptions) *Listener {
	if o.BusyPerAddr <= 0 {
		o.BusyPerAddr = 8
	}
	return &Listener{Listener: ln, o: o, byAddr: make(map[netip.Addr]int)}
}

// refusal is what a refused connection is told. HTTP/1.1 clients show the
// status; the connection is closed right after.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 58\r\n\r\ntoo many connections open: close some and try again later\n"

// Accept returns the next connection within the limits, refusing others.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := RemoteAddr(c.RemoteAddr().String())
		exempt := Contains(l.o.Exempt, a)
		k := Key(a)
		if l.admit(k, exempt) {
			return &conn{Conn: c, l: l, key: k, exempt: exempt}, nil
		}
		l.refused.Add(1)
		// Answer and close off the accept loop, which must keep draining
		// the kernel's queue: while it is full, new clients' connections
		// wait for their retransmission.
		go refuse(c)
	}
}

// refuse answers a refused connection and closes it. A fresh socket's send
// buffer takes the answer at once; the deadline only bounds the unexpected.
func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write([]byte(refusal))
	c.Close()
}

func (l *Listener) admit(k netip.Addr, exempt bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.o.Max {
		return false
	}
	if !exempt {
		n := l.byAddr[k]
		if n >= l.o.PerAddr || l.open >= l.o.Max*3/4 && n >= l.o.BusyPerAddr {
			return false
		}
		l.byAddr[k] = n + 1
	}
	l.open++
	return true
}

func (l *Listener) release(k netip.Addr, exempt bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if exempt {
		return
	}
	if n := l.byAddr[k]; n > 1 {
		l.byAddr[k] = n - 1
	} else {
		delete(l.byAddr, k)
	}
}

// Open returns the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused returns the number of connections refused so far.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// conn releases its place in the limits once, when closed.
type conn struct {
	net.Conn
	l      *Listener
	key    netip.Addr
	exempt bool
	once   sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.exempt) })
	return err
}

// CloseWrite half-closes the connection when the underlying one can
// (net/http uses it to end a response cleanly).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the kernel's sendfile for responses copied from files.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
