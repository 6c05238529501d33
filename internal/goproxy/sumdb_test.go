package goproxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/tlog"
)

// clientOps is sumdb.ClientOps over HTTP to a base URL, with memory for
// the config and cache.
type clientOps struct {
	t      testing.TB
	base   string
	vkey   string
	mu     sync.Mutex
	config map[string][]byte
	cache  map[string][]byte
}

func (c *clientOps) ReadRemote(path string) ([]byte, error) {
	resp, err := http.Get(c.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, &httpError{resp.StatusCode, string(b)}
	}
	return b, nil
}

type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string { return http.StatusText(e.code) + ": " + e.body }

func (c *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(c.vkey), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config[file], nil
}

func (c *clientOps) WriteConfig(file string, old, new []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if string(c.config[file]) != string(old) {
		return sumdb.ErrWriteConflict
	}
	c.config[file] = new
	return nil
}

func (c *clientOps) ReadCache(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cache[file]; ok {
		return b, nil
	}
	return nil, errNoCache
}

var errNoCache = &httpError{404, "not cached"}

func (c *clientOps) WriteCache(file string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache[file] = data
}

func (c *clientOps) Log(msg string)           { c.t.Log(msg) }
func (c *clientOps) SecurityError(msg string) { c.t.Errorf("security error: %s", msg) }

func TestSumdbClient(t *testing.T) {
	e := newTestEnv(t)
	var want []string
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		e.publish(t, modA, v)
		entries, err := e.Registry.LogEntries(context.Background(), "go", modA, v)
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := e.DB.ReadLogRecords(context.Background(), entries[0].ID, 1)
		lines := strings.Split(strings.TrimSpace(string(recs[0])), "\n")
		want = append(want, lines[len(lines)-2:]...)
	}
	e.publish(t, "example.test/libb", "v0.1.0")

	base := e.url + "/sumdb/" + logName + "/"
	if r := e.get(t, "/sumdb/"+logName+"/supported"); r.StatusCode != 200 || r.body != "" {
		t.Errorf("supported: %s %q, want 200 and no body", r.Status, r.body)
	}
	if r := e.get(t, "/sumdb/sum.example.org/supported"); r.StatusCode != 404 {
		t.Errorf("supported for another database: %s, want 404 (this proxy does not relay it)", r.Status)
	}

	ops := &clientOps{t: t, base: base, vkey: e.vkey, config: map[string][]byte{}, cache: map[string][]byte{}}
	c := sumdb.NewClient(ops)
	for i, v := range []string{"v1.0.0", "v1.1.0"} {
		lines, err := c.Lookup(modA, v)
		if err != nil {
			t.Fatalf("Lookup(%s, %s): %v", modA, v, err)
		}
		if len(lines) != 1 || lines[0] != want[2*i] {
			t.Errorf("Lookup(%s, %s) = %q, want %q", modA, v, lines, want[2*i])
		}
		lines, err = c.Lookup(modA, v+"/go.mod")
		if err != nil || len(lines) != 1 || lines[0] != want[2*i+1] {
			t.Errorf("Lookup(%s, %s/go.mod) = %q, %v, want %q", modA, v, lines, err, want[2*i+1])
		}
	}
	if _, err := c.Lookup(modA, "v9.9.9"); err == nil || !strings.Contains(err.Error(), "Not Found") {
		t.Errorf("Lookup of an unknown version = %v, want not found", err)
	}
	if _, err := c.Lookup("example.test/none", "v1.0.0"); err == nil {
		t.Error("Lookup of an unknown module succeeded")
	}

	// Tiles and records beyond the signed tree are not served, even
	// when the database has them.
	n := e.log.Latest().Tree.N
	tile := tlog.TileForIndex(8, tlog.StoredHashIndex(0, n-1))
	if r := e.get(t, "/sumdb/"+logName+"/"+tile.Path()); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: %s, want 200 immutable", tile.Path(), r.Status)
	}
	e.publish(t, modA, "v1.2.0") // signs
	gomod := goMod(modA)
	z := moduleZip(t, modA, "v1.3.0", map[string]string{"go.mod": string(gomod)})
	if r := e.post(t, e.token, uploadForm(modA, "v1.3.0", gomod, z)); r.StatusCode != 201 {
		t.Fatal(r.Status, r.body)
	} // not signed: the record is in the database only
	size := e.log.Latest().Tree.N
	// Past what the database holds: not found.
	beyond := tlog.Tile{H: 8, L: 0, N: 0, W: int(size) + 2}
	if r := e.get(t, "/sumdb/"+logName+"/"+beyond.Path()); r.StatusCode != 404 {
		t.Errorf("GET %s beyond the database's %d records: %s, want 404", beyond.Path(), size+1, r.Status)
	}
	data := tlog.Tile{H: 8, L: -1, N: 0, W: int(size) + 2}
	if r := e.get(t, "/sumdb/"+logName+"/"+data.Path()); r.StatusCode != 404 {
		t.Errorf("GET %s beyond the database's %d records: %s, want 404", data.Path(), size+1, r.Status)
	}
	// A record the database holds but no one signed yet (another
	// replica's, a moment ago): the server signs first, then serves it in
	// the new tree, never outside a signed one.
	r := e.get(t, "/sumdb/"+logName+"/lookup/example.test/liba@v1.3.0")
	if r.StatusCode != 200 || !strings.Contains(r.body, fmt.Sprintf("go.sum database tree\n%d\n", size+1)) {
		t.Errorf("lookup of a record not signed yet: %s %s, want 200 in a tree of %d", r.Status, r.body, size+1)
	}
	if n := e.log.Latest().Tree.N; n != size+1 {
		t.Errorf("after the lookup the latest tree has %d records, want %d", n, size+1)
	}
	if r := e.get(t, "/sumdb/"+logName+"/lookup/example.test/liba@bad"); r.StatusCode != 400 {
		t.Errorf("lookup with bad syntax: %s, want 400", r.Status)
	}
	if r := e.get(t, "/sumdb/"+logName+"/nothing"); r.StatusCode != 404 {
		t.Errorf("unknown sumdb path: %s, want 404", r.Status)
	}
}
