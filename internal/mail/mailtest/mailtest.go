// Package mailtest runs a real SMTP server (go-smtp) in the test process,
// on 127.0.0.1, and hands the tests the messages it received.
package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/trove-dev/trove/internal/mail"
)

// A Message is one message the server accepted.
type Message struct {
	From    string
	To      []string
	Subject string
	// Body is the decoded text body.
	Body   string
	Header netmail.Header
}

// Server is an SMTP server on a loopback port.
type Server struct {
	Host string
	Port int

	srv    *smtp.Server
	ln     net.Listener
	mu     sync.Mutex
	msgs   []Message
	refuse bool
	signal chan struct{}
}

// Start starts a server on 127.0.0.1:0; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{signal: make(chan struct{}, 1), ln: ln}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go s.srv.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Config returns a mail configuration that sends to this server.
func (s *Server) Config() mail.Config {
	return mail.Config{Host: s.Host, Port: s.Port, From: "Trove <trove@localhost>", TLS: "none", Timeout: 5 * time.Second}
}

// Close stops the server: later sends fail to connect.
func (s *Server) Close() {
	s.ln.Close() // Serve may not have taken the listener yet
	s.srv.Close()
}

// Refuse makes the server refuse (on) or accept (off) every message with
// a temporary error at the end of its data.
func (s *Server) Refuse(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = on
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the messages once at least n were accepted, or fails the
// test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.signal:
		case <-deadline:
			t.Fatalf("mailtest: %d messages received within %s, want %d", len(s.Messages()), timeout, n)
		}
	}
}

func (s *Server) accept(m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailtest: refusing for now"}
	}
	s.msgs = append(s.msgs, m)
	select {
	case s.signal <- struct{}{}:
	default:
	}
	return nil
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "mailtest: unreadable message: " + err.Error()}
	}
	m.From, m.To = ss.from, ss.to
	return ss.s.accept(m)
}

// parse reads the headers and the decoded text body of a message.
func parse(raw []byte) (Message, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(msg.Body)
	case "base64":
		return Message{}, errors.New("base64 bodies are not expected from Trove")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Message{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, err
	}
	return Message{Subject: subject, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Header: msg.Header}, nil
}
