package fsblob_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/blobtest"
	"github.com/trove-dev/trove/internal/blob/fsblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fsblob.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewRemovesLeftoverTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := fsblob.New(dir); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "tmp", "upload-crashed")
	if err := os.WriteFile(left, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fsblob.New(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("leftover upload still present after New: %v", err)
	}
}
