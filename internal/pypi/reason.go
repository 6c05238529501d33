package pypi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Upload errors carry their message in the HTTP reason phrase as well as
// in the body. twine 4 prints only
//
//	HTTPError: 409 Conflict from https://host/legacy/
//	<reason phrase>
//
// unless run with --verbose, and warehouse has always answered uploads
// this way ("400 File already exists (…)"). net/http writes only the
// standard phrases, so writeWithReason takes over the connection.
const (
	// maxReasonLen caps the reason phrase; the body has the whole message.
	maxReasonLen = 300
	// lingerTimeout and maxLingerBytes bound how long, and how much of an
	// unread request body, is read after an error response, so that the
	// client sees the response instead of a connection reset.
	lingerTimeout  = 10 * time.Second
	maxLingerBytes = 256 << 20
	writeTimeout   = 10 * time.Second
)

// reasonPhrase turns msg into a reason phrase: one line of printable
// ASCII, at most maxReasonLen bytes (RFC 9112: reason-phrase is
// HTAB / SP / VCHAR / obs-text; obs-text is avoided because clients decode
// it differently).
func reasonPhrase(status int, msg string) string {
	var b strings.Builder
	space := false
	for _, r := range msg {
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			space = b.Len() > 0
			continue
		case r < ' ' || r == 0x7f:
			continue
		case r >= 0x80:
			r = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > maxReasonLen {
			break
		}
	}
	s := b.String()
	if len(s) > maxReasonLen {
		s = s[:maxReasonLen-3] + "..."
	}
	if s == "" {
		s = http.StatusText(status)
	}
	return s
}

// writeWithReason writes a complete HTTP/1.1 error response whose reason
// phrase carries msg, on the hijacked connection, and closes the
// connection. It reports false, having written nothing, if the connection
// cannot be hijacked (HTTP/2); the caller then writes a normal response.
func writeWithReason(w http.ResponseWriter, status int, msg string) bool {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	body := msg + "\n"
	hdr := w.Header().Clone()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Connection", "close")
	hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	hdr.Del("Transfer-Encoding")
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	fmt.Fprintf(brw.Writer, "HTTP/1.1 %03d %s\r\n", status, reasonPhrase(status, msg))
	hdr.Write(brw.Writer)
	brw.WriteString("\r\n")
	brw.WriteString(body)
	if err := brw.Flush(); err != nil {
		conn.Close()
		return true
	}
	go linger(conn, brw.Reader)
	return true
}

// linger closes the connection's sending side, reads (and drops) what the
// client still sends, bounded in time and bytes, and closes it. Closing a
// socket with unread data makes the kernel send a reset, which can destroy
// the response before the client reads it: a client still sending a large
// file would see "connection reset" instead of the error.
func linger(conn net.Conn, r *bufio.Reader) {
	defer conn.Close()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, r, maxLingerBytes)
}
