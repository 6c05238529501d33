package account

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// A zone is what the test DNS server knows of one name.
type zone struct {
	mx       []string // hosts; "." is the null MX
	a        []netip.Addr
	servfail bool
}

// dnsServer is a tiny authoritative DNS server on 127.0.0.1 (UDP) for
// tests: names it does not know are NXDOMAIN; a known name without records
// of the asked type answers with none (NODATA).
type dnsServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	z    map[string]zone
	asks int
}

func startDNS(t *testing.T, zones map[string]zone) *dnsServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: c, z: make(map[string]zone)}
	for n, z := range zones {
		s.z[strings.ToLower(n)+"."] = z
	}
	t.Cleanup(func() { c.Close() })
	go s.serve()
	return s
}

func (s *dnsServer) addr() string { return s.conn.LocalAddr().String() }

func (s *dnsServer) set(name string, z zone) {
	s.mu.Lock()
	s.z[name+"."] = z
	s.mu.Unlock()
}

func (s *dnsServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if out, ok := s.answer(buf[:n]); ok {
			s.conn.WriteToUDP(out, from)
		}
	}
}

func (s *dnsServer) answer(req []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	s.asks++
	z, known := s.z[strings.ToLower(q.Name.String())]
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	switch {
	case z.servfail:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	if known && !z.servfail {
		for i, m := range z.mx {
			if q.Type == dnsmessage.TypeMX {
				b.MXResource(rr, dnsmessage.MXResource{Pref: uint16(10 * i), MX: dnsmessage.MustNewName(strings.TrimSuffix(m, ".") + ".")})
			}
		}
		for _, a := range z.a {
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
