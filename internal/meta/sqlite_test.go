package meta_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/metatest"
)

func TestSQLite(t *testing.T) {
	metatest.Run(t, func(t *testing.T) *meta.DB {
		db, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trove.db")
	for i := 0; i < 2; i++ {
		db, err := meta.OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		db.Close()
	}
}
