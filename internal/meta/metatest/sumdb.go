package metatest

import (
	"bytes"
	"context"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
)

// testUpstreamSumState checks the state kept for upstream checksum
// databases: binary values round-trip, and the latest tree is replaced
// only by compare-and-swap.
func testUpstreamSumState(t *testing.T, db *meta.DB) {
	ctx := context.Background()
	if b, err := db.SumState(ctx, "sum.example.test/latest"); b != nil || err != nil {
		t.Fatalf("SumState of nothing = %q, %v; want nil, nil", b, err)
	}
	tile := []byte{0, 1, 2, 0xff, '\n', 0}
	if err := db.PutSumState(ctx, "sum.example.test/tile/8/0/000.p/1", tile); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSumState(ctx, "sum.example.test/tile/8/0/000.p/1", tile); err != nil {
		t.Fatalf("PutSumState again: %v", err)
	}
	if b, err := db.SumState(ctx, "sum.example.test/tile/8/0/000.p/1"); err != nil || !bytes.Equal(b, tile) {
		t.Errorf("SumState of a tile = %v, %v; want %v", b, err, tile)
	}

	key := "sum.example.test/latest"
	swap := func(old, new string, want bool) {
		t.Helper()
		var o []byte
		if old != "" {
			o = []byte(old)
		}
		if ok, err := db.SwapSumState(ctx, key, o, []byte(new)); ok != want || err != nil {
			t.Errorf("SwapSumState(%q -> %q) = %v, %v; want %v", old, new, ok, err, want)
		}
	}
	swap("", "tree 1", true)
	swap("", "tree 1", false) // it exists now
	swap("tree 0", "tree 2", false)
	swap("tree 1", "tree 2", true)
	swap("tree 1", "tree 3", false)
	if b, _ := db.SumState(ctx, key); string(b) != "tree 2" {
		t.Errorf("latest = %q after the swaps, want tree 2", b)
	}
}
