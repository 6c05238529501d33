package limit

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:1234":               "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":   "2001:db8:1:2::",
		"[2001:db8:1:2::9%eth0]:443":   "2001:db8:1:2::",
		"[::ffff:192.0.2.7]:80":        "192.0.2.7",
		"198.51.100.1":                 "198.51.100.1",
		"2001:db8:ffff:ffff:1::1":      "2001:db8:ffff:ffff::",
		"not an address":               "invalid IP",
		"pipe":                         "invalid IP",
		"[fe80::1%lo]:99":              "fe80::",
		"127.0.0.1:0":                  "127.0.0.1",
		"[2001:db8::1]:http":           "2001:db8::",
		"2001:db8:aaaa:bbbb:cccc::/64": "invalid IP",
	} {
		if got := Key(RemoteAddr(in)).String(); got != want {
			t.Errorf("Key(RemoteAddr(%q)) = %s, want %s", in, got, want)
		}
	}
}

// dialFrom connects to ln from the loopback address src.
func dialFrom(t *testing.T, ln net.Listener, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether the server answered c with the refusal.
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false // nothing to read: the connection is being served
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusServiceUnavailable
}

// TestListenerLimits: connections beyond the per-address bound, the busy
// bound and the overall bound are refused with a 503 at accept; closing
// one frees its place.
func TestListenerLimits(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, ListenerOptions{Max: 8, PerAddr: 3, BusyPerAddr: 1,
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}})
	defer ln.Close()
	var mu sync.Mutex
	var served []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			served = append(served, c)
			mu.Unlock()
		}
	}()
	var a []net.Conn
	for range 3 {
		a = append(a, dialFrom(t, inner, "127.0.0.2"))
	}
	for i, c := range a {
		if refused(t, c) {
			t.Fatalf("connection %d of 3 from one address refused", i+1)
		}
	}
	if !refused(t, dialFrom(t, inner, "127.0.0.2")) {
		t.Errorf("a 4th connection from an address allowed 3 was served")
	}
	if refused(t, dialFrom(t, inner, "127.0.0.3")) {
		t.Errorf("another address was refused")
	}
	// 4 open of 8: not busy yet. Two more from .4 reach 6 = busy (3/4).
	dialFrom(t, inner, "127.0.0.4")
	dialFrom(t, inner, "127.0.0.4")
	time.Sleep(100 * time.Millisecond)
	if !refused(t, dialFrom(t, inner, "127.0.0.4")) {
		t.Errorf("while busy, an address holding more than the busy bound was served")
	}
	if refused(t, dialFrom(t, inner, "127.0.0.5")) {
		t.Errorf("while busy, an address holding nothing was refused")
	}
	// 7 open. The exempt proxy address is bounded only by Max.
	if refused(t, dialFrom(t, inner, "127.0.0.9")) {
		t.Errorf("the exempt address was refused below Max")
	}
	if got := ln.Open(); got != 8 {
		t.Errorf("Open() = %d, want 8", got)
	}
	if !refused(t, dialFrom(t, inner, "127.0.0.9")) {
		t.Errorf("the exempt address was served beyond Max")
	}
	if !refused(t, dialFrom(t, inner, "127.0.0.6")) {
		t.Errorf("a new address was served beyond Max")
	}
	// Closing a served connection frees its place.
	mu.Lock()
	served[0].Close()
	mu.Unlock()
	if got := ln.Open(); got != 7 {
		t.Errorf("Open() after a close = %d, want 7", got)
	}
	if refused(t, dialFrom(t, inner, "127.0.0.7")) {
		t.Errorf("a freed place was not reusable")
	}
	if got := ln.Refused(); got != 4 {
		t.Errorf("Refused() = %d, want 4", got)
	}
}

// TestListenerReadFrom: the wrapped connection still offers ReadFrom, which
// net/http uses to send files with sendfile.
func TestListenerReadFrom(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, ListenerOptions{Max: 2, PerAddr: 2})
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, ok := c.(io.ReaderFrom); !ok {
			c.Write([]byte("no ReadFrom"))
			return
		}
		c.(io.ReaderFrom).ReadFrom(strings.NewReader("sent"))
	}()
	c := dialFrom(t, inner, "127.0.0.1")
	b, _ := io.ReadAll(c)
	if string(b) != "sent" {
		t.Errorf("read %q, want %q", b, "sent")
	}
}

func TestRates(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l := NewRates(Rate{N: 3, Per: time.Minute}, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d of 3 refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 20*time.Second {
		t.Errorf("4th event = %v, wait %s; want refused with a wait up to 20s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Errorf("another key was refused")
	}
	now = now.Add(20 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Errorf("after Per/N the key was still refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Errorf("a refused event was counted as taken, or the bucket overfilled")
	}
	var unlimited *Rates
	if ok, _ := unlimited.Allow("x"); !ok {
		t.Errorf("a nil Rates refused")
	}
}

func TestRatesForgetFullBuckets(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l := NewRates(Rate{N: 1, Per: time.Second}, func() time.Time { return now })
	for i := range MaxKeys {
		l.Allow(strconv.Itoa(i))
	}
	now = now.Add(2 * time.Second)
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Errorf("after every bucket refilled, Len() = %d, want 1", n)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"60/1m": {60, time.Minute}, " 5 / 1s ": {5, time.Second}, "0": {}, "": {},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"60", "x/1m", "0/1m", "-1/1m", "5/0s", "5/forever"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) = nil error", bad)
		}
	}
	if s := (Rate{60, time.Minute}).String(); s != "60/1m0s" {
		t.Errorf("String() = %q", s)
	}
}

func TestSlots(t *testing.T) {
	s := NewSlots(2, 50*time.Millisecond)
	r1, ok1 := s.Acquire(context.Background())
	_, ok2 := s.Acquire(context.Background())
	if !ok1 || !ok2 || s.InUse() != 2 {
		t.Fatalf("two free slots: %v %v, in use %d", ok1, ok2, s.InUse())
	}
	start := time.Now()
	if _, ok := s.Acquire(context.Background()); ok {
		t.Fatalf("a third slot was taken")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %s, before the wait", d)
	}
	go func() { time.Sleep(10 * time.Millisecond); r1() }()
	if _, ok := s.Acquire(context.Background()); !ok {
		t.Errorf("a slot freed during the wait was not taken")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := NewSlots(1, time.Hour).Acquire(ctx); !ok {
		t.Errorf("a free slot was refused because the context ended")
	}
}

// FuzzRemoteAddr: any peer address string parses to a valid address or to
// the zero one, and its key is stable.
func FuzzRemoteAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.7:1234", "[2001:db8::1%eth0]:443", "[::ffff:1.2.3.4]:80", "pipe", "", "1.2.3.4", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := RemoteAddr(s)
		if a.IsValid() && a.Is4In6() {
			t.Errorf("RemoteAddr(%q) = %v, not unmapped", s, a)
		}
		if k := Key(a); Key(k) != k {
			t.Errorf("Key(Key(%v)) = %v, want %v", a, Key(k), k)
		}
	})
}
