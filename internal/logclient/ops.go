package logclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/trove-dev/trove/internal/translog"
)

// MaxRemoteSize bounds any one response of the log server (a full entry
// bundle holds at most 256 records of 64 KiB).
const MaxRemoteSize = 256*(2+0xffff) + 1024

// HTTPOps is the Ops of a command-line client: the log over HTTP at Base
// (ending in "/", such as "https://trove.example/log/"), and the state in
// the directory Dir. Security errors are written to Stderr. A Token, if
// set, is sent as a bearer token: the server then answers lookups about
// the private packages it may read, with their full records, which the
// client proves like any other.
type HTTPOps struct {
	Base   string
	Dir    string
	Token  string
	Client *http.Client // nil: http.DefaultClient
	Stderr io.Writer    // nil: os.Stderr
	Ctx    context.Context

	mu sync.Mutex // serializes WriteConfig within the process
}

// ReadRemote fetches Base+path.
func (o *HTTPOps) ReadRemote(path string) ([]byte, error) {
	ctx := o.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.Base+path, nil)
	if err != nil {
		return nil, err
	}
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	c := o.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRemoteSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", req.URL, err)
	}
	if len(body) > MaxRemoteSize {
		return nil, fmt.Errorf("%s: response larger than %d bytes", req.URL, MaxRemoteSize)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s: %w (%s)", req.URL, ErrNotFound, strings.TrimSpace(string(body)))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	return body, nil
}

// ReadConfig reads Dir/file.
func (o *HTTPOps) ReadConfig(file string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(o.Dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// WriteConfig replaces Dir/file atomically (a rename). Two processes
// writing at once may both pass the conflict check; the last rename wins,
// and either checkpoint was verified against the one before.
func (o *HTTPOps) WriteConfig(file string, old, new []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	cur, err := o.ReadConfig(file)
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, old) {
		return ErrWriteConflict
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	return translog.WriteFileAtomic(filepath.Join(o.Dir, file), new, 0o600)
}

// SecurityError writes msg to Stderr.
func (o *HTTPOps) SecurityError(msg string) {
	w := o.Stderr
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprint(w, msg)
}
