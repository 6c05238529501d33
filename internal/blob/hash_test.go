package blob_test

import (
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/blob"
)

func TestHasher(t *testing.T) {
	h := blob.NewHasher()
	h.Write([]byte("hello "))
	h.Write([]byte("world"))
	got := h.Digests()
	// Reference values from sha256sum, sha512sum, sha1sum, b2sum -l 256, md5sum.
	want := blob.Digests{
		SHA256:     "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
		SHA512:     "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
		SHA1:       "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
		Blake2b256: "256c83b297114d201b30179f3f0ef0cace9783622da5974326b436178aeef610",
		MD5:        "5eb63bbbe01eeed093cb22bb8f5acdc3",
		Size:       11,
	}
	if got != want {
		t.Errorf("Digests() = %+v\nwant %+v", got, want)
	}
	if i := got.Integrity(); !strings.HasPrefix(i, "sha512-MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==") {
		t.Errorf("Integrity() = %q", i)
	}
}

func TestParseDigest(t *testing.T) {
	good := strings.Repeat("ab", 32)
	if _, err := blob.ParseDigest(good); err != nil {
		t.Errorf("ParseDigest(%q) = %v, want nil", good, err)
	}
	for _, bad := range []string{"", strings.Repeat("AB", 32), strings.Repeat("a", 63), "../" + strings.Repeat("a", 61), strings.Repeat("g", 64)} {
		if _, err := blob.ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) = nil error, want an error", bad)
		}
	}
}
