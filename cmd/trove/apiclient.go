package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// defaultServerURL is the --url default of the commands that talk to a
// running server: $TROVE_URL, else the default listen address.
func defaultServerURL() string {
	if u := os.Getenv("TROVE_URL"); u != "" {
		return u
	}
	return "http://127.0.0.1:8080"
}

// apiToken returns $TROVE_TOKEN, or an error telling how to make a token
// with the action the command needs.
func apiToken(action string) (string, error) {
	token := os.Getenv("TROVE_TOKEN")
	if token == "" {
		return "", hinted{errors.New("no API token: set TROVE_TOKEN"), "create one with: trove token create --user NAME --scope ECOSYSTEM:NAME --action " + action}
	}
	return token, nil
}

// packageURL returns the API URL of a package (and a version, if given)
// on server, each part path-escaped.
func packageURL(server, eco, name string, more ...string) string {
	u := strings.TrimRight(server, "/") + "/api/v1/packages/" + url.PathEscape(eco) + "/" + url.PathEscape(name)
	for _, m := range more {
		u += "/" + url.PathEscape(m)
	}
	return u
}

// callAPI sends a request to Trove's API, with body as JSON if it is not
// nil, and returns the body of a 2xx answer; other answers become errors
// with the server's message.
func callAPI(ctx context.Context, method, u, token, server string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, hinted{err, "is the server running at " + server + "? set --url or TROVE_URL"}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}
