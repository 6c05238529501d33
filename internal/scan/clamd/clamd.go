// Package clamd is a client of ClamAV's daemon, clamd, and the upload
// scanner over it: each uploaded file is streamed to clamd (which unpacks
// archives itself), and a file in which clamd finds a signature rejects
// the upload as malicious, naming the signature.
//
// # Protocol
//
// The client speaks clamd's null-terminated commands (the "z" forms), one
// connection per command: zPING (answered PONG), zVERSION, and zINSTREAM,
// which sends the file as chunks each prefixed by its length as 4 bytes
// big-endian, ended by a zero-length chunk, and is answered "stream: OK",
// "stream: <signature> FOUND", or "stream: <reason> ERROR". A stream
// longer than clamd's StreamMaxLength is answered "INSTREAM size limit
// exceeded": that is an error ([ErrSizeLimit]), not a verdict — the file
// was not scanned, and the upload stays unpublished.
//
// # Limits
//
// Each command has a deadline: ctx's, or [DefaultTimeout]. Answers are
// read up to [MaxReply] bytes. Memory is one [ChunkSize] buffer per scan.
package clamd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Limits of the client.
const (
	// DefaultTimeout bounds a command whose context has no deadline.
	DefaultTimeout = 2 * time.Minute
	// ChunkSize is the size of the INSTREAM chunks sent.
	ChunkSize = 64 << 10
	// MaxReply bounds an answer.
	MaxReply = 4 << 10
)

// ErrSizeLimit is the error of a scan of a stream longer than clamd's
// StreamMaxLength.
var ErrSizeLimit = errors.New("clamd: INSTREAM size limit exceeded (raise StreamMaxLength in clamd.conf above the largest upload)")

// A Client talks to one clamd. It is safe for concurrent use: each
// command has its own connection.
type Client struct {
	network, addr string
}

// New returns a client of the clamd at addr: "unix:/run/clamav/clamd.ctl"
// (a LocalSocket) or "tcp:127.0.0.1:3310" (a TCPSocket).
func New(addr string) (*Client, error) {
	network, a, ok := strings.Cut(addr, ":")
	if !ok || a == "" || network != "unix" && network != "tcp" {
		return nil, fmt.Errorf("clamd address %q: want unix:/path/to/clamd.ctl or tcp:host:port", addr)
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("clamd address %q: %v", addr, err)
		}
	}
	return &Client{network: network, addr: a}, nil
}

// String returns the address as New took it.
func (c *Client) String() string { return c.network + ":" + c.addr }

// dial connects and sets the command's deadline; the connection is closed
// when ctx is done.
func (c *Client) dial(ctx context.Context) (net.Conn, func(), error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to clamd at %s: %w", c, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, func() { stop(); conn.Close() }, nil
}

// command sends a command without a body and returns its answer.
func (c *Client) command(ctx context.Context, cmd string) (string, error) {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	if _, err := conn.Write([]byte("z" + cmd + "\x00")); err != nil {
		return "", c.netError(ctx, cmd, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return "", c.netError(ctx, cmd, err)
	}
	return reply, nil
}

func (c *Client) netError(ctx context.Context, cmd string, err error) error {
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("no answer in time: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("clamd %s at %s: %w", cmd, c, err)
}

// readReply reads an answer up to its NUL (or the end of the connection).
func readReply(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxReply+1))
	if err != nil && len(b) == 0 {
		return "", err
	}
	if len(b) > MaxReply {
		return "", fmt.Errorf("an answer longer than %d bytes", MaxReply)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "", errors.New("no answer")
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// Ping checks that clamd answers.
func (c *Client) Ping(ctx context.Context) error {
	r, err := c.command(ctx, "PING")
	if err != nil {
		return err
	}
	if r != "PONG" {
		return fmt.Errorf("clamd PING at %s: answered %q, want PONG", c, r)
	}
	return nil
}

// Version returns clamd's version and its signature database's
// ("ClamAV 1.4.6/27480/…").
func (c *Client) Version(ctx context.Context) (string, error) {
	return c.command(ctx, "VERSION")
}

// Scan streams r to clamd and returns the signature it found, "" if none.
// An error means the stream was not scanned: clamd was unreachable, timed
// out, reported an error, or (ErrSizeLimit) r was longer than its
// StreamMaxLength.
func (c *Client) Scan(ctx context.Context, r io.Reader) (string, error) {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	werr := sendStream(conn, r)
	var rerr *readError
	if errors.As(werr, &rerr) {
		return "", fmt.Errorf("reading the file for clamd: %w", rerr.err)
	}
	// clamd answers early, and closes, when the stream is too long: its
	// answer explains a failed write.
	reply, err := readReply(conn)
	if err != nil {
		if werr != nil {
			err = werr
		}
		return "", c.netError(ctx, "INSTREAM", err)
	}
	return parseScanReply(reply)
}

// A readError is the failure of the file read, not of the connection.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

func sendStream(conn net.Conn, r io.Reader) error {
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return err
	}
	buf := make([]byte, 4+ChunkSize)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := conn.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return &readError{err}
		}
	}
	_, err := conn.Write([]byte{0, 0, 0, 0})
	return err
}

// parseScanReply reads the answer to INSTREAM.
func parseScanReply(reply string) (string, error) {
	switch {
	case strings.Contains(reply, "INSTREAM size limit exceeded"):
		return "", ErrSizeLimit
	case reply == "stream: OK":
		return "", nil
	case strings.HasPrefix(reply, "stream: ") && strings.HasSuffix(reply, " FOUND"):
		sig := strings.TrimSuffix(strings.TrimPrefix(reply, "stream: "), " FOUND")
		if sig != "" {
			return sig, nil
		}
	case strings.HasSuffix(reply, " ERROR"):
		return "", fmt.Errorf("clamd: %s", reply)
	}
	return "", fmt.Errorf("clamd: unexpected answer %q", reply)
}
