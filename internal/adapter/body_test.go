package adapter

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestReadBodyIgnoresContentLength: a request that claims a large body
// costs memory only for the bytes that arrive.
func TestReadBodyIgnoresContentLength(t *testing.T) {
	r := httptest.NewRequest("PUT", "/x", strings.NewReader(`{"name":"x"}`))
	r.ContentLength = 100 << 20 // claimed, never sent
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body, err := ReadBody(httptest.NewRecorder(), r, 128<<20, "the publish request")
	runtime.ReadMemStats(&after)
	if err != nil || string(body) != `{"name":"x"}` {
		t.Fatalf("ReadBody = %q, %v", body, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("reading a 12-byte body that claimed 100 MiB allocated %d bytes", n)
	}
}
