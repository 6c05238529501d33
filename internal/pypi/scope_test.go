package pypi

import (
	"net/http"
	"testing"
)

// TestScopeNormalized checks that a token scope names a project the way
// PyPI compares names: "pypi:Alice_Proj" is the project alice-proj, in
// every spelling, and no other.
func TestScopeNormalized(t *testing.T) {
	e := newTestEnv(t)
	tok := e.Token(t, e.alice, []string{"pypi:Alice_Proj"})
	for version, name := range map[string]string{"1.0": "alice-proj", "1.1": "Alice.Proj", "1.2": "ALICE_PROJ"} {
		w := makeWheel(t, name, version, metadataFor(name, version))
		if r := e.post(t, tok, twineForm(kindWheel, name, version, w), wheelFilename(name, version), w); r.StatusCode != http.StatusOK {
			t.Errorf("upload of %s %s with scope pypi:Alice_Proj: %s %s", name, version, r.Status, r.body)
		}
	}
	w := makeWheel(t, "alice-projx", "1.0", metadataFor("alice-projx", "1.0"))
	if r := e.post(t, tok, twineForm(kindWheel, "alice-projx", "1.0", w), wheelFilename("alice-projx", "1.0"), w); r.StatusCode != http.StatusForbidden {
		t.Errorf("upload of alice-projx with scope pypi:Alice_Proj: %s %s, want 403", r.Status, r.body)
	}
}
